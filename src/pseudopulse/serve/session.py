"""One browser camera session: JPEG frames in, the stream engine's updates out.

The page sends each camera frame as one binary WebSocket message: 8 bytes of capture time (float64, little-endian,
ms on the page's ``performance.now()`` clock) followed by the frame as a JPEG image. ``LiveSession.put`` queues it
(at most ``QUEUE_FRAMES``; when full the oldest is dropped); a worker thread decodes the frames to RGB ``Frame``
objects timed by the capture times (s from the session's first frame) and runs ``pseudopulse.stream`` on
them. Every message for the page goes through ``send(message)`` (a plain-JSON dict, called from the worker thread):

- ``{"type": "ack", "frames": n}``: n of the page's frame messages are done with (taken by the pipeline, dropped
  or refused), so the page keeps only a few in flight;
- ``{"type": "update", ...Update.to_json(), "wave_t_s": [...], "wave": [...]}``: one update per hop (s, bpm);
- ``{"type": "event", "message": ...}``: something happened to the frames (a stall, a bad frame);
- ``{"type": "error", "message": ...}``: the session cannot go on (one line), followed by
- ``{"type": "end"}``: the worker has stopped.
"""

from __future__ import annotations

import io
import queue
import struct
import threading
from typing import Callable, Iterator

import numpy as np

from pseudopulse.errors import PseudopulseError, VideoError
from pseudopulse.io import Frame
from pseudopulse.io.handoff import put_dropping_oldest
from pseudopulse.io.video import _one_line
from pseudopulse.serve import json_floats

HEADER = struct.Struct("<d")  # capture time, ms (performance.now())
QUEUE_FRAMES = 4  # decoded-later frames waiting for the pipeline; the page keeps about as many in flight
MAX_SIDE_PX = 1920  # larger frames are refused: the page sends 320x240
_STOP = object()


def decode_frame(data: bytes) -> tuple[float, np.ndarray]:
    """One message of the page -> (capture time in ms, (H, W, 3) uint8 RGB). ``VideoError`` for a message that is
    not a capture time followed by a JPEG (or PNG) image of at most ``MAX_SIDE_PX`` px a side."""
    from PIL import Image, UnidentifiedImageError

    if len(data) <= HEADER.size:
        raise VideoError(f"a camera frame message of {len(data)} bytes is too short (8-byte time + JPEG expected)")
    (t_ms,) = HEADER.unpack_from(data)
    if not np.isfinite(t_ms):
        raise VideoError(f"a camera frame's capture time is not a number ({t_ms})")
    try:
        with Image.open(io.BytesIO(data[HEADER.size :])) as img:
            if max(img.size) > MAX_SIDE_PX:
                raise VideoError(f"a camera frame of {img.size[0]}x{img.size[1]} px is larger than {MAX_SIDE_PX} px a side")
            rgb = np.asarray(img.convert("RGB"))
    except (UnidentifiedImageError, OSError, ValueError) as e:
        raise VideoError(f"a camera frame is not a readable image ({_one_line(e)})") from None
    return float(t_ms), rgb


class LiveSession:
    """Frames of one page in (``put``, from the event loop), messages out (``send``, from the worker thread).

    ``method``/``model``/``min_confidence``/``window_s``/``hop_s`` as for ``pseudopulse.stream`` (s)."""

    def __init__(self, send: Callable[[dict], None], *, method: str, model=None, min_confidence: float,
                 window_s: float = 10.0, hop_s: float = 1.0):  # fmt: skip
        self.send = send
        self.options = dict(method=method, model=model, min_confidence=min_confidence, window_s=window_s, hop_s=hop_s)
        self.q: queue.Queue = queue.Queue(maxsize=QUEUE_FRAMES)
        self.dropped = 0  # frames dropped here because the pipeline was behind
        self.thread = threading.Thread(target=self._work, name="pseudopulse-serve-session", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def put(self, data: bytes) -> None:
        """Queue one frame message; drops the oldest waiting frame when the pipeline is behind."""
        self.dropped += put_dropping_oldest(self.q, data)

    def close(self, timeout_s: float = 5.0) -> None:
        """Stop the worker (it finishes the frame in hand) and wait up to ``timeout_s`` s for it."""
        put_dropping_oldest(self.q, _STOP)
        if self.thread.is_alive():
            self.thread.join(timeout=timeout_s)

    # ------------------------------------------------------------------ the worker thread
    def _frames(self) -> Iterator[Frame]:
        t0, last, n, done = None, None, 0, 0
        while True:
            data = self.q.get()
            if data is _STOP:
                return
            done += 1
            self.send({"type": "ack", "frames": done + self.dropped})
            try:
                t_ms, rgb = decode_frame(data)
            except VideoError as e:
                self.send({"type": "event", "message": str(e)})
                continue
            t0 = t_ms if t0 is None else t0
            t_s = (t_ms - t0) / 1000.0
            if last is not None and t_s <= last:
                continue  # a repeated or earlier capture time: not a new frame
            last = t_s
            n += 1
            yield Frame(rgb, t_s, n - 1)

    def _work(self) -> None:
        from pseudopulse.live import stream

        def on_event(message: str) -> None:
            self.send({"type": "event", "message": message})

        try:
            for update in stream(self._frames(), on_event=on_event, **self.options):
                self.send(update_message(update))
        except PseudopulseError as e:
            self.send({"type": "error", "message": _one_line(e)})
        except Exception as e:  # noqa: BLE001 - the page gets one line, never a traceback
            self.send({"type": "error", "message": f"unexpected error: {e.__class__.__name__}: {_one_line(e)}"})
        finally:
            self.send({"type": "end"})


def update_message(update) -> dict:
    """The page's message of one ``Update``: its JSON plus the window's wave (times in s of stream time)."""
    return {"type": "update", **update.to_json(), "wave_t_s": json_floats(update.wave_t_s, 3),
            "wave": json_floats(update.wave, 4)}  # fmt: skip
