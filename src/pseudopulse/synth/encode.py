"""Write RGB frames to a video file with PyAV (libx264 at a CRF or lossless, or FFV1), constant frame rate.

Bit-exact reproducible: one encoder thread, no B-frames (x264 with B-frame decisions gave run-to-run different
bitstreams from identical input here), RGB -> yuv420p done with OpenCV (BT.601, limited range).
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np

from pseudopulse.synth.config import CONTAINERS, SynthConfig, SynthConfigError


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
        import cv2

        # RGB -> I420 (BT.601, limited range) here, not in PyAV's reformatter: its cached swscale state made the
        # bitstream depend on earlier decoding in the same process
        yuv = cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420)
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
