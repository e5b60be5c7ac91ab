"""A reading: the heart rate of an STMap by one predictor, its HR track, and how far each can be believed.

``read_stmap(stmap, predictor)`` -> ``Reading``:

1. the predictor's wave on a uniform grid, read by ``signal.estimate_hr`` (the one read-out, also used for ground
   truth): ``hr_bpm`` and ``snr_db``;
2. an HR track of the same wave over sliding windows (``window_s`` long, ``hop_s`` apart; a Viterbi path through the
   window spectra, ``signal.track``);
3. independent evidence from the same span: the rates the other estimators (``CONFIDENCE_ESTIMATORS``: POS, CHROM,
   2SR, and the shipped model for a training-free method's reading) read, the rate each skin ROI of the STMap
   reads on its own (POS per block), and whether the blocks pulse in phase at the rate (``roi_coherence``), window
   by window;
4. a confidence (``signal.confidence``: the estimated probability that a reading is within 5 bpm of a contact PPG)
   for the whole reading and for every window, ``reliable`` (confidence >= ``min_confidence``) and, when it is not,
   the reasons in plain words.

``assess`` is steps 2–4 for any wave of an STMap (the evaluation judges each clip with it). Rates in bpm, times in s.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from pseudopulse.errors import PseudopulseError, SignalError
from pseudopulse.methods.pos import pos
from pseudopulse.predictors import MODEL, Predictor, resolve_predictor
from pseudopulse.signal import DEFAULT_BAND_HZ, HREstimate, estimate_hr, uniform_times
from pseudopulse.signal.confidence import (CENTRE, CONFIDENCE_MEANING, CONFIDENCE_TOL_BPM, DEFAULT_THRESHOLD, FEATURES,
                                           HALF_RATE_SHARE, MIN_ROI_COHERENCE, MIN_ROI_PX, SKIN_CROP_MAX_CONFIDENCE,
                                           Confidence, ReadingFeatures, colour_match, confidence_from_features,
                                           double_share, harmonic_ambiguity, roi_coherence, split_change, trim_agreement,
                                           track_range, window_confidence, window_half_rate, window_phasors,
                                           window_vote)  # fmt: skip
from pseudopulse.signal.postprocess import clean_wave
from pseudopulse.signal.track import HRTrack, effective_band, hr_track

CONFIDENCE_ESTIMATORS = ("pos", "chrom", "2sr")  # independent rates a reading is checked against
MIN_COLOUR_SPREAD = 0.5  # skin-mean channel differences (0..255) below this everywhere: the video has no colour


@dataclass(frozen=True)
class Reading:
    """One predictor's reading of an STMap: ``hr_bpm`` with its ``confidence`` (``CONFIDENCE_MEANING``), the wave
    it came from on the uniform grid ``t_s`` (rate ``fs`` Hz), the HR ``track`` with one confidence per window, and
    the rates of the independent estimators (``estimator_bpm``)."""

    hr_bpm: float
    snr_db: float
    confidence: Confidence
    t_s: np.ndarray  # (N,) s, uniform grid of the wave
    fs: float  # Hz
    wave: np.ndarray  # (N,) raw predictor wave on t_s
    clean_wave: np.ndarray  # (N,) the detrended, band-passed wave the rate was read from
    track: HRTrack
    track_confidence: np.ndarray  # (K,) confidence of each window of the track
    estimator_bpm: dict

    @property
    def reliable(self) -> bool:
        return self.confidence.reliable

    def reasons(self) -> list[str]:
        """Why the reading is not reliable, in plain words (empty when it is)."""
        return unreliable_reasons(self.confidence, self.hr_bpm, self.estimator_bpm, self.track)


def predictor_wave(stmap, predictor: Predictor) -> tuple[np.ndarray, float, np.ndarray]:
    """(t_s (N,), fs Hz, raw wave (N,)): the predictor's wave on its uniform grid. Raises ``SignalError`` where the
    predictor gives no wave a rate can be read from."""
    t_s, wave = predictor.uniform_wave(stmap)
    if len(t_s) < 2 or t_s[-1] <= t_s[0]:
        raise SignalError(f"predictor {predictor.name!r} returned {len(t_s)} grid sample(s); a heart rate needs a wave")
    return t_s, (len(t_s) - 1) / float(t_s[-1] - t_s[0]), wave


def read_wave(stmap, predictor: Predictor, band_hz=DEFAULT_BAND_HZ) -> tuple[np.ndarray, float, np.ndarray, HREstimate]:
    """(t_s (N,), fs Hz, raw wave (N,), its ``estimate_hr``): the predictor's wave on its uniform grid and the one
    read-out. Raises ``SignalError`` where the predictor or the read-out refuses the recording."""
    t_s, fs, wave = predictor_wave(stmap, predictor)
    return t_s, fs, wave, estimate_hr(wave, fs, band_hz)


def check_colour(stmap, source: str = "") -> None:
    """Refuse an STMap whose skin has no colour (R, G and B equal in every frame: a grayscale video); the pulse is a
    colour change, so such a video gives a rate of noise."""
    mean = np.asarray(stmap.skin_mean, dtype=np.float64)
    ok = np.all(np.isfinite(mean), axis=1)
    if ok.any():
        spread = np.abs(mean[ok] - mean[ok].mean(axis=1, keepdims=True)).max()
        if spread < MIN_COLOUR_SPREAD:
            raise SignalError(
                f"{source or 'video'}: the skin has no colour (R, G and B equal in every frame: a grayscale video); "
                "rPPG reads the pulse from colour changes, so record or export the video in colour"
            )


def _grid(stmap) -> tuple[np.ndarray, float]:
    filled = stmap.fill_gaps()
    return uniform_times(filled.timestamps_s, filled.fs), float(filled.fs)


def roi_waves(stmap, t_s: np.ndarray, fs: float):
    """The POS wave (N,) of every ROI block of ``stmap`` on the uniform grid ``t_s`` (rate ``fs`` Hz), one block at a
    time (an iterator of R waves: a long recording's (N, R) waves are never held); a wave of NaN for a block that
    cannot be read (dark, constant, or POS refuses it)."""
    filled = stmap.fill_gaps()
    for r in range(filled.values.shape[1]):
        columns = filled.roi_values(r)  # (T, 3) float64, read a slice of frames at a time
        trace = np.stack([np.interp(t_s, filled.timestamps_s, columns[:, c]) for c in range(3)], axis=1)
        wave = np.full(len(t_s), np.nan)
        if np.all(np.isfinite(trace)) and not np.any(trace.mean(axis=0) <= 1.0):
            try:
                wave = pos(trace, fs=fs)
            except SignalError:
                pass
        yield wave


def _readable(wave: np.ndarray) -> bool:
    """A wave a rate can be read from: finite everywhere and not constant."""
    return bool(np.all(np.isfinite(wave)) and np.std(wave) > 0)


def _wave_rate(wave: np.ndarray, fs: float, band_hz) -> float:
    if not _readable(wave):
        return float("nan")
    try:
        return float(estimate_hr(wave, fs, band_hz).hr_bpm)
    except SignalError:
        return float("nan")


def _other_waves(stmap, name: str, t_s: np.ndarray) -> dict[str, np.ndarray]:
    """{estimator: its wave on the STMap's uniform grid ``t_s`` (s)} for the estimators other than ``name``: the
    ``CONFIDENCE_ESTIMATORS``, and for a training-free method's reading also the shipped model (an estimator of
    another kind: where POS, CHROM and 2SR lock on the same harmonic of a slow pulse, it does not). One that refuses
    the span is left out (its absence lowers the agreement share's support)."""
    out = {}
    for other in CONFIDENCE_ESTIMATORS + (() if name == MODEL else (MODEL,)):
        if other == name:
            continue
        try:
            t, w = resolve_predictor(other).uniform_wave(stmap)
        except PseudopulseError:
            continue
        if len(w) != len(t_s) or not np.allclose(t, t_s):  # the model's own rate: read onto the method's grid
            w = np.interp(t_s, t, w)
        out[other] = w
    return out


def _tracks(waves, **track_kw) -> np.ndarray:
    """(M, K) own PSD peak (bpm) of each readable wave (an iterable of (N,) waves) in each track window; (0, K) when
    none can be read."""
    rows = [hr_track(w, **track_kw).peak_bpm for w in waves if _readable(w)]
    return np.array(rows) if rows else np.empty((0, 0))


def _roi_evidence(stmap, t_s: np.ndarray, track: HRTrack, hr_bpm: float, **track_kw) -> tuple[np.ndarray, np.ndarray]:
    """One pass over the STMap's ROI waves (``roi_waves``): ((M, K) each readable block's own PSD peak (bpm) per
    track window, (K, 2) the blocks' phase coherence (``roi_coherence``) per window at the window's rate and at
    ``hr_bpm``)."""
    lo_hi = effective_band(track_kw["band_hz"], track_kw["fs"])
    rates = np.column_stack([track.hr_bpm, np.full(track.n_windows, float(hr_bpm))])
    peaks, phasors, magnitudes = [], np.zeros(rates.shape, complex), np.zeros(rates.shape)
    for w in roi_waves(stmap, t_s, track_kw["fs"]):
        if not _readable(w):
            continue
        clean = clean_wave(w, track_kw["fs"], lo_hi)
        peaks.append(hr_track(clean, clean=False, **track_kw).peak_bpm)
        c = window_phasors(clean, track, rates)
        phasors += c
        magnitudes += np.abs(c)
    return (np.array(peaks) if peaks else np.empty((0, 0))), roi_coherence(phasors, magnitudes)


def _share_near(rates_bpm: np.ndarray, target_bpm) -> np.ndarray:
    """(K,) share of the rows of ``rates_bpm`` (M, K) within 5 bpm of ``target_bpm`` ((K,) or a number); NaN where
    there is no row (nothing could be read: no support)."""
    if rates_bpm.size == 0:
        return np.full(np.shape(np.atleast_1d(target_bpm)), np.nan)
    return np.mean(np.abs(rates_bpm - target_bpm) <= CONFIDENCE_TOL_BPM, axis=0)


def _window_face_share(valid: np.ndarray, t_frames: np.ndarray, track: HRTrack) -> np.ndarray:
    """(K,) share of the frames inside each track window (``t_frames`` in s from the first frame, increasing) with
    a face."""
    half = track.window_s / 2
    lo = np.searchsorted(t_frames, track.t_s - half, side="left")  # first frame at or after the window's start
    hi = np.searchsorted(t_frames, track.t_s + half, side="right")  # one past the last frame at or before its end
    with_face = np.concatenate([[0], np.cumsum(valid, dtype=np.int64)])
    return np.where(hi > lo, (with_face[hi] - with_face[lo]) / np.maximum(hi - lo, 1), 1.0)


def _skin_rgb(stmap, t_s: np.ndarray) -> np.ndarray:
    """(N, 3) skin-mean R, G, B of ``stmap`` (gaps filled) on the uniform grid ``t_s`` (s)."""
    filled = stmap.fill_gaps()
    mean = np.asarray(filled.skin_mean, dtype=np.float64)
    return np.stack([np.interp(t_s, filled.timestamps_s, mean[:, c]) for c in range(3)], axis=1)


SIGNATURE_FEATURES = {"colour_match", "double_share", "trim_agreement", "split_change"}


def signature_features(stmap, t_s: np.ndarray, wave: np.ndarray, track: HRTrack, hr_bpm: float) -> tuple[dict, dict]:
    """({name: (K,) per window at the track's rates}, {name: whole-reading value at ``hr_bpm``}) of the candidate
    features that look at the shape of the evidence rather than its agreement: ``colour_match`` (skin colour change at
    the rate vs blood), ``double_share`` (power at twice the rate), ``trim_agreement`` (the rate survives trimming
    the window) and ``split_change`` (bpm between the window's first and last 60 %). ``wave`` (N,) on ``t_s``; the
    whole-reading values are the means over the windows, like the other features."""
    rgb = _skin_rgb(stmap, t_s)
    clean = clean_wave(wave, track.fs, track.band_hz)
    splits = split_change(clean, track)  # (K,) bpm
    per_window = {"colour_match": colour_match(rgb, track, track.hr_bpm), "double_share": double_share(track, track.hr_bpm),
                  "trim_agreement": trim_agreement(clean, track, track.hr_bpm), "split_change": splits}  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # NaN (not measurable) in every window stays NaN
        whole = {"colour_match": float(np.nanmean(colour_match(rgb, track, hr_bpm))),
                 "double_share": float(np.nanmean(double_share(track, hr_bpm))),
                 "trim_agreement": float(np.mean(trim_agreement(clean, track, hr_bpm))),
                 "split_change": float(np.mean(splits))}  # fmt: skip
    return per_window, whole


@dataclass(frozen=True)
class Assessment:
    """How far a reading and each window of its track can be believed (see ``assess``)."""

    confidence: Confidence  # of the whole reading
    track: HRTrack  # of the predictor's wave
    track_confidence: np.ndarray  # (K,)
    estimator_bpm: dict  # {estimator: its rate of the whole span, bpm}


def assess(stmap, wave: np.ndarray, fs: float, hr_bpm: float, predictor_name: str, *, band_hz=DEFAULT_BAND_HZ,
           min_confidence: float = DEFAULT_THRESHOLD, window_s: float = 10.0, hop_s: float = 1.0,
           wave_t_s: np.ndarray | None = None, candidates: bool = False) -> Assessment:  # fmt: skip
    """Confidence of the reading ``hr_bpm`` (bpm) that ``predictor_name`` made from ``wave`` (N,), its wave of
    ``stmap`` on the STMap's uniform grid at ``fs`` Hz (or at the times ``wave_t_s``, s, from which it is read onto
    that grid), and of every window of its HR track.

    Each window is judged on its own evidence: the share of its band power at its rate, and the shares of the
    other estimators and of the skin ROIs whose own peak in that window lies within 5 bpm of it. The whole reading
    is judged on the same features measured at ``hr_bpm`` and averaged over the windows: for a clip of one window
    the two are the same, which is what the confidence map was fitted on (10-s clips). ``candidates``: also compute
    the candidate features the map does not use (``signature_features``; for fitting a new map), which cost time
    and memory over a whole recording."""
    t_s, grid_fs = _grid(stmap)
    if wave_t_s is not None:
        wave, fs = np.interp(t_s, np.asarray(wave_t_s, dtype=np.float64), np.asarray(wave, dtype=np.float64)), grid_fs
    if len(t_s) != len(wave):
        raise SignalError(f"assess: the wave has {len(wave)} samples but the STMap's grid has {len(t_s)}")
    track_kw = dict(fs=fs, window_s=window_s, hop_s=hop_s, band_hz=band_hz)
    others = _other_waves(stmap, predictor_name, t_s)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a band narrowed for a low frame rate is reported once, by estimate_hr
        track = hr_track(wave, tracked=True, **track_kw)
        other_peaks = _tracks(list(others.values()), **track_kw)
        roi_peaks, coherence = _roi_evidence(stmap, t_s, track, hr_bpm, **track_kw)
        estimator_bpm = {k: _wave_rate(w, fs, band_hz) for k, w in others.items()}
    valid = np.asarray(stmap.valid, bool)
    face = _window_face_share(valid, stmap.timestamps_s - stmap.timestamps_s[0], track)
    roi_px = float(stmap.meta.get("roi_px", float("nan")) or float("nan"))
    crop = stmap.meta.get("roi") == "full-frame"
    sig_windows, sig_whole = {}, {}
    if candidates or SIGNATURE_FEATURES & set(FEATURES):  # candidates for a refit; the shipped map reads none of them
        sig_windows, sig_whole = signature_features(stmap, t_s, wave, track, hr_bpm)
    track_conf = window_confidence(track, estimator_agreement=_share_near(other_peaks, track.hr_bpm),
                                   roi_agreement=_share_near(roi_peaks, track.hr_bpm), roi_coherence=coherence[:, 0],
                                   face_valid=face, roi_px=roi_px, skin_crop=crop,
                                   harmonic_ambiguity=window_half_rate(track), extra=sig_windows)  # fmt: skip
    near = np.abs(track.freqs_bpm - hr_bpm) <= track.tol_bpm
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a mean of no readable window is NaN: no support
        feats = ReadingFeatures(
            peak_share=float(np.mean(track.spectra[:, near].sum(axis=1))),
            estimator_agreement=float(np.nanmean(_share_near(other_peaks, hr_bpm))),
            roi_agreement=float(np.nanmean(_share_near(roi_peaks, hr_bpm))),
            roi_coherence=float(np.nanmean(coherence[:, 1])) if np.any(np.isfinite(coherence[:, 1])) else float("nan"),
            face_valid=float(np.mean(valid)) if len(valid) else float("nan"),
            track_agreement=float(np.mean(np.abs(track.peak_bpm - hr_bpm) <= CONFIDENCE_TOL_BPM)),
            roi_px=roi_px,
            skin_crop=crop,
            harmonic_ambiguity=harmonic_ambiguity(track, hr_bpm),
            window_vote=window_vote(track, track_conf, hr_bpm),
            **sig_whole,
        )
    return Assessment(confidence_from_features(feats, threshold=min_confidence), track, track_conf, estimator_bpm)


def read_stmap(
    stmap,
    predictor: Predictor | str,
    *,
    model=None,
    band_hz: tuple[float, float] = DEFAULT_BAND_HZ,
    min_confidence: float = DEFAULT_THRESHOLD,
    window_s: float = 10.0,
    hop_s: float = 1.0,
    source: str = "",
    candidates: bool = False,
) -> Reading:
    """The reading of ``stmap`` by ``predictor`` (a name, with ``model`` a model file for "model", or a
    ``Predictor``), with its track and confidences (see the module docstring). Raises ``SignalError`` for a video
    without colour, or where the predictor or the read-out refuses the recording."""
    pred = resolve_predictor(predictor, model) if isinstance(predictor, str) else predictor
    check_colour(stmap, source)
    t_s, fs, wave, est = read_wave(stmap, pred, band_hz)
    a = assess(stmap, wave, fs, est.hr_bpm, pred.name, band_hz=band_hz, min_confidence=min_confidence, candidates=candidates,
               window_s=window_s, hop_s=hop_s)  # fmt: skip
    return Reading(hr_bpm=float(est.hr_bpm), snr_db=float(est.snr_db), confidence=a.confidence, t_s=t_s, fs=fs,
                   wave=wave, clean_wave=est.wave, track=a.track, track_confidence=a.track_confidence,
                   estimator_bpm=a.estimator_bpm)  # fmt: skip


def unreliable_reasons(confidence: Confidence, hr_bpm: float, estimator_bpm: dict, track: HRTrack | None = None) -> list[str]:
    """Plain-language reasons a reading falls below its threshold: each piece of evidence that speaks against it."""
    if confidence.reliable:
        return []
    f = confidence.features
    out = [f"confidence {confidence.value:.2f} is below {confidence.threshold:.2f} ({CONFIDENCE_MEANING})"]
    if track is not None and track.n_windows > 1:
        lo, hi = track_range(track)
        if hi - lo > 2 * CONFIDENCE_TOL_BPM:
            out.append(f"the heart rate changes over the recording ({lo:.0f}-{hi:.0f} bpm): one number does not "
                       "describe it, read the HR track")  # fmt: skip
    if np.isfinite(f.roi_px) and f.roi_px < MIN_ROI_PX:
        side = int(np.sqrt(MIN_ROI_PX))
        out.append(f"the skin region is only {f.roi_px:.0f} px (about {np.sqrt(f.roi_px):.0f}×{np.sqrt(f.roi_px):.0f}); "
                   f"a reading needs at least {MIN_ROI_PX:.0f} px ({side}×{side}): use a larger crop or a closer face")  # fmt: skip
    if f.skin_crop:
        out.append(f"a skin crop (--roi full-frame): the confidence is calibrated on faces, and on the skin crops we "
                   f"measured most readings were wrong, so a crop reading is capped at {SKIN_CROP_MAX_CONFIDENCE:.1f}")  # fmt: skip
    if np.isfinite(f.face_valid) and f.face_valid < 0.95:
        out.append(f"no face on {100 * (1 - f.face_valid):.0f} % of the frames")
    dissent = {k: v for k, v in estimator_bpm.items() if not (np.isfinite(v) and abs(v - hr_bpm) <= CONFIDENCE_TOL_BPM)}
    if dissent:
        read = ", ".join(f"{k.upper()} {v:.0f}" if np.isfinite(v) else f"{k.upper()} nothing" for k, v in dissent.items())
        out.append(f"other methods read other rates ({read} bpm)")
    if not np.isfinite(f.roi_agreement) or f.roi_agreement < CENTRE["roi_agreement"]:
        share = 0.0 if not np.isfinite(f.roi_agreement) else f.roi_agreement
        out.append(f"only {100 * share:.0f} % of the skin regions show this rate")
    if np.isfinite(f.roi_coherence) and f.roi_coherence < MIN_ROI_COHERENCE:
        out.append(f"the skin regions do not pulse together at this rate (phase coherence {f.roi_coherence:.2f}, "
                   f"below {MIN_ROI_COHERENCE:.2f}): there may be no pulse in view, only light or motion")  # fmt: skip
    if f.harmonic_ambiguity == 1.0:
        out.append(f"the spectrum holds at least {100 * HALF_RATE_SHARE:.0f} % of this peak's power at half the rate "
                   f"({hr_bpm / 2:.0f} bpm): this may be the second harmonic of a pulse at half the rate")  # fmt: skip
    if f.peak_share < CENTRE["peak_share"]:
        out.append(f"the spectrum has no clear peak (the peak holds {100 * f.peak_share:.0f} % of the band's power)")
    return out
