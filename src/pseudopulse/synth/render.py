"""Render a semi-synthetic face clip with a known pulse to a video file.

Frame model (per frame i at capture time t_i, scene coordinates, float32 RGB 0..255):

    frame = L(t) * base * (1 + M * pulse_amplitude * s * ppg(t))  + specular highlight
    frame = warpAffine(frame, A(t)) + N(0, noise_sigma^2), rounded to uint8, encoded.

``base`` is the photo on a wall (skin tone applied), M the soft skin mask, s the blood-volume signature
(R:G:B = 0.33:0.77:0.53, green = 1), L the global illumination, A the head motion. Vectorised NumPy per frame; the warp is a float bilinear one
(``synth.warp``, torch ``grid_sample``), not OpenCV's fixed point.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pseudopulse.io.atomic import atomic_path
from pseudopulse.synth.config import SynthConfig
from pseudopulse.synth.effects import PBV_SIGNATURE, head_motion, illumination, specular_track
from pseudopulse.synth.encode import VideoWriter, check_container
from pseudopulse.synth.pulse import pulse_wave
from pseudopulse.synth.scene import make_scene


@dataclass(frozen=True)
class SynthResult:
    """Ground truth of a rendered clip. Arrays have one entry per video frame."""

    path: Path
    timestamps_s: np.ndarray  # (T,) capture time of each frame, s, first = 0
    ppg: np.ndarray  # (T,) pulse wave rendered into the skin (positive = brighter skin), beat peak-to-peak ~1
    hr_bpm: np.ndarray  # (T,) instantaneous heart rate, bpm
    mean_hr_bpm: float  # time-average of hr_bpm over the clip (= config.hr_bpm)
    affine: np.ndarray  # (T, 2, 3) head-motion map applied to frame i (identity when there is no motion)
    config: SynthConfig

    @property
    def n_frames(self) -> int:
        return len(self.timestamps_s)


@dataclass(frozen=True)
class GroundTruth:
    timestamps_s: np.ndarray
    ppg: np.ndarray
    hr_bpm: np.ndarray
    mean_hr_bpm: float
    affine: np.ndarray


def _streams(seed: int) -> dict[str, np.random.Generator]:
    """Independent generators per component, so switching one nuisance on leaves the others unchanged."""
    names = ("pulse", "motion", "light", "specular", "noise", "jitter")
    return {n: np.random.default_rng(s) for n, s in zip(names, np.random.SeedSequence(seed).spawn(len(names)))}


def frame_times(config: SynthConfig, rng: np.random.Generator) -> np.ndarray:
    """(T,) capture times (s): i / fps plus optional Gaussian jitter (first frame at 0, strictly increasing)."""
    n = config.n_frames
    t = np.arange(n, dtype=np.float64) / config.fps
    if config.frame_jitter_ms > 0 and n > 1:
        lim = 0.4 / config.fps
        t[1:] += np.clip(rng.normal(0.0, config.frame_jitter_ms * 1e-3, n - 1), -lim, lim)
    return t


def ground_truth(config: SynthConfig) -> GroundTruth:
    """The clip's timestamps, PPG, instantaneous HR and head motion without rendering any pixels."""
    rng = _streams(config.seed)
    t = frame_times(config, rng["jitter"])
    wave = pulse_wave(t, hr_bpm=config.hr_bpm, rng=rng["pulse"], hrv_sdnn_ms=config.hrv_sdnn_ms,
                      hr_drift_bpm=config.hr_drift_bpm, resp_rate_hz=config.resp_rate_hz)
    scene = make_scene(config.width, config.height, float(config.skin_tone))
    affine = head_motion(t, rng["motion"], centre_xy=scene.face_centre, motion_px=config.motion_px,
                         rotation_deg=config.rotation_deg, scale_amp=config.scale_amp, motion_hz=config.motion_hz)
    mean_hr = float(np.sum(0.5 * (wave.hr_bpm[1:] + wave.hr_bpm[:-1]) * np.diff(t)) / (t[-1] - t[0]))
    return GroundTruth(t, wave.ppg, wave.hr_bpm, mean_hr, affine)


def iter_frames(config: SynthConfig, truth: GroundTruth | None = None):
    """Yield the clip's frames, each a new (H, W, 3) uint8 RGB array. ``truth``: ``ground_truth(config)`` if known."""
    from pseudopulse.synth.warp import FrameWarper

    gt = ground_truth(config) if truth is None else truth
    rng = _streams(config.seed)
    scene = make_scene(config.width, config.height, float(config.skin_tone))
    h, w = config.height, config.width
    base = scene.base
    # the pulsing part of the image, already scaled by the amplitude and the blood-volume signature
    skin_sig = (base * scene.skin[..., None]) * (config.pulse_amplitude * PBV_SIGNATURE).astype(np.float32)
    gain = illumination(gt.timestamps_s, rng["light"], illumination_amp=config.illumination_amp,
                        flicker_hz=config.flicker_hz, flicker_amp=config.flicker_amp)
    moving = config.motion_px > 0 or config.rotation_deg > 0 or config.scale_amp > 0
    warp = FrameWarper(h, w) if moving else None

    spec = None
    if config.specular > 0:
        sx, sy, ss = specular_track(gt.timestamps_s, rng["specular"], face_box=scene.face_box)
        sigma = max(1.5, 0.07 * (scene.face_box[2] - scene.face_box[0]))
        r = int(np.ceil(3 * sigma))
        yy, xx = np.mgrid[-r:r + 1, -r:r + 1].astype(np.float32)
        spec = (sx, sy, ss, r, sigma, xx, yy)

    noise = _NoiseBank(rng["noise"], h, w, config.noise_sigma) if config.noise_sigma > 0 else None
    buf = np.empty((h, w, 3), dtype=np.float32)
    hidden = np.zeros(config.n_frames, bool)
    for a, b in config.hide_spans_s:
        hidden |= (gt.timestamps_s >= a) & (gt.timestamps_s < b)
    for i in range(config.n_frames):
        if hidden[i]:  # the face is gone: the bare wall under the same light and sensor noise
            frame = np.multiply(scene.wall, np.float32(gain[i]), out=buf)
        else:
            np.multiply(skin_sig, np.float32(gt.ppg[i]), out=buf)  # base * (1 + M * a * s * ppg)
            buf += base
            buf *= np.float32(gain[i])
            if spec is not None:
                _add_highlight(buf, spec, i, config.specular * 255.0 * gain[i])
            frame = buf
            if warp is not None:
                frame = warp(buf, gt.affine[i])
        if noise is not None:
            frame += noise.next()
        np.clip(frame, 0.0, 255.0, out=frame)
        yield np.rint(frame, out=frame).astype(np.uint8)  # a new uint8 array: rounded to nearest, saturated


class _NoiseBank:
    """Gaussian sensor noise, fast: a few pre-drawn noise fields, each frame a randomly chosen, randomly shifted
    window of one of them (std ``sigma_gl`` grey levels; new pattern every frame, seeded)."""

    N_FIELDS, PAD = 8, 48

    def __init__(self, rng: np.random.Generator, h: int, w: int, sigma_gl: float):
        self._rng, self._h, self._w = rng, h, w
        self._bank = rng.standard_normal((self.N_FIELDS, h + self.PAD, w + self.PAD, 3), dtype=np.float32)
        self._bank *= np.float32(sigma_gl)

    def next(self) -> np.ndarray:
        k, dy, dx = self._rng.integers(0, (self.N_FIELDS, self.PAD, self.PAD))
        return self._bank[k, dy:dy + self._h, dx:dx + self._w]


def _add_highlight(buf: np.ndarray, spec, i: int, peak: float) -> None:
    """Add a white Gaussian highlight (in place) centred at the i-th track point."""
    sx, sy, ss, r, sigma, xx, yy = spec
    cx, cy = int(round(sx[i])), int(round(sy[i]))
    g = np.exp(-((xx - (sx[i] - cx)) ** 2 + (yy - (sy[i] - cy)) ** 2) / (2 * sigma**2)) * np.float32(peak * ss[i])
    h, w = buf.shape[:2]
    y0, y1, x0, x1 = max(cy - r, 0), min(cy + r + 1, h), max(cx - r, 0), min(cx + r + 1, w)
    if y0 >= y1 or x0 >= x1:
        return
    buf[y0:y1, x0:x1] += g[y0 - (cy - r):y1 - (cy - r), x0 - (cx - r):x1 - (cx - r), None]


def render(config: SynthConfig, path: str | Path) -> SynthResult:
    """Render ``config`` to the video file ``path`` (atomically; container from the suffix) and return its truth."""
    path = Path(path)
    check_container(path, config.codec)
    gt = ground_truth(config)
    with atomic_path(path) as tmp:
        with VideoWriter(tmp, config) as writer:
            for frame in iter_frames(config, gt):
                writer.write(frame)
    return SynthResult(path=path, timestamps_s=gt.timestamps_s, ppg=gt.ppg, hr_bpm=gt.hr_bpm,
                       mean_hr_bpm=gt.mean_hr_bpm, affine=gt.affine, config=config)
