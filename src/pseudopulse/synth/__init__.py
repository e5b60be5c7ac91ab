"""Semi-synthetic face video with a known pulse, for tests, the demo and benchmarks.

A real face photo (matplotlib's ``grace_hopper.jpg``) is placed on a wall; its skin (MediaPipe face-mesh mask)
is modulated by a realistic PPG with the blood-volume colour signature; head motion, illumination change,
flicker, specular highlight, skin tone, sensor noise and H.264 compression are optional, all seeded.

    cfg = SynthConfig(hr_bpm=72, duration_s=10, width=320, height=240, crf=23)
    truth = render(cfg, "clip.mp4")            # SynthResult: timestamps_s, ppg, hr_bpm, mean_hr_bpm, ...
    write_ubfc_subject("data", "subject1", cfg)  # data/subject1/{vid.avi, ground_truth.txt}
"""

from pseudopulse.synth.config import SynthConfig, SynthConfigError
from pseudopulse.synth.pulse import PulseWave, beat_template, default_sdnn_ms, pulse_wave
from pseudopulse.synth.render import GroundTruth, SynthResult, ground_truth, iter_frames, render
from pseudopulse.synth.scene import make_scene, skin_mask
from pseudopulse.synth.suite import demo_config, make_suite
from pseudopulse.synth.ubfc import format_ground_truth, write_ubfc_dataset, write_ubfc_subject

__all__ = [
    "GroundTruth",
    "PulseWave",
    "SynthConfig",
    "SynthConfigError",
    "SynthResult",
    "beat_template",
    "default_sdnn_ms",
    "demo_config",
    "format_ground_truth",
    "ground_truth",
    "iter_frames",
    "make_scene",
    "make_suite",
    "pulse_wave",
    "render",
    "skin_mask",
    "write_ubfc_dataset",
    "write_ubfc_subject",
]
