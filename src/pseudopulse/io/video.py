"""Streamed video input: RGB uint8 frames with presentation timestamps in seconds.

``open_video(path)`` reads any container/codec that PyAV's ffmpeg reads, or a folder of image frames
(PNG/JPEG/BMP, e.g. PURE). Frames are decoded lazily, one at a time; nothing holds the whole video.
Timestamps come from the stream (variable frame rate is kept as is) and start at 0 for the first frame.

What the stream lost is found from the timestamps themselves (``ReadLoss``: time gaps, duplicate times, packets
that failed to decode, a stream that ends before its declared length), warned about once, and kept on the reader
(``reader.loss``) so later stages and caches can report it.
"""

from __future__ import annotations

import array
import heapq
import re
import stat
import threading
import warnings
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from pseudopulse.errors import VideoError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
# video files looked for in folders of videos (any file PyAV opens can still be given by name)
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv")
REORDER_DEPTH = 16  # frames whose times are sorted before they are given out (B-frame reordering is < 16 deep)
GAP_FACTOR = 1.8  # a frame interval above this many median intervals is a time gap (one dropped frame gives 2.0)
VFR_SHARE = 0.1  # long intervals in more than this share of all intervals: a variable frame rate, not losses
MAX_BAD_PACKETS_IN_A_ROW = 250  # undecodable packets in a row after which the rest of the stream is given up


@dataclass(frozen=True)
class ReadLoss:
    """What reading a video lost, found from its timestamps and declared length. Times in s from the first frame.

    ``frames_lost``: estimated frames missing (time gaps, duplicates dropped, undecodable packets, a short stream);
    ``gaps_s``: [before_s, after_s] around each time gap (interval > ``GAP_FACTOR`` median intervals);
    ``missing_end_s``: seconds missing at the end against the declared length (0 when complete)."""

    frames_read: int = 0
    frames_lost: int = 0
    frames_declared: int | None = None
    gaps_s: list = field(default_factory=list)
    missing_end_s: float = 0.0
    duplicates: int = 0
    resets: int = 0
    decode_errors: list = field(default_factory=list)
    frame_interval_s: float | None = None

    @property
    def any(self) -> bool:
        return bool(self.frames_lost or self.gaps_s or self.missing_end_s or self.duplicates or self.resets or self.decode_errors)

    def to_dict(self) -> dict:
        return {"frames_read": self.frames_read, "frames_lost": self.frames_lost, "frames_declared": self.frames_declared,
                "gaps_s": [list(g) for g in self.gaps_s], "missing_end_s": self.missing_end_s,
                "duplicates": self.duplicates, "resets": self.resets, "decode_errors": list(self.decode_errors),
                "frame_interval_s": self.frame_interval_s}  # fmt: skip

    @classmethod
    def from_dict(cls, d: dict) -> "ReadLoss":
        names = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in d.items() if k in names})

    def describe(self, path: str) -> str:
        """One line for the user ('' when nothing was lost)."""
        if not self.any:
            return ""
        parts = []
        if self.missing_end_s > 0:
            parts.append(f"decoding stopped after {self.frames_read} frames, {self.missing_end_s:.2f} s before the "
                         "declared end")  # fmt: skip
        if self.gaps_s:
            shown = ", ".join(f"{a:.2f}-{b:.2f} s" for a, b in self.gaps_s[:3]) + (" ..." if len(self.gaps_s) > 3 else "")
            parts.append(f"{len(self.gaps_s)} time gap(s) ({shown})")
        if self.duplicates:
            parts.append(f"{self.duplicates} frame(s) with a repeated timestamp dropped")
        if self.resets:
            parts.append(f"timestamps went backwards {self.resets} time(s) (continued at the nominal rate)")
        if self.decode_errors:
            parts.append(f"decoder: {self.decode_errors[0]}")
        of = f" of {self.frames_declared}" if self.frames_declared else ""
        return (f"{path}: about {self.frames_lost}{of} frames lost ({'; '.join(parts)}); using the "
                f"{self.frames_read} frames that decoded")  # fmt: skip


def find_loss(times_s: np.ndarray, *, declared_frames: int | None = None, declared_duration_s: float | None = None,
              from_stream: bool = True, decode_errors=(), duplicates: int = 0, duplicate_times_s=(), resets: int = 0,
              cut_short: bool = False, declared_covers_gaps: bool = True) -> ReadLoss:  # fmt: skip
    """``ReadLoss`` of a stream whose given-out frames have the increasing times ``times_s`` (s). Time gaps are only
    looked for in times that came from the stream (``from_stream``); ``cut_short``: the caller stopped reading on
    purpose (no missing end); ``declared_covers_gaps``: the declared frame count would include frames lost in gaps
    (a container's count; not a folder's file count), so a stream that has them all has a variable rate instead."""
    t = np.asarray(times_s, dtype=np.float64)
    n = len(t)
    gaps, lost_in_gaps, med = [], 0, None
    if n >= 3:
        dt = np.diff(t)
        med = float(np.median(dt))
        long_ = np.flatnonzero(dt > GAP_FACTOR * med) if med > 0 else np.zeros(0, int)
        # long intervals that are common (> VFR_SHARE of them), or a stream that has every frame it declares, are a
        # variable frame rate (phones drop to half rate in low light), not lost frames
        vfr = len(long_) > VFR_SHARE * len(dt) or bool(
            declared_covers_gaps and declared_frames and n + int(duplicates) >= declared_frames - 1
        )
        if from_stream and med > 0 and not vfr:
            for i in long_:
                gaps.append([round(float(t[i]), 4), round(float(t[i + 1]), 4)])
                lost_in_gaps += max(1, int(round(dt[i] / med)) - 1)
    # a dropped duplicate that opened a time gap is already counted in that gap
    starts = {round(a, 4) for a, _ in gaps}
    in_gaps = sum(1 for t_dup in duplicate_times_s if round(float(t_dup), 4) in starts)
    lost = lost_in_gaps + max(0, int(duplicates) - in_gaps)
    missing_end = 0.0
    if not cut_short:
        if declared_frames and declared_frames - n - lost >= 2:
            missing_end = (declared_frames - n - lost) * (med or 0.0)
            lost = declared_frames - n
        elif declared_duration_s and med and from_stream and declared_duration_s - (t[-1] + med) > 2.5 * med:
            missing = declared_duration_s - (t[-1] + med)
            missing_end = missing
            lost += int(round(missing / med))
        elif declared_frames and declared_frames - n > lost:
            lost = declared_frames - n
    return ReadLoss(frames_read=n, frames_lost=int(lost), frames_declared=declared_frames, gaps_s=gaps,
                    missing_end_s=round(float(missing_end), 3), duplicates=int(duplicates), resets=int(resets),
                    decode_errors=list(decode_errors), frame_interval_s=None if med is None else round(med, 6))  # fmt: skip


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
        self.bad_packets = 0
        self.duplicates = 0
        self.resets = 0
        self._duplicate_times: list[float] = []
        self.loss: ReadLoss | None = None  # set when the iteration ends
        self._times = array.array("d")  # given-out frame times (8 bytes a frame)
        self._t0: float | None = None
        self._out_of_timestamps = False
        self._container = None
        self._images: list[Path] | None = None
        if not self.path.exists():
            raise VideoError(f"{self.path}: no such file or folder")
        if not self.path.is_dir() and not self.path.is_file():
            mode = self.path.stat().st_mode
            if not (stat.S_ISCHR(mode) or stat.S_ISBLK(mode)):
                kind = "a FIFO (named pipe)" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode) else "not a regular file"
                raise VideoError(f"{self.path}: is {kind}, which cannot be read to its end reliably; save the video "
                                 "to a file (or pass a folder of frames)")  # fmt: skip
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
        w, h = _check_image_sizes(self.path, images)
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
        h, w = self.info.height, self.info.width
        for i, p in enumerate(self._images):
            try:
                rgb = _read_image(p)
            except Exception as e:  # a corrupt image: skip it (a time gap) and report it
                self.decode_errors.append(f"{p.name}: {_one_line(e)}")
                continue
            if rgb.shape[:2] != (h, w):  # sizes are checked at open; a file replaced since then lands here
                raise VideoError(f"{p}: frame is {rgb.shape[1]}x{rgb.shape[0]} px but the folder's first frame is "
                                 f"{w}x{h} px; all frames of a folder must have one size")  # fmt: skip
            self._note_time(float(self._folder_ts[i]))
            self.frames_read += 1
            yield Frame(rgb, float(self._folder_ts[i]), i)
        self._finish()

    def _decoded(self):
        """Decoded frames in output (presentation) order; a packet that fails to decode is counted and skipped (its
        frames show up as a time gap), an error of the demuxer ends the stream."""
        import av

        errors = (av.error.InvalidDataError, av.error.EOFError, av.error.FFmpegError, OSError)
        packets = self._container.demux(self._stream)
        bad_in_a_row = 0
        while True:
            try:
                packet = next(packets)
            except StopIteration:
                return
            except errors as e:
                self.decode_errors.append(f"{e.__class__.__name__}: {_one_line(e)}")
                return
            try:
                frames = packet.decode()
            except errors as e:
                self.bad_packets += 1
                bad_in_a_row += 1
                if not self.decode_errors or bad_in_a_row == 1:
                    self.decode_errors.append(f"{e.__class__.__name__}: {_one_line(e)}")
                if bad_in_a_row > MAX_BAD_PACKETS_IN_A_ROW:
                    return
                continue
            bad_in_a_row = 0
            yield from frames

    def _iter_file(self):
        """Frames with their times. Decoders emit frames in presentation order, but some containers (AVI with
        B-frames) attach the timestamps in decode order: the times of a small window of pending frames are sorted
        before they are given out, so every frame gets the right time whatever the container."""
        fallback_dt = 1.0 / self.info.fps_nominal if self.info.fps_nominal else 1.0 / 30.0
        self._fallback_dt = fallback_dt
        pending: deque = deque()  # frames decoded but not yet given out
        times: list[float] = []  # min-heap of their raw times
        n_decoded = 0
        for frame in self._decoded():
            if self._timestamps_override is not None:
                if n_decoded >= len(self._timestamps_override):
                    self._out_of_timestamps = True  # warned at open; not a decoding loss
                    break
                t = float(self._timestamps_override[n_decoded])
            elif self._fps_override:
                t = n_decoded / self._fps_override
            elif frame.time is not None:
                t = float(frame.time)
            else:
                t = n_decoded * fallback_dt
            n_decoded += 1
            pending.append(frame)
            heapq.heappush(times, t)
            if len(pending) > REORDER_DEPTH:
                out = self._emit(pending.popleft(), heapq.heappop(times))
                if out is not None:
                    yield out
        while pending:
            out = self._emit(pending.popleft(), heapq.heappop(times))
            if out is not None:
                yield out
        self._finish()

    def _emit(self, frame, t_raw: float) -> Frame | None:
        if self._t0 is None:
            self._t0 = t_raw
        t = t_raw - self._t0
        if self._times and t <= self._times[-1] + 1e-9:
            if t >= self._times[-1] - 1e-9 or self._timestamps_override is not None or self._fps_override:
                self.duplicates += 1  # same time as the frame before: which of the two it shows is unknown
                self._duplicate_times.append(self._times[-1])
                return None
            # time went backwards (a timestamp reset): carry on one nominal frame later and say so
            self._t0 -= self._times[-1] + self._fallback_dt - t
            self.resets += 1
            t = self._times[-1] + self._fallback_dt
        if (frame.height, frame.width) != (self.info.height, self.info.width) and self.info.width and self.info.height:
            raise VideoError(f"{self.path}: frame {self.frames_read} is {frame.width}x{frame.height} px but the "
                             f"stream started at {self.info.width}x{self.info.height} px; a video whose frame size "
                             "changes cannot be tracked; split it where the size changes")  # fmt: skip
        rgb = _to_rgb(frame)
        self._note_time(t)
        self.frames_read += 1
        return Frame(rgb, t, self.frames_read - 1)

    def _note_time(self, t: float) -> None:
        self._times.append(t)

    def _finish(self):
        if self.frames_read == 0:
            detail = f" ({self.decode_errors[0]})" if self.decode_errors else ""
            raise VideoError(f"{self.path}: no frame could be decoded{detail}")
        self.loss = find_loss(
            np.frombuffer(self._times, dtype=np.float64) if len(self._times) else np.zeros(0),
            declared_frames=self.info.n_frames_hint,
            declared_duration_s=self.info.duration_s,
            from_stream=self._timestamps_override is None and not self._fps_override,
            decode_errors=self.decode_errors,
            duplicates=self.duplicates,
            duplicate_times_s=self._duplicate_times,
            resets=self.resets,
            cut_short=self._out_of_timestamps,
            declared_covers_gaps=self._images is None,
        )
        message = self.loss.describe(str(self.path))
        if message:
            warnings.warn(message, stacklevel=2)

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


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split()) or e.__class__.__name__


_local = threading.local()


def _rgb24(frame) -> np.ndarray:
    """(H, W, 3) uint8 RGB of a PyAV frame by this thread's own converter. ``frame.to_ndarray(format="rgb24")`` sets
    up a new libswscale context on every call (~0.4 ms at 640 x 480, more than the conversion itself); a reformatter
    kept per thread sets one up only when the size or format changes — the same pixels, bit for bit (checked on the
    45 unlabeled clips' formats: 4:2:0 and 4:4:4, limited and full range, BT.601 and BT.709)."""
    from av.video.reformatter import VideoReformatter

    conv = getattr(_local, "reformatter", None)
    if conv is None:
        conv = _local.reformatter = VideoReformatter()
    return conv.reformat(frame, format="rgb24").to_ndarray()


def _to_rgb(frame) -> np.ndarray:
    """(H, W, 3) uint8 RGB of a decoded frame, turned upright when the stream says it is rotated (phones)."""
    rgb = _rgb24(frame)
    rot = int(round(getattr(frame, "rotation", 0) or 0)) % 360
    if rot in (90, 180, 270):
        rgb = np.rot90(rgb, k=rot // 90)  # display matrix angle is counter-clockwise
    return np.ascontiguousarray(rgb)


def _check_image_sizes(folder: Path, images: list[Path]) -> tuple[int, int]:
    """(width, height) shared by every image of a frame folder (headers only); a VideoError names the first image
    of another size. Images whose header cannot be read are left to the decoder (reported as lost frames)."""
    from PIL import Image

    size = None
    for p in images:
        try:
            with Image.open(p) as im:
                this = im.size
        except Exception:  # noqa: BLE001 - a corrupt frame is reported when it is read
            continue
        if size is None:
            size, first = this, p
        elif this != size:
            raise VideoError(f"{p}: frame is {this[0]}x{this[1]} px but {first.name} is {size[0]}x{size[1]} px; all "
                             "frames of a folder must have one size (re-export the frames at one size)")  # fmt: skip
    if size is None:
        raise VideoError(f"{folder}: none of its {len(images)} image frames can be read")
    return size


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
