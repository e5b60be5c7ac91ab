"""Streamed video input: RGB uint8 frames with presentation timestamps in seconds.

``open_video(path)`` reads any container/codec that PyAV's ffmpeg reads, or a folder of image frames
(PNG/JPEG/BMP, e.g. PURE). Frames are decoded lazily, one at a time; nothing holds the whole video.
Timestamps come from the stream (variable frame rate is kept as is) and start at 0 for the first frame.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from pseudopulse.errors import VideoError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
# video files looked for in folders of videos (any file PyAV opens can still be given by name)
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv")


@dataclass(frozen=True)
class VideoInfo:
    path: str
    width: int
    height: int
    fps_nominal: float | None  # the container's declared rate; the timestamps are the truth
    n_frames_hint: int | None  # declared frame count, when the container states one
    duration_s: float | None
    codec: str


@dataclass(frozen=True)
class Frame:
    rgb: np.ndarray  # (H, W, 3) uint8, C-contiguous
    t_s: float  # presentation time, seconds from the first frame
    index: int


class VideoReader:
    """Iterate ``Frame`` objects of a video file or image folder. Use as a context manager."""

    def __init__(self, path: str | Path, fps: float | None = None, timestamps_s: Sequence[float] | None = None):
        self.path = Path(path)
        self._fps_override = fps
        self._timestamps_override = None if timestamps_s is None else np.asarray(timestamps_s, dtype=np.float64)
        self.decode_errors: list[str] = []  # what went wrong after some frames decoded (truncated files)
        self.frames_read = 0
        self._out_of_timestamps = False
        self._container = None
        self._images: list[Path] | None = None
        if not self.path.exists():
            raise VideoError(f"{self.path}: no such file or folder")
        if self.path.is_dir():
            self._open_folder()
        else:
            self._open_file()

    # -------------------------------------------------------------- opening
    def _open_folder(self):
        images = sorted(p for p in self.path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not images:
            raise VideoError(f"{self.path}: folder holds no image frames ({', '.join(IMAGE_SUFFIXES)})")
        self._images = images
        first = _read_image(images[0])
        h, w = first.shape[:2]
        ts = self._timestamps_override
        if ts is None:
            ts = _timestamps_from_names(images, self._fps_override)
            if ts is None:
                raise VideoError(
                    f"{self.path}: frame folder has no timestamps; pass fps= (or --fps) or name frames with "
                    "nanosecond timestamps (PURE layout, e.g. Image1392643993642815000.png)"
                )
        if len(ts) != len(images):
            raise VideoError(f"{self.path}: {len(images)} frames but {len(ts)} timestamps")
        self._folder_ts = np.asarray(ts, dtype=np.float64) - float(ts[0])
        fps = 1.0 / float(np.median(np.diff(self._folder_ts))) if len(ts) > 1 else None
        self.info = VideoInfo(str(self.path), w, h, fps, len(images), float(self._folder_ts[-1]) if len(ts) > 1 else None, "image")

    def _open_file(self):
        import av

        try:
            self._container = av.open(str(self.path))
        except (av.error.InvalidDataError, UnicodeDecodeError) as e:
            raise VideoError(f"{self.path}: not a readable video ({e.__class__.__name__}: {e})") from None
        except av.error.FFmpegError as e:
            raise VideoError(f"{self.path}: cannot open ({e})") from None
        if not self._container.streams.video:
            kinds = ", ".join(s.type for s in self._container.streams) or "no streams"
            self._container.close()
            raise VideoError(f"{self.path}: has no video stream (found: {kinds})")
        stream = self._container.streams.video[0]
        stream.thread_type = "AUTO"
        ts = self._timestamps_override
        if ts is not None and stream.frames and stream.frames > len(ts) + 2:
            warnings.warn(
                f"{self.path}: {len(ts)} timestamps given for a video of {stream.frames} frames; only the first "
                f"{len(ts)} frames ({ts[-1] - ts[0]:.2f} s) are used",
                stacklevel=3,
            )
        self._stream = stream
        rate = stream.average_rate or stream.guessed_rate
        fps = float(rate) if rate else None
        duration = float(stream.duration * stream.time_base) if stream.duration and stream.time_base else None
        if duration is None and self._container.duration:
            duration = self._container.duration / 1e6
        self.info = VideoInfo(
            str(self.path),
            stream.codec_context.width,
            stream.codec_context.height,
            self._fps_override or fps,
            stream.frames or None,
            duration,
            stream.codec_context.name,
        )

    # -------------------------------------------------------------- iteration
    def __iter__(self) -> Iterator[Frame]:
        if self._images is not None:
            yield from self._iter_folder()
        else:
            yield from self._iter_file()

    def _iter_folder(self):
        for i, p in enumerate(self._images):
            try:
                rgb = _read_image(p)
            except Exception as e:  # a corrupt PNG in the middle: report and stop
                self.decode_errors.append(f"{p.name}: {e}")
                break
            self.frames_read += 1
            yield Frame(rgb, float(self._folder_ts[i]), i)
        self._finish()

    def _iter_file(self):
        import av

        stream = self._stream
        fallback_dt = 1.0 / self.info.fps_nominal if self.info.fps_nominal else 1.0 / 30.0
        t0 = None
        prev = -np.inf
        decoder = self._container.decode(stream)
        while True:
            try:
                frame = next(decoder)
            except StopIteration:
                break
            except (av.error.InvalidDataError, av.error.EOFError, av.error.FFmpegError) as e:
                self.decode_errors.append(f"{e.__class__.__name__}: {e}")
                break
            if self._timestamps_override is not None:
                if self.frames_read >= len(self._timestamps_override):
                    self._out_of_timestamps = True  # warned at open; not a decoding loss
                    break
                t = float(self._timestamps_override[self.frames_read])
            elif self._fps_override:
                t = self.frames_read / self._fps_override
            elif frame.time is not None:
                t = float(frame.time)
            else:
                t = self.frames_read * fallback_dt
            if t0 is None:
                t0 = t
            t -= t0
            if t <= prev:  # duplicate / non-monotonic timestamp: nudge forward by one nominal frame
                t = prev + fallback_dt
            prev = t
            rgb = np.ascontiguousarray(frame.to_ndarray(format="rgb24"))
            self.frames_read += 1
            yield Frame(rgb, t, self.frames_read - 1)
        self._finish()

    def _finish(self):
        if self.frames_read == 0:
            detail = f" ({self.decode_errors[0]})" if self.decode_errors else ""
            raise VideoError(f"{self.path}: no frame could be decoded{detail}")
        expected = self.info.n_frames_hint
        if not self.decode_errors and not self._out_of_timestamps and expected and self.frames_read < expected - 1:
            self.decode_errors.append(f"stream ended early: the container declares {expected} frames")
        if self.decode_errors:
            lost = f"; about {expected - self.frames_read} of {expected} frames lost" if expected else ""
            warnings.warn(
                f"{self.path}: decoding stopped after {self.frames_read} frames ({self.decode_errors[0]}){lost}; "
                "using the frames that decoded",
                stacklevel=2,
            )

    # -------------------------------------------------------------- resources
    def close(self):
        if self._container is not None:
            self._container.close()
            self._container = None

    def __enter__(self) -> "VideoReader":
        return self

    def __exit__(self, *exc):
        self.close()


def open_video(path: str | Path, fps: float | None = None, timestamps_s: Sequence[float] | None = None) -> VideoReader:
    """Open a video file or image-frame folder for streamed reading.

    ``fps`` (Hz) overrides the stream's timestamps with a constant rate; ``timestamps_s`` gives one time per
    frame explicitly (e.g. from a dataset's timestamp file). Raises ``VideoError`` with the path and the problem.
    """
    return VideoReader(path, fps=fps, timestamps_s=timestamps_s)


def _read_image(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as im:
        return np.ascontiguousarray(np.asarray(im.convert("RGB"), dtype=np.uint8))


_DIGITS = re.compile(r"(\d{6,})")


def _timestamps_from_names(images: list[Path], fps: float | None) -> np.ndarray | None:
    """Timestamps (s) for an image folder: a constant ``fps``, else nanosecond numbers in the file names."""
    if fps:
        return np.arange(len(images)) / float(fps)
    nums = []
    for p in images:
        m = _DIGITS.search(p.stem)
        if not m:
            return None
        nums.append(int(m.group(1)))
    ns = np.asarray(nums, dtype=np.float64)
    if len(ns) > 1 and np.all(np.diff(ns) > 0) and ns[0] > 1e12:
        return (ns - ns[0]) / 1e9
    return None
