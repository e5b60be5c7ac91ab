"""Keyframe face tracking: detect landmarks every ``detect_every`` frames, interpolate in between.

Streaming with a look-ahead buffer: frames after a keyframe are held (at most ``detect_every - 1`` of
them) until the next keyframe is detected, then each gets landmarks linearly interpolated in time between
the two keyframes — no lag, and landmark jitter only enters at keyframe rate, smoothed by the interpolation.

The last frame of the stream is always a keyframe as well (no held tail).

Missing faces: a keyframe without a face holds the last found landmarks for up to ``hold_s`` seconds
(after that frames get ``landmarks=None``, i.e. invalid). Frames just before a keyframe that finds the face
again take that keyframe's landmarks (a backward hold of < ``detect_every`` frames).
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
                yield TrackedFrame(fr, lm, True, True)
            else:
                yield TrackedFrame(fr, self._held(fr.t_s), True, False)
            left = (fr, lm)
        if buf:  # the last frame becomes a keyframe too, so the tail is interpolated rather than held
            fr = buf.pop()
            lm = self._detect(fr)
            yield from self._resolve(buf, left, (fr, lm))
            yield TrackedFrame(fr, lm if lm is not None else self._held(fr.t_s), True, lm is not None)
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

    def _held(self, t_s: float) -> np.ndarray | None:
        """Forward hold: the last found landmarks if they are at most ``hold_s`` old, else None."""
        if self._last_found is not None and t_s - self._last_found[0] <= self.hold_s + 1e-9:
            return self._last_found[1]
        return None

    def _resolve(self, buf, left, right) -> Iterator[TrackedFrame]:
        """Assign landmarks to the buffered frames strictly between keyframes ``left`` and ``right``."""
        if not buf:
            return
        lf, llm = left if left is not None else (None, None)
        rf, rlm = right if right is not None else (None, None)
        for fr in buf:
            if llm is not None and rlm is not None:
                span = rf.t_s - lf.t_s
                w = np.float32((fr.t_s - lf.t_s) / span) if span > 0 else np.float32(0.0)
                lm = llm + w * (rlm - llm)
            elif rlm is not None and rf.t_s - fr.t_s <= self.hold_s + 1e-9:
                lm = rlm
            else:
                lm = self._held(fr.t_s)
            yield TrackedFrame(fr, lm, False, False)
