"""The pulse as it happens: ``for update in pseudopulse.stream(source): ...``.

Frames come from a live source (``io.live``: a file at its own pace or as fast as it decodes, a camera, a network
stream, standard input) or from any iterable of frames; the face pipeline turns each into a row of skin statistics
as it arrives (``stmap.extract.SkinRows``, the same code ``predict`` runs); the window engine (``live.engine``)
reads the last ``window_s`` seconds every ``hop_s`` seconds and yields an ``Update``: the heart rate, its
confidence, ``reliable``, the latency, and the window's wave.

Decoding runs in a background thread. From a live source (camera, network, a file at ``pace="realtime"``), frames
that arrive while the pipeline is busy wait in a short queue; when it is full the oldest is dropped (counted in
``Update.frames_dropped`` and reported), so latency stays bounded instead of growing.
"""

from __future__ import annotations

import queue
import time
import warnings
from collections import deque
from pathlib import Path
from typing import Callable, Iterable, Iterator

from pseudopulse.io import Frame
from pseudopulse.io.handoff import END, Prefetch
from pseudopulse.io.live import DEFAULT_RECONNECT_S, LiveSource, parse_source
from pseudopulse.predictors import MODEL, resolve_predictor
from pseudopulse.signal import DEFAULT_BAND_HZ
from pseudopulse.signal.confidence import DEFAULT_THRESHOLD
from pseudopulse.live.engine import NO_FACE, NO_READING, READING, WARMING_UP, Update, WindowEngine

__all__ = ["NO_FACE", "NO_READING", "READING", "WARMING_UP", "Update", "WindowEngine", "stream"]

QUEUE_FRAMES = 64  # frames a live source may run ahead of the pipeline before the oldest is dropped
STALL_S = 3.0  # no frame for this long from a live source is reported


def stream(
    source: str | Path | int | Iterable | None = None,
    method: str = MODEL,
    *,
    model: str | Path | None = None,
    camera: str | int | None = None,
    pace: str = "realtime",
    roi: str = "face",
    window_s: float = 10.0,
    hop_s: float = 1.0,
    min_confidence: float = DEFAULT_THRESHOLD,
    band_hz: tuple[float, float] = DEFAULT_BAND_HZ,
    fps: float | None = None,
    input_format: str | None = None,
    raw_size: tuple[int, int] | None = None,
    camera_size: tuple[int, int] | None = None,
    reconnect_s: float = DEFAULT_RECONNECT_S,
    loop: bool = False,
    duration_s: float | None = None,
    detect_every: int = 10,
    on_event: Callable[[str], None] | None = None,
    detector=None,
) -> Iterator[Update]:
    """Heart-rate updates of a live source, one every ``hop_s`` s of stream time (the first readings after
    ``window_s`` s; before that, updates with ``status == "warming up"``).

    ``source``: a video file or frame folder, a stream URL (rtsp://, http://, ...), ``"-"`` for standard input, a
    camera index (or ``camera=``), or an iterable of ``Frame`` objects or (H, W, 3) uint8 RGB arrays (then give
    ``fps``). ``pace``: a file at its own pace ("realtime") or as fast as it decodes ("fast"). ``method``/``model``
    as for ``pseudopulse.predict``. ``fps`` (Hz) times frames without timestamps (arrays, raw stdin, frame
    folders). ``raw_size`` (w, h px) with ``"-"``: raw RGB24 frames. ``reconnect_s``: how long a dropped network
    stream is retried. ``loop``: a file starts again at its end. ``duration_s``: stop after this many seconds of
    stream time (None: when the source ends). ``on_event(message)``: what happens to the source (drops, reconnects,
    stalls); default: ``warnings.warn``. Raises ``PseudopulseError`` subclasses (one-line messages) for a source that cannot be
    opened or read."""
    predictor = resolve_predictor(method, model)
    on_event = on_event or (lambda message: warnings.warn(message, stacklevel=2))
    if isinstance(source, (str, Path, int)) or source is None:
        spec = parse_source(source, camera=camera, input_format=input_format, raw_size=raw_size, fps=fps,
                            camera_size=camera_size)  # fmt: skip
        live = LiveSource(spec, pace=pace, reconnect_s=reconnect_s, on_event=on_event, loop=loop)
        label, drops = spec.label, spec.is_live or (spec.kind == "file" and pace == "realtime")
    else:
        live, label, drops = _timed(source, fps), "<frames>", False
    return _run(live, predictor, label=label, drops=drops, roi=roi, window_s=window_s, hop_s=hop_s,
                min_confidence=min_confidence, band_hz=band_hz, detect_every=detect_every, on_event=on_event,
                detector=detector, duration_s=duration_s)  # fmt: skip


def _timed(frames: Iterable, fps: float | None) -> Iterator[tuple[Frame, float]]:
    """(Frame, arrival) from caller frames: ``Frame`` objects keep their times, arrays are timed at ``fps``."""
    from pseudopulse.stmap.extract import _as_frames

    for fr in _as_frames(frames, fps, None, "<frames>"):
        yield fr, time.monotonic()


def _run(live, predictor, *, label, drops, roi, window_s, hop_s, min_confidence, band_hz, detect_every, on_event,
         detector, duration_s=None) -> Iterator[Update]:  # fmt: skip
    from pseudopulse.stmap.extract import SkinRows

    engine = WindowEngine(predictor, roi=roi, window_s=window_s, hop_s=hop_s, band_hz=band_hz,
                          min_confidence=min_confidence, source=label)  # fmt: skip
    feed = _Feed(live, drops=drops, on_event=on_event, label=label)
    rows = SkinRows(roi=roi, detect_every=detect_every, detector=detector, source=label, keep_face_px=64)
    try:
        with rows:
            for fr, st in rows.rows(feed.frames()):
                engine.frames_dropped = feed.dropped
                update = engine.push(fr.t_s, st, feed.arrival_of(fr.index), roi_px=rows.roi_px())
                if update is not None:
                    yield update
                    if duration_s is not None and update.t_s >= duration_s - 1e-6:
                        return
    finally:
        feed.close()


class _Feed:
    """The source read in a background thread (``io.handoff.Prefetch``; drop-oldest for live sources), its stalls
    reported, and the arrival time of each frame kept until the pipeline's row for it comes out."""

    def __init__(self, live: Iterable, *, drops: bool, on_event, label: str):
        self.on_event, self.label = on_event, label
        self.prefetch = Prefetch(live, QUEUE_FRAMES if drops else 8, drop_oldest=drops, on_drop=self._dropped,
                                 name="pseudopulse-live-source")  # fmt: skip
        self._arrivals: deque = deque()  # (index, arrival) of frames handed to the pipeline, in order

    @property
    def dropped(self) -> int:
        return self.prefetch.dropped

    def _dropped(self, n: int) -> None:
        if n in (1, 10, 100) or n % 1000 == 0:
            self.on_event(f"{self.label}: {n} frame(s) dropped so far (the pipeline is slower than the source; try a "
                          "smaller frame or --method pos)")  # fmt: skip

    def frames(self) -> Iterator[Frame]:
        stalled = False
        while True:
            try:
                item = self.prefetch.get(timeout_s=STALL_S)
            except queue.Empty:
                if not stalled:
                    self.on_event(f"{self.label}: no frame for {STALL_S:g} s (the source stalled); waiting")
                stalled = True
                continue
            if stalled:
                self.on_event(f"{self.label}: frames are coming again")
                stalled = False
            if item is END:
                return
            fr, arrival = item
            self._arrivals.append((fr.index, arrival))
            yield fr

    def arrival_of(self, index: int) -> float:
        """Arrival time (s, monotonic) of the frame ``index`` (frames come back from the tracker in order)."""
        while self._arrivals and self._arrivals[0][0] < index:
            self._arrivals.popleft()
        return self._arrivals[0][1] if self._arrivals and self._arrivals[0][0] == index else time.monotonic()

    def close(self) -> None:
        self.prefetch.close()
