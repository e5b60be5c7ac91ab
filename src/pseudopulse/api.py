"""The front door: ``pseudopulse.predict(path) -> PredictResult`` (video -> STMap -> pulse wave -> heart rate)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from pseudopulse.errors import SignalError
from pseudopulse.predictors import MODEL, resolve_predictor
from pseudopulse.reading import read_stmap
from pseudopulse.signal import DEFAULT_BAND_HZ, detect_beats
from pseudopulse.signal.confidence import CONFIDENCE_MEANING, DEFAULT_THRESHOLD, hrv_quality

MIN_DURATION_S = 5.0  # shorter clips give too few beats for a spectral heart rate
DEFAULT_METHOD = MODEL  # the shipped label-free model (pseudopulse/weights/MODEL_CARD.md)


@dataclass(frozen=True)
class PredictResult:
    """A heart rate with how far it can be believed. ``confidence`` is the estimated probability that ``hr_bpm`` is
    within 5 bpm of a contact PPG (``CONFIDENCE_MEANING``); ``reliable`` is ``confidence >= min_confidence`` and
    ``reasons`` says in plain words why a reading is not. The HR track has one rate and one confidence per window.
    HRV (``sdnn_ms``, ``rmssd_ms``) is NaN unless the beats pass their checks (``hrv_withheld`` names those that
    failed)."""

    hr_bpm: float  # heart rate (bpm), peak of the wave's PSD inside band_hz
    snr_db: float  # power at HR and its harmonic over the rest of the band (de Haan 2013)
    confidence: float  # 0..1, estimated P(|hr_bpm - contact-PPG HR| <= 5 bpm)
    reliable: bool  # confidence >= min_confidence
    min_confidence: float
    reasons: tuple[str, ...]  # why the reading is not reliable (empty when it is)
    method: str
    fps: float  # mean frame rate of the analysed video (Hz)
    n_frames: int
    duration_s: float
    face_lost_s: float  # seconds without a face (held/interpolated or refused)
    timestamps_s: np.ndarray  # (T,) uniform time grid of ``wave`` (s)
    wave: np.ndarray  # (T,) detrended, band-passed pulse wave (arbitrary units, standardised)
    band_hz: tuple[float, float]
    track_t_s: np.ndarray  # (K,) centre of each track window (s from the start)
    track_hr_bpm: np.ndarray  # (K,) heart rate of each window (bpm; Viterbi path over the window spectra)
    track_confidence: np.ndarray  # (K,) confidence of each window (same meaning as ``confidence``)
    track_window_s: float
    estimator_bpm: dict  # the independent rates the reading was checked against {method: bpm}
    sdnn_ms: float  # NaN unless the HRV checks pass
    rmssd_ms: float  # NaN unless the HRV checks pass
    hrv_withheld: str  # '' when HRV is reported, else the failed checks
    n_beats: int
    source: str
    meta: dict = field(default_factory=dict)

    def hr_track(self) -> list[dict]:
        """The HR track as ``[{"t_s", "hr_bpm", "confidence"}]`` (plain JSON)."""
        return [{"t_s": round(float(t), 3), "hr_bpm": round(float(h), 2), "confidence": round(float(c), 3)}
                for t, h, c in zip(self.track_t_s, self.track_hr_bpm, self.track_confidence)]  # fmt: skip

    def summary(self) -> dict:
        """Plain-JSON summary (no arrays but the HR track)."""

        def num(x, nd):
            return None if x is None or not np.isfinite(x) else round(float(x), nd)

        return {
            "source": self.source,
            "hr_bpm": num(self.hr_bpm, 2),
            "confidence": num(self.confidence, 3),
            "reliable": bool(self.reliable),
            "min_confidence": self.min_confidence,
            "confidence_meaning": CONFIDENCE_MEANING,
            "reasons": list(self.reasons),
            "snr_db": num(self.snr_db, 2),
            "method": self.method,
            "estimator_bpm": {k: num(v, 2) for k, v in self.estimator_bpm.items()},
            "fps": num(self.fps, 3),
            "n_frames": self.n_frames,
            "duration_s": num(self.duration_s, 3),
            "face_lost_s": num(self.face_lost_s, 3),
            "band_hz": list(self.band_hz),
            "n_beats": self.n_beats,
            "sdnn_ms": num(self.sdnn_ms, 1),
            "rmssd_ms": num(self.rmssd_ms, 1),
            "hrv_withheld": self.hrv_withheld or None,
            "hr_track_window_s": self.track_window_s,
            "hr_track": self.hr_track(),
            "face_detector": self.meta.get("detector"),  # the face models + the runtime that ran them (None: full-frame)
            **_read_loss_summary(self.meta),  # frames_lost, gaps_s, missing_end_s, read_warning
        }


def _read_loss_summary(meta: dict) -> dict:
    from pseudopulse.stmap.extract import read_loss_summary

    return read_loss_summary(meta)


def predict_stmap(
    stmap,
    method: str = DEFAULT_METHOD,
    band_hz: tuple[float, float] = DEFAULT_BAND_HZ,
    source: str = "",
    model: str | Path | None = None,
    min_confidence: float = DEFAULT_THRESHOLD,
) -> PredictResult:
    """Heart rate from an already extracted STMap (``method``, ``model`` and ``min_confidence`` as for ``predict``)."""
    if stmap.fs is None or stmap.duration_s < MIN_DURATION_S:
        raise SignalError(
            f"{source or 'video'}: {stmap.duration_s:.1f} s of video is too short; at least {MIN_DURATION_S:.0f} s is needed"
        )
    r = read_stmap(stmap, method, model=model, band_hz=band_hz, min_confidence=min_confidence, source=source)
    wave = (r.clean_wave - r.clean_wave.mean()) / (r.clean_wave.std() + 1e-12)
    beats = detect_beats(wave, r.fs, r.hr_bpm)
    hrv = hrv_quality(beats.peak_times_s, hr_bpm=r.hr_bpm, confidence=r.confidence.value, snr_db=r.snr_db)
    return PredictResult(
        hr_bpm=r.hr_bpm,
        snr_db=r.snr_db,
        confidence=r.confidence.value,
        reliable=r.reliable,
        min_confidence=float(min_confidence),
        reasons=tuple(r.reasons()),
        method=resolve_predictor(method, model).name,
        fps=float(stmap.fs),
        n_frames=stmap.n_frames,
        duration_s=stmap.duration_s,
        face_lost_s=stmap.lost_s,
        timestamps_s=r.t_s - r.t_s[0],
        wave=wave,
        band_hz=tuple(band_hz),
        track_t_s=r.track.t_s,
        track_hr_bpm=r.track.hr_bpm,
        track_confidence=r.track_confidence,
        track_window_s=float(r.track.window_s),
        estimator_bpm=dict(r.estimator_bpm),
        sdnn_ms=beats.sdnn_ms if hrv.ok else float("nan"),
        rmssd_ms=beats.rmssd_ms if hrv.ok else float("nan"),
        hrv_withheld="" if hrv.ok else hrv.reason(),
        n_beats=len(beats.peak_times_s),
        source=source,
        meta=dict(stmap.meta),
    )


def predict(
    path: str | Path,
    method: str = DEFAULT_METHOD,
    *,
    model: str | Path | None = None,
    roi: str = "face",
    band_hz: tuple[float, float] = DEFAULT_BAND_HZ,
    fps: float | None = None,
    cache_dir: str | Path | None = None,
    progress: Callable[[int, int | None], None] | None = None,
    min_confidence: float = DEFAULT_THRESHOLD,
) -> PredictResult:
    """Heart rate of the person in a video file or frame folder.

    ``method``: ``model`` (default: the shipped label-free network, or the network in the model file ``model`` from
    ``pseudopulse train``/``adapt``) or a training-free method (``pos``, ``chrom``, ``2sr``, ...; see
    ``pseudopulse.predictors.predictor_names()``). ``roi``: ``face`` (detect and track a face) or ``full-frame``
    (the video is already a skin crop). ``band_hz``: heart-rate search band in Hz. ``fps`` overrides timestamps
    (frame folders without timestamps). ``cache_dir``: folder of cached STMaps. ``min_confidence``: the confidence
    (0..1) at or above which a reading is marked ``reliable``. Raises a ``PseudopulseError`` subclass with a
    specific message on bad input.
    """
    from pseudopulse.stmap import extract_stmap

    resolve_predictor(method, model)  # fail fast on an unknown method or a bad model file, before decoding
    stmap = extract_stmap(path, roi=roi, fps=fps, cache_dir=cache_dir, progress=progress)
    return predict_stmap(stmap, method=method, band_hz=band_hz, source=str(path), model=model, min_confidence=min_confidence)
