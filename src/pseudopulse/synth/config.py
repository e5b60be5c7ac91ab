"""``SynthConfig``: every parameter of a semi-synthetic clip, in physical units, validated on construction."""

from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass, replace

from pseudopulse.errors import PseudopulseError

SYNTH_TRAIN_SIZE = (320, 240)  # default frame size (width, height) of semi-synthetic training clips

CODECS = ("libx264", "ffv1")
X264_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")
CONTAINERS = {".mp4": ("libx264",), ".mov": ("libx264",), ".avi": ("libx264", "ffv1"), ".mkv": ("libx264", "ffv1")}
MIN_FRAMES = 2


class SynthConfigError(PseudopulseError, ValueError):
    """A ``SynthConfig`` value is out of range (also a ``ValueError``)."""


@dataclass(frozen=True)
class SynthConfig:
    """A semi-synthetic face clip: the photo, a known pulse, nuisances, and how it is encoded.

    Pulse: hr_bpm (mean over the clip), hrv_sdnn_ms (beat-interval SDNN; None = physiological default for the
    HR, see ``pulse.default_sdnn_ms``), hr_drift_bpm (total linear HR change, centred), resp_rate_hz (breathing;
    0 = none), pulse_amplitude (relative peak-to-peak change of the green channel on skin; red and blue follow the
    blood-volume signature R:G:B = 0.33:0.77:0.53).
    Motion (smooth random trajectories around motion_hz, whole-frame affine warp): motion_px (translation
    amplitude, px), rotation_deg (in-plane rotation amplitude, deg), scale_amp (relative zoom amplitude).
    Light: illumination_amp (relative slow brightness change), flicker_hz / flicker_amp (sinusoidal global
    flicker), specular (peak added intensity of a moving highlight on the face, fraction of full scale).
    skin_tone: -1 (much darker) .. 0 (photo as is) .. +1 (lighter), applied to the skin.
    Sensor: noise_sigma (Gaussian noise std, grey levels), frame_jitter_ms (std of capture-time jitter; the
    video stays constant-rate, the ground-truth timestamps carry the true capture times, as in UBFC).
    hide_spans_s: ((start_s, end_s), ...) during which the face is gone: frames show the bare wall (same light and
    noise) — tests face loss and face-less videos.
    Encoding: codec "libx264" (crf None = lossless qp 0, else that CRF with ``preset``) or "ffv1" (lossless;
    .avi/.mkv only); pixels are yuv420p. The container follows the output file's suffix.
    """

    hr_bpm: float = 72.0
    duration_s: float = 10.0
    fps: float = 30.0
    width: int = 640
    height: int = 480
    seed: int = 0
    pulse_amplitude: float = 0.01
    hrv_sdnn_ms: float | None = None
    hr_drift_bpm: float = 0.0
    resp_rate_hz: float = 0.25
    motion_px: float = 0.0
    rotation_deg: float = 0.0
    scale_amp: float = 0.0
    motion_hz: float = 0.3
    illumination_amp: float = 0.0
    flicker_hz: float = 0.0
    flicker_amp: float = 0.0
    specular: float = 0.0
    skin_tone: float = 0.0
    noise_sigma: float = 1.0
    frame_jitter_ms: float = 0.0
    hide_spans_s: tuple[tuple[float, float], ...] = ()
    crf: int | None = None
    codec: str = "libx264"
    preset: str = "veryfast"

    def __post_init__(self):
        def bad(name, rule, fix):
            raise SynthConfigError(f"SynthConfig.{name}={getattr(self, name)!r}: {rule}; {fix}")

        for name in ("hr_bpm", "duration_s", "fps", "pulse_amplitude", "hr_drift_bpm", "resp_rate_hz", "motion_px",
                     "rotation_deg", "scale_amp", "motion_hz", "illumination_amp", "flicker_hz", "flicker_amp",
                     "specular", "skin_tone", "noise_sigma", "frame_jitter_ms"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v):
                bad(name, "must be a finite number", "pass a float")
        if not self.hr_bpm > 0:
            bad("hr_bpm", "heart rate must be > 0 bpm", "use a physiological rate, e.g. 40-200")
        if not self.fps > 0:
            bad("fps", "frame rate must be > 0 Hz", "use e.g. 30")
        if self.hr_bpm / 60.0 >= self.fps / 2.0:
            bad("hr_bpm", f"the pulse ({self.hr_bpm / 60:.2f} Hz) must be below the Nyquist rate fps/2 "
                f"= {self.fps / 2:g} Hz", "raise fps or lower hr_bpm")
        if not self.duration_s > 0 or self.n_frames < MIN_FRAMES:
            bad("duration_s", f"gives {self.n_frames} frame(s) at {self.fps:g} fps; a clip needs >= {MIN_FRAMES} "
                "frames", f"use duration_s >= {MIN_FRAMES / self.fps:.3f}")
        for name in ("width", "height"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 64 or v % 2:
                bad(name, "must be an even integer >= 64 px (yuv420p needs even sizes)", "use e.g. 640x480 or 320x240")
        if not isinstance(self.seed, numbers.Integral) or isinstance(self.seed, bool) or self.seed < 0:
            bad("seed", "must be an integer >= 0", "pass e.g. seed=0")
        for name in ("pulse_amplitude", "motion_px", "rotation_deg", "scale_amp", "illumination_amp", "flicker_amp",
                     "flicker_hz", "noise_sigma", "frame_jitter_ms", "resp_rate_hz", "specular"):
            if getattr(self, name) < 0:
                bad(name, "must be >= 0", "use 0 to switch it off")
        if self.pulse_amplitude > 0.2:
            bad("pulse_amplitude", "is a relative change; > 0.2 (20 %) is not a plausible pulse", "use e.g. 0.01")
        sdnn = self.hrv_sdnn_ms
        if sdnn is not None and not (isinstance(sdnn, numbers.Real) and math.isfinite(sdnn) and 0 <= sdnn <= 300):
            bad("hrv_sdnn_ms", "must be None or in 0..300 ms", "use None for the physiological default")
        if not self.motion_hz > 0:
            bad("motion_hz", "must be > 0 Hz", "use e.g. 0.3")
        for name, limit in (("illumination_amp", 1.0), ("flicker_amp", 1.0), ("scale_amp", 0.5)):
            if getattr(self, name) >= limit:
                bad(name, f"is a relative amplitude and must stay below {limit:g}", "use e.g. 0.1")
        if self.specular > 1:
            bad("specular", "is a fraction of full scale, 0..1", "use e.g. 0.3")
        if not -1 <= self.skin_tone <= 1:
            bad("skin_tone", "must be in -1 (darker) .. +1 (lighter)", "use 0 for the photo's own tone")
        if self.frame_jitter_ms * 1e-3 * 4 > 1.0 / self.fps:
            bad("frame_jitter_ms", f"must be < a quarter of the frame interval ({250 / self.fps:.1f} ms)", "use e.g. 2")
        try:
            spans = tuple((float(a), float(b)) for a, b in self.hide_spans_s)
        except (TypeError, ValueError):
            spans = None
        if spans is None or any(not (math.isfinite(a) and math.isfinite(b) and a < b) for a, b in spans):
            bad("hide_spans_s", "must be (start_s, end_s) pairs with start < end", "use e.g. ((2.0, 4.0),)")
        object.__setattr__(self, "hide_spans_s", spans)
        if self.codec not in CODECS:
            bad("codec", f"must be one of {CODECS}", "use 'libx264'")
        if self.preset not in X264_PRESETS:
            bad("preset", f"must be an x264 preset {X264_PRESETS}", "use 'veryfast'")
        if self.crf is not None:
            if self.codec != "libx264":
                bad("crf", f"only applies to libx264 ({self.codec} is lossless)", "set crf=None or codec='libx264'")
            if isinstance(self.crf, bool) or not isinstance(self.crf, numbers.Integral) or not 0 <= self.crf <= 51:
                bad("crf", "must be None (lossless) or an integer 0..51", "use e.g. 23")

    @property
    def n_frames(self) -> int:
        """Number of frames: floor(duration_s * fps) (tolerant to float round-off)."""
        return int(math.floor(self.duration_s * self.fps + 1e-6)) if self.fps > 0 and self.duration_s > 0 else 0

    def replace(self, **changes) -> "SynthConfig":
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)

    def to_dict(self) -> dict:
        return asdict(self)
