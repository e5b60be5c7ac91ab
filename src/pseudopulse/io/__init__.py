"""Video input (PyAV) and atomic file output."""

from pseudopulse.io.atomic import atomic_write_bytes, atomic_write_text, atomic_path
from pseudopulse.io.video import IMAGE_SUFFIXES, VIDEO_SUFFIXES, Frame, VideoInfo, VideoReader, open_video

__all__ = ["IMAGE_SUFFIXES", "VIDEO_SUFFIXES", "Frame", "VideoInfo", "VideoReader", "atomic_path", "atomic_write_bytes", "atomic_write_text", "open_video"]
