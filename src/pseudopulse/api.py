"""The front door: ``pseudopulse.predict(path) -> PredictResult`` (video -> STMap -> pulse wave -> heart rate)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from pseudopulse.errors import SignalError
from pseudopulse.signal import DEFAULT_BAND_HZ, detect_beats, estimate_hr, uniform_times

MIN_DURATION_S = 5.0  # shorter clips give too few beats for a spectral heart rate
DEFAULT_METHOD = "model"  # the shipped label-free model (pseudopulse/weights/MODEL_CARD.md)


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
    checkpoint: str | Path | None = None,
) -> PredictResult:
    """Heart rate from an already extracted STMap."""
    from pseudopulse.eval.predictors import resolve_predictor

    fs = stmap.fs
    if fs is None or stmap.duration_s < MIN_DURATION_S:
        raise SignalError(
            f"{source or 'video'}: {stmap.duration_s:.1f} s of video is too short; at least {MIN_DURATION_S:.0f} s is needed"
        )
    predictor = resolve_predictor(method, checkpoint)
    raw = np.asarray(predictor.fn(stmap), dtype=np.float64)
    ts = stmap.timestamps_s
    grid = uniform_times(ts, fs)
    uniform = np.interp(grid, ts, raw)  # VFR video: the wave onto a uniform grid before spectra
    est = estimate_hr(uniform, fs, band_hz)
    wave = (est.wave - est.wave.mean()) / (est.wave.std() + 1e-12)
    beats = detect_beats(wave, fs, est.hr_bpm)
    return PredictResult(
        hr_bpm=est.hr_bpm,
        snr_db=est.snr_db,
        method=method,
        fps=float(fs),
        n_frames=stmap.n_frames,
        duration_s=stmap.duration_s,
        face_lost_s=stmap.lost_s,
        timestamps_s=grid - grid[0],
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
    checkpoint: str | Path | None = None,
    roi: str = "face",
    band_hz: tuple[float, float] = DEFAULT_BAND_HZ,
    fps: float | None = None,
    cache_dir: str | Path | None = None,
    progress: Callable[[int, int | None], None] | None = None,
) -> PredictResult:
    """Heart rate of the person in a video file or frame folder.

    ``method``: ``model`` (default: the shipped label-free model, or ``checkpoint`` — a model file from
    ``pseudopulse train``/``adapt``) or a training-free method (``pos``, ``chrom``, ``2sr``, ...; see
    ``pseudopulse.methods.METHODS``). ``roi``: ``face`` (detect and track a face) or
    ``full-frame`` (the video is already a skin crop). ``band_hz``: heart-rate search band in Hz.
    ``fps`` overrides timestamps (frame folders without timestamps). Raises a ``PseudopulseError``
    subclass with a specific message on bad input.
    """
    from pseudopulse.eval.predictors import resolve_predictor
    from pseudopulse.stmap import extract_stmap

    resolve_predictor(method, checkpoint)  # fail fast on an unknown method or a bad model file, before decoding
    stmap = extract_stmap(path, roi=roi, fps=fps, cache_dir=cache_dir, progress=progress)
    return predict_stmap(stmap, method=method, band_hz=band_hz, source=str(path), checkpoint=checkpoint)
