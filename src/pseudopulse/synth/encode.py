"""Write RGB frames to a video file with PyAV (libx264 at a CRF or lossless, or FFV1), constant frame rate.

Bit-exact reproducible: one encoder thread, no B-frames (x264 with B-frame decisions gave run-to-run different
bitstreams from identical input here), RGB -> yuv420p done with OpenCV (BT.601, limited range).
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np

from pseudopulse.synth.config import CONTAINERS, SynthConfig, SynthConfigError


# OpenCV's BT.601 RGB -> YUV coefficients in 20-bit fixed point (ITUR_BT_601_* in its color_yuv code)
_YUV_SHIFT = 20
_Y_COEF = (269484, 528482, 102760)
_U_COEF = (-155188, -305135, 460324)
_V_COEF = (460324, -385875, -74448)


def rgb_to_i420(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 RGB (H, W even) -> (3H/2, W) uint8 planar YUV 4:2:0 (I420: Y plane, then U, then V), BT.601
    limited range (Y = 16 + .257 R + .504 G + .098 B, ...) in OpenCV's 20-bit fixed point, U and V from the
    top-left pixel of each 2 x 2 block: bit-exact with ``cv2.cvtColor(..., COLOR_RGB2YUV_I420)`` (4.11)."""
    h, w = rgb.shape[:2]
    if h % 2 or w % 2:
        raise ValueError(f"I420 needs an even frame size; got {w}x{h}")
    c = rgb.astype(np.int64)
    r, g, b = c[..., 0], c[..., 1], c[..., 2]
    half = 1 << (_YUV_SHIFT - 1)
    y = (_Y_COEF[0] * r + _Y_COEF[1] * g + _Y_COEF[2] * b + (half + (16 << _YUV_SHIFT))) >> _YUV_SHIFT
    r, g, b = r[::2, ::2], g[::2, ::2], b[::2, ::2]  # chroma of each 2 x 2 block: its top-left pixel
    u = (_U_COEF[0] * r + _U_COEF[1] * g + _U_COEF[2] * b + (half + (128 << _YUV_SHIFT))) >> _YUV_SHIFT
    v = (_V_COEF[0] * r + _V_COEF[1] * g + _V_COEF[2] * b + (half + (128 << _YUV_SHIFT))) >> _YUV_SHIFT
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
