"""The window engine: rows of skin statistics in, one heart-rate ``Update`` per hop out, with its confidence.

Rows (one per frame: time in s, the frame's ``BlockStats`` or None without a face) go into a ring buffer that
holds the last ``window_s + context_s`` seconds, so memory stays flat however long the stream runs. Every ``hop_s``
seconds of stream time the newest ``window_s`` seconds are read as offline reads a recording: the predictor's wave
over the whole ring and its one clean-up (``reading.predictor_wave``, ``signal.clean_wave``: detrend + band-pass), so the window is not read at
the filters' and the network's edges, then the spectrum of the window's part; its confidence comes from the same
evidence (``reading.assess`` on the window: its spectral peak share, the independent estimators and the skin ROIs),
which the confidence map was fitted on (10-s clips). The rate shown is the causal Viterbi tracker of the offline HR
track (``signal.track.OnlineTrack``) over the windows' spectra, so a live track and the offline ``hr_track`` of the
same video agree (``experiments/live/live_vs_offline.py``).

Times in s, rates in bpm.
"""

from __future__ import annotations

import warnings
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from pseudopulse.errors import PseudopulseError
from pseudopulse.predictors import Predictor
from pseudopulse.reading import assess, check_colour, predictor_wave, unreliable_reasons
from pseudopulse.signal import DEFAULT_BAND_HZ, clean_wave
from pseudopulse.signal.confidence import DEFAULT_THRESHOLD
from pseudopulse.signal.track import OnlineTrack, hr_track
from pseudopulse.stmap.types import MAX_FACE_GAP_S, STMap

MIN_FACE_SHARE = 0.5  # a window with a face on fewer of its frames gives no reading
DEFAULT_CONTEXT_S = 10.0  # seconds before the window that its wave is computed over (edges of filters and network)
WARMING_UP, READING, NO_FACE, NO_READING = "warming up", "reading", "no face", "no reading"


@dataclass(frozen=True)
class Update:
    """One heart-rate update of a stream. ``hr_bpm`` is None while the first window fills, when the window has too
    little face, or when it cannot be read (``status`` and ``reasons`` say which); ``confidence`` has the meaning of
    ``signal.confidence.CONFIDENCE_MEANING`` (0 without a reading) and ``reliable`` is ``confidence >=
    min_confidence``. ``latency_s``: wall time from the arrival of the window's newest frame to this update."""

    t_s: float  # stream time of the window's newest frame (s from the first frame)
    hr_bpm: float | None  # tracked rate (bpm)
    confidence: float
    reliable: bool
    latency_s: float
    status: str  # "reading", "warming up", "no face", "no reading"
    reasons: tuple[str, ...] = ()
    window_s: float = 0.0  # seconds of stream in the window
    face_share: float = 0.0  # share of the window's frames with a face
    peak_bpm: float | None = None  # the window's own spectral peak, before tracking (bpm)
    snr_db: float | None = None
    fps: float | None = None  # frame rate of the window (Hz)
    frames: int = 0  # frames processed so far
    frames_dropped: int = 0  # frames the source delivered faster than they could be processed
    estimator_bpm: dict = field(default_factory=dict)
    wave_t_s: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)  # (N,) s, the window's grid
    wave: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)  # (N,) its clean pulse wave

    def to_json(self) -> dict:
        """Plain JSON of the update (no wave)."""

        def num(x, nd):
            return None if x is None or not np.isfinite(x) else round(float(x), nd)

        return {
            "t_s": round(float(self.t_s), 3),
            "hr_bpm": num(self.hr_bpm, 2),
            "confidence": round(float(self.confidence), 3),
            "reliable": bool(self.reliable),
            "latency_s": round(float(self.latency_s), 3),
            "status": self.status,
            "reasons": list(self.reasons),
            "window_s": round(float(self.window_s), 3),
            "face_share": round(float(self.face_share), 3),
            "peak_bpm": num(self.peak_bpm, 2),
            "snr_db": num(self.snr_db, 2),
            "fps": num(self.fps, 3),
            "frames": int(self.frames),
            "frames_dropped": int(self.frames_dropped),
            "estimator_bpm": {k: num(v, 2) for k, v in self.estimator_bpm.items()},
        }


class _Ring:
    """The last ``span_s`` seconds of rows (time, block means, skin mean, skin correlation, pixel count, face)."""

    def __init__(self, n_rois: int, span_s: float):
        self.n_rois, self.span_s = n_rois, float(span_s)
        self.rows: deque = deque()

    def clear(self) -> None:
        self.rows.clear()

    def add(self, t_s: float, st, arrival_s: float) -> None:
        if st is None:
            nan3 = np.full(3, np.nan, np.float32)
            row = (t_s, np.full((self.n_rois, 3), np.nan, np.float32), nan3, np.full((3, 3), np.nan, np.float32), 0, False)
        else:
            row = (t_s, st.values, st.skin_mean, st.skin_corr, int(st.skin_count), True)
        self.rows.append((*row, arrival_s))
        while self.rows and self.rows[0][0] <= t_s - self.span_s:
            self.rows.popleft()

    @property
    def last_t(self) -> float:
        return self.rows[-1][0]

    def stmap(self, grid, meta: dict) -> STMap:
        t, values, mean, corr, count, valid, _ = zip(*self.rows)
        return STMap(values=np.stack(values).astype(np.float32), timestamps_s=np.asarray(t, np.float64),
                     skin_mean=np.stack(mean).astype(np.float32), skin_corr=np.stack(corr).astype(np.float32),
                     skin_count=np.asarray(count, np.int32), valid=np.asarray(valid, bool), grid=tuple(grid),
                     meta=meta)  # fmt: skip


class WindowEngine:
    """Rows in (``push``), an ``Update`` out every ``hop_s`` s of stream time (see the module docstring).

    ``predictor``: what reads the window's wave (``predictors.resolve_predictor``). ``roi``: "face" or "full-frame"
    (skin crops: confidence capped as offline). ``clock``: the monotonic clock (s) latencies are measured on."""

    def __init__(self, predictor: Predictor, *, grid=(5, 5), roi: str = "face", window_s: float = 10.0,
                 hop_s: float = 1.0, band_hz=DEFAULT_BAND_HZ, min_confidence: float = DEFAULT_THRESHOLD,
                 source: str = "<stream>", clock=None, context_s: float = DEFAULT_CONTEXT_S):  # fmt: skip
        if window_s < 5.0 or hop_s <= 0 or hop_s > window_s:
            raise ValueError(f"need window_s >= 5 s and 0 < hop_s <= window_s; got window_s={window_s}, hop_s={hop_s}")
        import time

        self.predictor, self.grid, self.roi = predictor, tuple(grid), roi
        self.window_s, self.hop_s, self.band_hz = float(window_s), float(hop_s), tuple(band_hz)
        self.min_confidence, self.source = float(min_confidence), source
        self.clock = clock or time.monotonic
        self.ring = _Ring(self.grid[0] * self.grid[1], self.window_s + max(0.0, float(context_s)))
        self.tracker = OnlineTrack(hop_s=self.hop_s)
        self.frames = 0
        self.frames_dropped = 0
        self._next_t: float | None = None  # stream time of the next update (None: a run of frames starts)
        self._restart_reason = ""

    def push(self, t_s: float, stats, arrival_s: float, *, roi_px: float = float("nan")) -> Update | None:
        """Add the row of the frame at stream time ``t_s`` (its ``BlockStats``, None without a face) that arrived
        at ``arrival_s`` (clock s); the ``Update`` when a hop boundary was passed, else None. ``roi_px``: the skin
        region's size (px) so far."""
        self.frames += 1
        if self.ring.rows and t_s - self.ring.last_t > MAX_FACE_GAP_S:
            self._restart_reason = (f"{t_s - self.ring.last_t:.1f} s of the stream went missing; the reading starts "
                                    "again")  # fmt: skip
            self.ring.clear()
            self.tracker.reset()
            self._next_t = None
        self.ring.add(float(t_s), stats, float(arrival_s))
        if self._next_t is None:
            self._next_t = float(t_s) + self.hop_s
        if t_s + 1e-9 < self._next_t:
            return None
        skipped = np.floor((t_s - self._next_t) / self.hop_s)  # behind by whole hops: skip them, keep the phase
        self._next_t += (skipped + 1) * self.hop_s
        return self._update(roi_px)

    # ------------------------------------------------------------------ one update
    def _update(self, roi_px: float) -> Update:
        rows = self.ring.rows
        times = np.fromiter((r[0] for r in rows), np.float64, len(rows))
        t_last, arrival = times[-1], rows[-1][-1]
        first = int(np.searchsorted(times, t_last - self.window_s, side="right"))  # the window: (t_last - window_s, t_last]
        n = len(times) - first
        dur = t_last - times[first]
        fps = (n - 1) / dur if n > 1 and dur > 0 else None
        span = dur * n / max(n - 1, 1)
        face = float(np.mean([r[5] for r in list(rows)[first:]]))
        base = dict(t_s=t_last, window_s=span, frames=self.frames, frames_dropped=self.frames_dropped, fps=fps,
                    face_share=face)  # fmt: skip
        if span < self.window_s - 1.5 / (fps or 30.0):
            reasons = [f"{span:.0f} of {self.window_s:.0f} s of video gathered"]
            if self._restart_reason:
                reasons.insert(0, self._restart_reason)
            return self._empty(WARMING_UP, reasons, arrival, **base)
        self._restart_reason = ""
        if face < MIN_FACE_SHARE:
            return self._empty(NO_FACE, [f"a face on only {100 * face:.0f} % of the last {self.window_s:.0f} s"], arrival, **base)
        ring = self.ring.stmap(self.grid, {"source": self.source, "roi": self.roi, "roi_px": roi_px})
        try:
            return self._read(ring, first, arrival, **base)
        except PseudopulseError as e:
            return self._empty(NO_READING, [str(e)], arrival, **base)

    def _read(self, ring: STMap, first: int, arrival: float, **base) -> Update:
        window = ring.slice(first, ring.n_frames)
        check_colour(window, self.source)
        if not ring.valid[:first].all():  # context without a face: read the window alone rather than bridge it
            ring, first = window, 0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a band narrowed for a low frame rate: the update's rate says it
            t_s, fs, raw = predictor_wave(ring, self.predictor)
            part = t_s >= window.timestamps_s[0] - 0.5 / fs
            t_s, wave = t_s[part], clean_wave(raw, fs, self.band_hz)[part]
            own = hr_track(wave, fs=fs, window_s=self.window_s, hop_s=self.hop_s, band_hz=self.band_hz, clean=False)
            hr = self.tracker.step(own.spectra[-1], own.freqs_bpm)
            a = assess(window, wave, fs, hr, self.predictor.name, band_hz=self.band_hz, wave_t_s=t_s,
                       min_confidence=self.min_confidence, window_s=self.window_s, hop_s=self.hop_s)  # fmt: skip
        conf = a.confidence
        reasons = unreliable_reasons(conf, hr, a.estimator_bpm, None)
        return Update(hr_bpm=hr, confidence=float(conf.value), reliable=bool(conf.reliable), status=READING,
                      reasons=tuple(reasons), latency_s=self.clock() - arrival, peak_bpm=float(own.peak_bpm[-1]),
                      snr_db=float(own.snr_db[-1]), estimator_bpm=dict(a.estimator_bpm), wave_t_s=t_s, wave=wave,
                      **base)  # fmt: skip

    def _empty(self, status: str, reasons: list[str], arrival: float, **base) -> Update:
        return Update(hr_bpm=None, confidence=0.0, reliable=False, status=status, reasons=tuple(reasons),
                      latency_s=self.clock() - arrival, **base)  # fmt: skip
