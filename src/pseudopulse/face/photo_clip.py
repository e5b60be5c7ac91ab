"""A moving real-face test clip: matplotlib's Grace Hopper photo with a known colour pulse.

Used by the tests and by ``pseudopulse benchmark preprocess`` when no video is given. The photo (skin,
hair, uniform) is pasted on a textured background, moved (translation, rotation, scale; periods 4–7 s) and
its colours are multiplied by ``1 + pulse_amp * w_c * sin(2π pulse_hz t)`` with channel weights
w = (0.3, 1.0, 0.5) (green strongest, like a blood-volume pulse). ``hide_spans_s`` removes the face.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterator, Sequence

import cv2
import numpy as np

from pseudopulse.io import atomic_path

PULSE_WEIGHTS = np.array([0.3, 1.0, 0.5], dtype=np.float32)


@lru_cache(maxsize=1)
def _photo() -> np.ndarray:
    import matplotlib.cbook as cbook
    from PIL import Image

    with cbook.get_sample_data("grace_hopper.jpg") as fh:
        full = np.asarray(Image.open(fh).convert("RGB"), dtype=np.float32)  # (600, 512, 3)
    return np.ascontiguousarray(full[40:420, 90:440])  # (380, 350, 3): face (~200 px tall) plus hat and collar


@dataclass(frozen=True)
class PhotoClipSpec:
    duration_s: float = 10.0
    fps: float = 30.0
    width: int = 640
    height: int = 480
    motion: bool = True
    pulse_hz: float = 1.2
    pulse_amp: float = 0.03  # relative amplitude of the green modulation
    face_height_frac: float = 0.75  # photo crop height / frame height (the face is ~half of it)
    hide_spans_s: Sequence[tuple[float, float]] = ()
    seed: int = 0

    @property
    def n_frames(self) -> int:
        return int(round(self.duration_s * self.fps))

    def times_s(self) -> np.ndarray:
        return np.arange(self.n_frames) / self.fps

    def pulse(self) -> np.ndarray:
        """(T,) the green-channel modulation sin(2π f t) (unit amplitude)."""
        return np.sin(2 * np.pi * self.pulse_hz * self.times_s())


def photo_frames(spec: PhotoClipSpec) -> Iterator[np.ndarray]:
    """Yield (height, width, 3) uint8 RGB frames of the clip."""
    rng = np.random.default_rng(spec.seed)
    w, h = spec.width, spec.height
    noise = rng.normal(0, 1, (h // 8 + 1, w // 8 + 1, 3)).astype(np.float32)
    bg = cv2.resize(noise, (w, h), interpolation=cv2.INTER_CUBIC)
    background = np.clip(110 + 25 * bg, 0, 255).astype(np.uint8)
    photo = _photo()
    ph, pw = photo.shape[:2]
    base_scale = spec.face_height_frac * h / ph
    for t in spec.times_s():
        if any(a <= t < b for a, b in spec.hide_spans_s):
            yield background.copy()
            continue
        gain = 1.0 + spec.pulse_amp * PULSE_WEIGHTS * np.sin(2 * np.pi * spec.pulse_hz * t)
        img = np.clip(photo * gain, 0, 255).astype(np.uint8)
        if spec.motion:
            dx, dy = 0.08 * w * np.sin(2 * np.pi * t / 4.0), 0.05 * h * np.sin(2 * np.pi * t / 5.3)
            angle, scale = 10.0 * np.sin(2 * np.pi * t / 6.1), base_scale * (1 + 0.08 * np.sin(2 * np.pi * t / 7.3))
        else:
            dx = dy = angle = 0.0
            scale = base_scale
        m = cv2.getRotationMatrix2D((pw / 2, ph / 2), angle, scale)
        m[:, 2] += (w / 2 + dx - pw / 2, h / 2 + dy - ph / 2)
        frame = background.copy()
        cv2.warpAffine(img, m, (w, h), dst=frame, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_TRANSPARENT)
        yield frame


def write_photo_clip(path: str | Path, spec: PhotoClipSpec, *, codec: str = "libx264", crf: int = 12) -> Path:
    """Encode the clip (H.264 yuv420p at ``crf`` by default; ``codec="ffv1"`` for lossless) atomically."""
    import av

    path = Path(path)
    with atomic_path(path) as tmp:
        with av.open(str(tmp), "w", format=path.suffix.lstrip(".") or "mp4") as out:
            from fractions import Fraction

            stream = out.add_stream(codec, rate=Fraction(spec.fps).limit_denominator(1001))
            stream.width, stream.height = spec.width, spec.height
            if codec == "libx264":
                stream.pix_fmt = "yuv420p"
                stream.options = {"crf": str(crf), "preset": "veryfast"}
            elif codec == "ffv1":
                stream.pix_fmt = "bgr0"
            for rgb in photo_frames(spec):
                frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
                for packet in stream.encode(frame):
                    out.mux(packet)
            for packet in stream.encode():
                out.mux(packet)
    return path
