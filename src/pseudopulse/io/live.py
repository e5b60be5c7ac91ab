"""Live video input: frames with times as they arrive, from a file (at its own pace or as fast as it decodes), a
camera, a network stream (RTSP, RTMP, HTTP, UDP, SRT) or standard input.

``parse_source(...)`` names what to open (``SourceSpec``); ``LiveSource(spec)`` iterates ``(Frame, arrival_s)``
pairs, ``arrival_s`` being the monotonic clock (s) when the frame was delivered, so later stages can measure their
latency. Frame times (``Frame.t_s``, s from the first frame) come from the stream's timestamps where it has them
and from the clock where it does not (a timestamp that goes backwards, or a reconnect, continues on the clock).

A network stream that drops is reopened, for up to ``reconnect_s`` seconds, and the frames after it carry on in
time (the gap shows as missing time, which later stages treat as lost frames). Everything that happens to the
source is reported through ``on_event(message)``; errors that end it are ``VideoError`` with one line naming the
source, the problem and the fix.
"""

from __future__ import annotations

import errno
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from pseudopulse.errors import VideoError
from pseudopulse.io.video import Frame, VideoReader, _one_line, _to_rgb

PACES = ("realtime", "fast")
NETWORK_SCHEMES = ("rtsp", "rtsps", "rtmp", "rtmps", "http", "https", "udp", "tcp", "srt", "rtp")
RECONNECT_ON_END = ("rtsp", "rtsps", "rtmp", "rtmps", "udp", "tcp", "srt", "rtp")  # live protocols: an end is a drop
OPEN_TIMEOUT_S = 10.0  # network: connecting
READ_TIMEOUT_S = 5.0  # network: no data for this long is a drop
DEFAULT_RECONNECT_S = 30.0

Event = Callable[[str], None]


@dataclass(frozen=True)
class SourceSpec:
    """What to open: ``kind`` is "file", "camera", "network" or "stdin"; ``target`` what PyAV opens (a path, a
    device, a URL, or "-"); ``format``/``options`` PyAV's input format and options; ``label`` the name messages
    use."""

    kind: str
    target: str
    format: str | None = None
    options: dict = field(default_factory=dict)
    label: str = ""
    fps: float | None = None  # Hz: time the frames at this rate instead of their timestamps

    @property
    def is_live(self) -> bool:
        """A source that produces frames at its own pace (a camera, a stream): frames that cannot be processed in
        time are dropped rather than queued without bound."""
        return self.kind in ("camera", "network")

    @property
    def scheme(self) -> str:
        return self.target.split("://", 1)[0].lower() if "://" in self.target else ""


def parse_size(text: str | None) -> tuple[int, int] | None:
    """'640x480' -> (640, 480); None for None. ValueError with the expected form otherwise."""
    if text is None:
        return None
    try:
        w, h = (int(v) for v in str(text).lower().split("x"))
    except ValueError:
        raise ValueError(f"a frame size must look like 640x480 (width x height in px); got {text!r}") from None
    if w < 1 or h < 1:
        raise ValueError(f"a frame size must be positive (width x height in px); got {text!r}")
    return w, h


def camera_spec(camera: str | int, *, size: tuple[int, int] | None = None, fps: float | None = None,
                platform: str | None = None) -> SourceSpec:  # fmt: skip
    """The capture device ``camera`` (an index, or a device path/name) on this platform: v4l2 on Linux
    (``/dev/videoN``), AVFoundation on macOS (index), DirectShow on Windows (the device's name, e.g. "Integrated
    Camera"). ``size`` (px) and ``fps`` (Hz) are asked of the device."""
    platform = platform or sys.platform
    options: dict = {}
    if size:
        options["video_size"] = f"{size[0]}x{size[1]}"
    if fps:
        options["framerate"] = f"{fps:g}"
    text = str(camera)
    if platform.startswith("linux"):
        device = f"/dev/video{text}" if text.isdigit() else text
        return SourceSpec("camera", device, "v4l2", options, f"camera {text} ({device})")
    if platform == "darwin":  # AVFoundation asks 29.97 fps by default, which most built-in cameras refuse
        options.setdefault("framerate", "30")
        return SourceSpec("camera", f"{text}:none", "avfoundation", options, f"camera {text}")  # video only
    if platform.startswith("win"):
        if text.isdigit():
            raise ValueError("on Windows give the camera's name (e.g. --camera \"Integrated Camera\"); list them with "
                             "`ffmpeg -list_devices true -f dshow -i dummy`")  # fmt: skip
        return SourceSpec("camera", f"video={text}", "dshow", options, f"camera {text!r}")
    raise ValueError(f"cameras are not supported on platform {platform!r}; give a video file or stream URL")


def parse_source(source: str | Path | int | None = None, *, camera: str | int | None = None,
                 input_format: str | None = None, raw_size: tuple[int, int] | None = None, fps: float | None = None,
                 camera_size: tuple[int, int] | None = None) -> SourceSpec:  # fmt: skip
    """What ``source`` names: an int or ``camera`` -> a camera; ``"-"`` -> standard input (``input_format``, e.g.
    ``yuv4mpegpipe``, ``nut``, ``mpegts``, or raw RGB frames of ``raw_size`` (w, h) px at ``fps`` Hz); a URL of
    a network scheme -> a stream; anything else -> a video file or frame folder."""
    if camera is not None or isinstance(source, int):
        return camera_spec(camera if camera is not None else source, size=camera_size, fps=fps)
    if source is None:
        raise ValueError("no source: give a video file, a stream URL, - for standard input, or --camera N")
    text = str(source)
    if raw_size is not None and text != "-":
        raise ValueError("--raw-size describes raw frames on standard input: give - as the source")
    if text == "-":
        if raw_size is not None:
            if not fps:
                raise ValueError("--raw-size needs --fps (Hz) to time the raw frames")
            opts = {"video_size": f"{raw_size[0]}x{raw_size[1]}", "pixel_format": "rgb24", "framerate": f"{fps:g}"}
            return SourceSpec("stdin", "-", "rawvideo", opts, "standard input", fps=float(fps))
        return SourceSpec("stdin", "-", input_format, {}, "standard input", fps=fps)
    scheme = text.split("://", 1)[0].lower() if "://" in text else ""
    if scheme in NETWORK_SCHEMES:
        opts = {"rtsp_transport": "tcp"} if scheme.startswith("rtsp") else {}
        return SourceSpec("network", text, input_format, opts, text)
    if scheme:
        raise ValueError(f"{text}: unknown stream scheme {scheme!r}; use one of {', '.join(NETWORK_SCHEMES)}, a file, or -")
    return SourceSpec("file", text, input_format, {}, text, fps=fps)


class LiveSource:
    """Iterate ``(Frame, arrival_s)`` from ``spec`` (see the module docstring).

    ``pace``: for a file, "realtime" delivers each frame at its own time (as a camera would), "fast" as fast as it
    decodes; live sources always come at their own pace. ``loop``: a file starts again when it ends, its times
    running on (demos, long-running benchmarks). ``reconnect_s``: how long a dropped network stream is
    retried (0: never). ``on_event(message)``: drops, reconnects, timing fix-ups. ``clock``/``sleep`` are the
    monotonic clock and sleep (s), replaceable in tests; ``opener(spec)`` opens a PyAV container."""

    def __init__(self, spec: SourceSpec, *, pace: str = "realtime", reconnect_s: float = DEFAULT_RECONNECT_S,
                 on_event: Event | None = None, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep, opener: Callable | None = None, loop: bool = False):  # fmt: skip
        if pace not in PACES:
            raise ValueError(f"pace must be one of {PACES}; got {pace!r}")
        self.spec, self.pace, self.reconnect_s, self.loop = spec, pace, float(reconnect_s), bool(loop)
        self.on_event = on_event or (lambda message: None)
        self.clock, self.sleep = clock, sleep
        self.opener = opener or open_container
        self.frames_read = 0
        self.reconnects = 0

    def __iter__(self) -> Iterator[tuple[Frame, float]]:
        if self.spec.kind == "file":
            yield from self._file()
        else:
            yield from self._container_frames()

    # ------------------------------------------------------------------ a file, paced
    def _file(self):
        start, offset = None, 0.0
        while True:
            last = None
            with VideoReader(self.spec.target, fps=self.spec.fps) as reader:
                for fr in reader:
                    t = offset + fr.t_s
                    if self.pace == "realtime":
                        if start is None:
                            start = self.clock() - t
                        wait = start + t - self.clock()
                        if wait > 0:
                            self.sleep(wait)
                    self.frames_read += 1
                    last = t
                    yield Frame(fr.rgb, t, self.frames_read - 1), self.clock()
                step = 1.0 / reader.info.fps_nominal if reader.info.fps_nominal else 1.0 / 30.0
            if not self.loop or last is None:
                return
            offset = last + step  # the next round follows one frame interval after the last frame

    # ------------------------------------------------------------------ camera, network, stdin
    def _container_frames(self):
        clock = _StreamClock(self.spec.fps)
        dropped_at = None
        while True:
            try:
                container = self.opener(self.spec)
            except VideoError as e:
                if dropped_at is None:
                    raise  # never opened: the source is wrong, not dropped
                if not self._may_retry(dropped_at):
                    self.on_event(f"{self.spec.label}: gave up reconnecting after {self.reconnect_s:g} s ({e}); the "
                                  "session ends here")  # fmt: skip
                    return
                self.sleep(1.0)
                continue
            if dropped_at is not None:
                self.reconnects += 1
                self.on_event(f"{self.spec.label}: reconnected after {self.clock() - dropped_at:.1f} s")
                clock.restart()
            ended_by = None
            try:
                stream = container.streams.video[0] if container.streams.video else None
                if stream is None:
                    raise VideoError(f"{self.spec.label}: has no video stream")
                stream.thread_type = "AUTO"
                for frame in _decode(container, stream):
                    now = self.clock()
                    self.frames_read += 1
                    yield Frame(_to_rgb(frame), clock.time(frame.time, now), self.frames_read - 1), now
            except _stream_errors() as e:
                ended_by = _one_line(e)
            finally:
                container.close()
            if not self._reconnects_after(ended_by):
                if ended_by and self.frames_read == 0:
                    raise VideoError(f"{self.spec.label}: {ended_by}")
                if ended_by:
                    self.on_event(f"{self.spec.label}: ended ({ended_by})")
                return
            dropped_at = self.clock()
            self.on_event(f"{self.spec.label}: dropped ({ended_by or 'stream ended'}); reconnecting for up to "
                          f"{self.reconnect_s:g} s")  # fmt: skip

    def _reconnects_after(self, error: str | None) -> bool:
        if self.spec.kind != "network" or self.reconnect_s <= 0:
            return False
        return error is not None or self.spec.scheme in RECONNECT_ON_END

    def _may_retry(self, dropped_at: float) -> bool:
        return self.clock() - dropped_at < self.reconnect_s


class _StreamClock:
    """Frame times (s from the first frame) from stream timestamps, kept strictly increasing: a frame without a
    timestamp, one that goes backwards, or the first after a reconnect continues on the wall clock."""

    def __init__(self, fps: float | None):
        self.fps = fps
        self.t0_stream: float | None = None  # stream time that maps to t0_out
        self.t0_out = 0.0
        self.last: float | None = None
        self.last_wall: float | None = None
        self.n = 0

    def restart(self) -> None:
        """After a reconnect: the next frame's stream time is mapped to the wall time elapsed since the last one."""
        self.t0_stream = None

    def time(self, stream_t: float | None, wall: float) -> float:
        """The frame time (s) of a frame with stream timestamp ``stream_t`` (s, or None) delivered at ``wall`` (s)."""
        t = None
        if self.fps:
            t = self.n / self.fps
        elif stream_t is not None and self.t0_stream is not None:
            t = self.t0_out + float(stream_t) - self.t0_stream
            if self.last is not None and t <= self.last:
                t = None  # backwards or repeated: re-anchor on the clock
        if t is None:
            t = 0.0 if self.last is None else self.last + max(wall - self.last_wall, 1e-3)
            if stream_t is not None:
                self.t0_stream, self.t0_out = float(stream_t), t
        self.n += 1
        self.last, self.last_wall = t, wall
        return t


def _decode(container, stream):
    for packet in container.demux(stream):
        yield from packet.decode()


def _stream_errors() -> tuple:
    import av

    return (av.error.FFmpegError, OSError, EOFError)


def open_container(spec: SourceSpec):
    """The PyAV input container of ``spec`` (camera, network stream or stdin); a ``VideoError`` naming the source,
    what went wrong and what to do."""
    import av

    target = sys.stdin.buffer if spec.target == "-" else spec.target
    kw = {"timeout": (OPEN_TIMEOUT_S, READ_TIMEOUT_S)} if spec.kind == "network" else {}
    try:
        return av.open(target, format=spec.format, options=dict(spec.options), **kw)
    except av.error.FFmpegError as e:
        raise VideoError(_open_message(spec, e)) from None
    except (OSError, ValueError) as e:
        raise VideoError(f"{spec.label}: cannot open ({_one_line(e)})") from None


def _open_message(spec: SourceSpec, e) -> str:
    code = getattr(e, "errno", None)
    text = _one_line(e)
    if spec.kind == "camera":
        if code == errno.ENOENT:
            return (f"{spec.label}: no such camera ({text}); check which cameras exist (`ls /dev/video*` or "
                    "`v4l2-ctl --list-devices`), or give a video file")  # fmt: skip
        if code == errno.EBUSY:
            return f"{spec.label}: the camera is busy (another program is using it); close that program and retry"
        if code in (errno.EACCES, errno.EPERM):
            return f"{spec.label}: no permission to open the camera; add your user to the 'video' group and log in again"
        return f"{spec.label}: cannot open the camera ({text}); check that it is connected and not in use"
    if spec.kind == "network":
        return f"{spec.label}: cannot open the stream ({text}); check the address, the network and that the server is up"
    if spec.kind == "stdin":
        how = "pass --format (e.g. yuv4mpegpipe, nut, mpegts) or raw RGB frames with --raw-size WxH --fps F"
        return f"standard input: not a readable video stream ({text}); {how}"
    return f"{spec.label}: cannot open ({text})"
