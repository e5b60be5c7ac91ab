"""Keyframe face tracking: detect landmarks every ``detect_every`` frames, interpolate in between.

Streaming with a look-ahead buffer: frames after a keyframe are held (at most ``detect_every - 1`` of
them) until the next keyframe is detected, then each gets landmarks linearly interpolated in time between
the two keyframes — no lag, and landmark jitter only enters at keyframe rate, smoothed by the interpolation.

The last frame of the stream is always a keyframe as well (no held tail).

Missing faces are marked, never bridged: a keyframe without a face gets ``landmarks=None`` (invalid), and so does
every frame the face is not on. Where the face goes (a face keyframe followed by one without) or comes back, the
detector also runs on the frames in between, from the face side, until the first frame without a face: frames it
finds the face on keep their own landmarks, the rest are invalid. So a face hidden for 0.8 s gives 0.8 s of invalid
frames (to one frame), and later stages see the loss instead of background sampled as skin. ``hold_s`` is kept for
the callers' signatures and cache keys; landmarks are no longer held.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Iterator, Protocol

import numpy as np

from pseudopulse.io import Frame


class LandmarkDetector(Protocol):
    name: str

    def detect(self, rgb: np.ndarray) -> np.ndarray | None: ...


@dataclass(frozen=True)
class TrackedFrame:
    frame: Frame
    landmarks: np.ndarray | None  # (468, 2) float32 pixel (x, y); None = no usable face geometry
    keyframe: bool  # the detector ran on this frame
    detected: bool  # keyframe where the detector found a face


@dataclass
class TrackStats:
    n_frames: int = 0
    n_keyframes: int = 0
    n_detected: int = 0
    n_boundary_detections: int = 0  # extra detector runs on frames between a face keyframe and a face-less one
    no_face_spans_s: list[list[float]] = field(default_factory=list)  # [start_s, end_s] of keyframe runs without a face


class FaceTracker:
    """Run ``detector`` on every ``detect_every``-th frame and yield a ``TrackedFrame`` per input frame, in order."""

    def __init__(self, detector: LandmarkDetector, *, detect_every: int = 10, hold_s: float = 1.0):
        if int(detect_every) < 1:
            raise ValueError(f"detect_every must be >= 1 frame; got {detect_every}")
        if hold_s < 0:
            raise ValueError(f"hold_s must be >= 0 s; got {hold_s}")
        self.detector = detector
        self.detect_every = int(detect_every)
        self.hold_s = float(hold_s)
        self.stats = TrackStats()
        self._last_found: tuple[float, np.ndarray] | None = None  # (t_s, landmarks) of the latest face keyframe
        self._lost_since: float | None = None

    def track(self, frames: Iterable[Frame]) -> Iterator[TrackedFrame]:
        k = self.detect_every
        buf: list[Frame] = []
        left: tuple[Frame, np.ndarray | None] | None = None
        last_t = 0.0
        for i, fr in enumerate(frames):
            self.stats.n_frames += 1
            last_t = fr.t_s
            if i % k:
                buf.append(fr)
                continue
            lm = self._detect(fr)
            yield from self._resolve(buf, left, (fr, lm))
            buf = []
            if lm is not None:
                self._last_found = (fr.t_s, lm)
            yield TrackedFrame(fr, lm, True, lm is not None)
            left = (fr, lm)
        if buf:  # the last frame becomes a keyframe too, so the tail is interpolated rather than held
            fr = buf.pop()
            lm = self._detect(fr)
            yield from self._resolve(buf, left, (fr, lm))
            yield TrackedFrame(fr, lm, True, lm is not None)
        if self._lost_since is not None:
            self.stats.no_face_spans_s.append([round(self._lost_since, 4), round(last_t, 4)])
            self._lost_since = None

    # ------------------------------------------------------------------ internals
    def _detect(self, fr: Frame) -> np.ndarray | None:
        lm = self.detector.detect(fr.rgb)
        self.stats.n_keyframes += 1
        if lm is not None:
            self.stats.n_detected += 1
            if self._lost_since is not None:
                self.stats.no_face_spans_s.append([round(self._lost_since, 4), round(fr.t_s, 4)])
                self._lost_since = None
        elif self._lost_since is None:
            self._lost_since = fr.t_s
        return lm

    def _resolve(self, buf, left, right) -> Iterator[TrackedFrame]:
        """Assign landmarks to the buffered frames strictly between keyframes ``left`` and ``right``."""
        if not buf:
            return
        lf, llm = left if left is not None else (None, None)
        rf, rlm = right if right is not None else (None, None)
        if llm is not None and rlm is not None:
            for fr in buf:
                span = rf.t_s - lf.t_s
                w = np.float32((fr.t_s - lf.t_s) / span) if span > 0 else np.float32(0.0)
                yield TrackedFrame(fr, llm + w * (rlm - llm), False, False)
            return
        found: list = [None] * len(buf)
        if llm is not None or rlm is not None:  # the face went or came back in here: find the frame
            order = range(len(buf)) if llm is not None else range(len(buf) - 1, -1, -1)
            for j in order:
                lm = self.detector.detect(buf[j].rgb)
                self.stats.n_boundary_detections += 1
                if lm is None:
                    break
                found[j] = lm
        for fr, lm in zip(buf, found):
            yield TrackedFrame(fr, lm, False, False)
