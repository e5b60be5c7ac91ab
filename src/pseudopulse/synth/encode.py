"""Write RGB frames to a video file with PyAV (libx264 at a CRF or lossless, or FFV1), constant frame rate.

Bit-exact reproducible: one encoder thread, no B-frames (x264 with B-frame decisions gave run-to-run different
bitstreams from identical input here), RGB -> yuv420p done with OpenCV (BT.601, limited range).
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np

from pseudopulse.synth.config import CONTAINERS, SynthConfig, SynthConfigError


def rgb_to_i420(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 RGB (H, W even) -> (3H/2, W) uint8 planar YUV 4:2:0 (I420: Y plane, then U, then V), BT.601
    limited range in 8-bit fixed point (Y = 16 + (66 R + 129 G + 25 B + 128) >> 8, U and V from the top-left pixel
    of each 2 x 2 block), as ``cv2.cvtColor(..., COLOR_RGB2YUV_I420)`` up to rounding."""
    h, w = rgb.shape[:2]
    if h % 2 or w % 2:
        raise ValueError(f"I420 needs an even frame size; got {w}x{h}")
    c = rgb.astype(np.int32)
    r, g, b = c[..., 0], c[..., 1], c[..., 2]
    y = ((66 * r + 129 * g + 25 * b + 128) >> 8) + 16
    r, g, b = r[::2, ::2], g[::2, ::2], b[::2, ::2]  # chroma of each 2 x 2 block: its top-left pixel
    u = ((-38 * r - 74 * g + 112 * b + 128) >> 8) + 128
    v = ((112 * r - 94 * g - 18 * b + 128) >> 8) + 128
    out = np.empty((h * 3 // 2, w), np.uint8)
    out[:h] = np.clip(y, 0, 255)
    out[h:h + h // 4] = np.clip(u, 0, 255).reshape(h // 4, w)
    out[h + h // 4:] = np.clip(v, 0, 255).reshape(h // 4, w)
    return out


def check_container(path: str | Path, codec: str) -> str:
    """The container suffix of ``path`` if it can hold ``codec``; else a ``SynthConfigError`` naming both."""
    suffix = Path(path).suffix.lower()
    if suffix not in CONTAINERS:
        raise SynthConfigError(f"{path}: unsupported video suffix {suffix!r}; use one of {sorted(CONTAINERS)}")
    if codec not in CONTAINERS[suffix]:
        raise SynthConfigError(
            f"{path}: codec {codec!r} cannot go in a {suffix} file; use {' or '.join(CONTAINERS[suffix])}, "
            f"or a {' / '.join(s for s, c in CONTAINERS.items() if codec in c)} file"
        )
    return suffix


class VideoWriter:
    """Context manager: ``write(rgb)`` appends one (H, W, 3) uint8 frame; frame i is stamped i / fps."""

    def __init__(self, path: str | Path, config: SynthConfig):
        import av

        check_container(path, config.codec)
        self._container = av.open(str(path), mode="w")
        rate = Fraction(config.fps).limit_denominator(1001)
        stream = self._container.add_stream(config.codec, rate=rate)
        stream.width, stream.height, stream.pix_fmt = config.width, config.height, "yuv420p"
        if config.codec == "libx264":
            q = {"qp": "0"} if config.crf is None else {"crf": str(config.crf)}
            # no B-frames: with them, x264 (this build) made run-to-run different bitstreams from identical input
            stream.options = {**q, "preset": config.preset, "x264-params": "bframes=0"}
        else:
            stream.options = {"level": "3", "slicecrc": "1"}
        stream.codec_context.thread_count = 1  # deterministic bitstream and fair 1-core timing
        self._stream = stream
        self._time_base = 1 / rate
        self._index = 0

    def write(self, rgb: np.ndarray) -> None:
        import av

        # RGB -> I420 (BT.601, limited range) here, not in PyAV's reformatter: its cached swscale state made the
        # bitstream depend on earlier decoding in the same process
        yuv = rgb_to_i420(rgb)
        frame = av.VideoFrame.from_ndarray(yuv, format="yuv420p")
        frame.pts = self._index
        frame.time_base = self._time_base
        self._index += 1
        for packet in self._stream.encode(frame):
            self._container.mux(packet)

    def close(self) -> None:
        if self._container is None:
            return
        try:
            for packet in self._stream.encode():
                self._container.mux(packet)
        finally:
            self._container.close()
            self._container = None

    def __enter__(self) -> "VideoWriter":
        return self

    def __exit__(self, exc_type, *exc):
        if exc_type is None:
            self.close()
        elif self._container is not None:
            self._container.close()
            self._container = None
