"""The front door: ``pseudopulse.predict(path) -> PredictResult`` (video -> STMap -> pulse wave -> heart rate)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from pseudopulse.errors import SignalError
from pseudopulse.predictors import MODEL, resolve_predictor
from pseudopulse.signal import DEFAULT_BAND_HZ, detect_beats, estimate_hr

MIN_DURATION_S = 5.0  # shorter clips give too few beats for a spectral heart rate
DEFAULT_METHOD = MODEL  # the shipped label-free model (pseudopulse/weights/MODEL_CARD.md)


@dataclass(frozen=True)
class PredictResult:
    hr_bpm: float  # heart rate, peak of the wave's PSD inside band_hz
    snr_db: float  # power at HR and its harmonic over the rest of the band (de Haan 2013)
    method: str
    fps: float  # mean frame rate of the analysed video (Hz)
    n_frames: int
    duration_s: float
    face_lost_s: float  # seconds without a face (held/interpolated or refused)
    timestamps_s: np.ndarray  # (T,) uniform time grid of ``wave`` (s)
    wave: np.ndarray  # (T,) detrended, band-passed pulse wave (arbitrary units, standardised)
    band_hz: tuple[float, float]
    sdnn_ms: float
    rmssd_ms: float
    n_beats: int
    source: str
    meta: dict = field(default_factory=dict)

    def summary(self) -> dict:
        """Plain-JSON summary (no arrays)."""

        def num(x, nd):
            return None if x is None or not np.isfinite(x) else round(float(x), nd)

        return {
            "source": self.source,
            "hr_bpm": num(self.hr_bpm, 2),
            "snr_db": num(self.snr_db, 2),
            "method": self.method,
            "fps": num(self.fps, 3),
            "n_frames": self.n_frames,
            "duration_s": num(self.duration_s, 3),
            "face_lost_s": num(self.face_lost_s, 3),
            "band_hz": list(self.band_hz),
            "n_beats": self.n_beats,
            "sdnn_ms": num(self.sdnn_ms, 1),
            "rmssd_ms": num(self.rmssd_ms, 1),
        }


def predict_stmap(
    stmap,
    method: str = DEFAULT_METHOD,
    band_hz: tuple[float, float] = DEFAULT_BAND_HZ,
    source: str = "",
    model: str | Path | None = None,
) -> PredictResult:
    """Heart rate from an already extracted STMap (``method`` and ``model`` as for ``predict``)."""
    if stmap.fs is None or stmap.duration_s < MIN_DURATION_S:
        raise SignalError(
            f"{source or 'video'}: {stmap.duration_s:.1f} s of video is too short; at least {MIN_DURATION_S:.0f} s is needed"
        )
    predictor = resolve_predictor(method, model)
    t_s, raw = predictor.uniform_wave(stmap)
    fs = (len(t_s) - 1) / (t_s[-1] - t_s[0])  # the grid's rate (Hz): the video's, or the network's
    est = estimate_hr(raw, fs, band_hz)
    wave = (est.wave - est.wave.mean()) / (est.wave.std() + 1e-12)
    beats = detect_beats(wave, fs, est.hr_bpm)
    return PredictResult(
        hr_bpm=est.hr_bpm,
        snr_db=est.snr_db,
        method=predictor.name,
        fps=float(stmap.fs),
        n_frames=stmap.n_frames,
        duration_s=stmap.duration_s,
        face_lost_s=stmap.lost_s,
        timestamps_s=t_s - t_s[0],
        wave=wave,
        band_hz=tuple(band_hz),
        sdnn_ms=beats.sdnn_ms,
        rmssd_ms=beats.rmssd_ms,
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
) -> PredictResult:
    """Heart rate of the person in a video file or frame folder.

    ``method``: ``model`` (default: the shipped label-free network, or the network in the model file ``model`` from
    ``pseudopulse train``/``adapt``) or a training-free method (``pos``, ``chrom``, ``2sr``, ...; see
    ``pseudopulse.predictors.predictor_names()``). ``roi``: ``face`` (detect and track a face) or ``full-frame``
    (the video is already a skin crop). ``band_hz``: heart-rate search band in Hz. ``fps`` overrides timestamps
    (frame folders without timestamps). ``cache_dir``: folder of cached STMaps. Raises a ``PseudopulseError``
    subclass with a specific message on bad input.
    """
    from pseudopulse.stmap import extract_stmap

    resolve_predictor(method, model)  # fail fast on an unknown method or a bad model file, before decoding
    stmap = extract_stmap(path, roi=roi, fps=fps, cache_dir=cache_dir, progress=progress)
    return predict_stmap(stmap, method=method, band_hz=band_hz, source=str(path), model=model)
