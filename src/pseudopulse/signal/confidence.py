"""Confidence of a heart-rate reading, and the checks an HRV figure must pass.

Meaning (one, stated once): ``confidence`` is the estimated probability that the reading is within
``CONFIDENCE_TOL_BPM`` = 5 bpm of the heart rate a contact PPG gives over the same span. It is a logistic map of three
label-free features (``FEATURES``) with coefficients FITTED on 48 generated 10-s clips (``pseudopulse.synth``:
24 pulse-free faces with motion and light changes, 12 pulsed, 12 at 45-60 bpm) plus the 63 10-s clips of the 11
real UBFC-rPPG recordings, stored below. Fitted on every subject, so judge it by the leave-one-subject-out
numbers in experiments/trust/FINDINGS.md (AUROC 0.85 on real clips; 96 % of pulse-free clips below 0.3).
These constants were fitted on features the experiments computed with their own code; the fit now reads the
product's own features (``pseudopulse.reading.assess``), and a refit of the same three features through it, like
every candidate set with the features below, did not pass the guards declared for replacing the map
(experiments/LOG.md, eleventh round; FINDINGS.md part d), so these stay. Refit with::

    cd <repo> && PYTHONPATH=src python -m experiments.trust.collect features ubfc synth fresh bias  # product features
    cd <repo> && PYTHONPATH=src python -m experiments.trust.confidence_eval      # LOSO, rule threshold, guards
    cd <repo> && PYTHONPATH=src python -m experiments.trust.fit_confidence --set A  # prints FEATURES, COEF, INTERCEPT

Every feature is computed from the signals a reading already has: the spectra of its own wave (``HRTrack``), the
rates that independent estimators (POS, CHROM, 2SR waves of the same STMap) read from the same span, the rates of
the STMap's skin ROIs read one by one and their phase coherence at the read rate, and the face-found mask. Nothing reads a label. ``pseudopulse.reading``
gathers them for a prediction; this module only maps features to a confidence.

Contract: waves ``(T,)``, STMap values ``(T, R, 3)`` raw colour means, time on axis 0, ``fs`` in Hz, rates in bpm.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from pseudopulse.signal.track import TRACK_BLOCK, HRTrack

CONFIDENCE_TOL_BPM = 5.0
CONFIDENCE_MEANING = (
    "estimated probability that the heart-rate reading is within 5 bpm of the contact-PPG heart rate "
    "over the same span"
)

# Logistic map: confidence = sigmoid(INTERCEPT + sum_i COEF[name_i] * (feature_i - CENTRE[name_i]) / SCALE[name_i]).
# Fitted by experiments/trust/fit_confidence.py (see the module docstring); do not hand-edit. CENTRE/SCALE also hold
# the candidate features (colour_match, double_share, trim_agreement, harmonic_ambiguity) the fit may try.
FEATURES = ("peak_share", "estimator_agreement", "roi_agreement")
CENTRE = {"peak_share": 0.5, "estimator_agreement": 0.5, "roi_agreement": 0.5, "roi_coherence": 0.5,
          "colour_match": 0.5, "double_share": 0.5, "trim_agreement": 0.5, "harmonic_ambiguity": 0.5}  # fmt: skip
SCALE = {"peak_share": 0.25, "estimator_agreement": 0.5, "roi_agreement": 0.5, "roi_coherence": 0.25,
         "colour_match": 0.5, "double_share": 0.5, "trim_agreement": 0.5, "harmonic_ambiguity": 0.5}  # fmt: skip
COEF = {"peak_share": 0.8632, "estimator_agreement": 1.4997, "roi_agreement": 0.9690}
INTERCEPT = 1.0095
# Reading threshold: a reading below it is reported as not reliable. The rule declared for it: the lowest threshold at
# which readings marked reliable on held-out real clips are within 5 bpm at least 95 % of the time. Leave-one-UBFC-
# subject-out (`python -m experiments.trust.confidence_eval`, experiments/trust/results/confidence.json): 0.80 kept
# 43 % of the real clips with 92.6 % within 5 bpm (fails the rule); 0.85 kept 27 % with 100 % (MAE 1.08 bpm); 23 of 24
# pulse-free generated clips fall below either.
DEFAULT_THRESHOLD = 0.85
# A skin region smaller than this (source pixels; 50 × 50) gives no reading worth trusting: the pulse is a ~0.1 %
# colour change, the noise of a mean falls only as 1/sqrt(pixels), and compression artefacts of a small patch are
# shared by every method and block, so agreement between them stops being evidence (25×25-px cheek crops: the
# methods agreed on wrong rates; docs/trust.md).
MIN_ROI_PX = 2500.0
# Skin crops (``roi="full-frame"``) lie outside what the map was fitted on (faces). On the 135 10-s clips of the
# bias_eval_rppg skin crops, 6 % of the model's readings and 11 % of POS's were within 5 bpm (`python -m
# experiments.trust.product_check --sets bias`), and wrong readings passed the face-fitted threshold; so a crop's
# confidence is capped at this value and a crop reading is never marked reliable.
SKIN_CROP_MAX_CONFIDENCE = 0.2
# Pulse-presence gate: a reading whose skin blocks do not pulse in phase at its rate (``roi_coherence`` below
# MIN_ROI_COHERENCE) may have no pulse behind it at all (a face without a pulse, light or motion at a pulse-like
# rate), whatever the methods agree on; its confidence is capped at LOW_COHERENCE_MAX_CONFIDENCE. Both come from the
# UBFC clips by the rule declared in experiments/LOG.md (twelfth round): the 5th percentile of the coherence of the
# clips read within 5 bpm, and the share within 5 bpm of the clips below it. Recompute with
# `python -m experiments.trust.coherence_gate` (prints both; do not hand-edit).
MIN_ROI_COHERENCE = 0.4796
LOW_COHERENCE_MAX_CONFIDENCE = 0.5000
# Half-rate gate: a reading whose spectrum holds at least HALF_RATE_SHARE of the read peak's power at half the rate
# (``harmonic_ambiguity``; the half rate inside the band) may be reading the pulse's second harmonic (a slow pulse
# with a strong harmonic: every method then agrees on twice the rate); its confidence is capped at
# HALF_RATE_MAX_CONFIDENCE, the share within 5 bpm of the UBFC clips with it (rule declared in experiments/LOG.md,
# seventeenth round; `python -m experiments.trust.gates 17` prints it; do not hand-edit).
HALF_RATE_SHARE = 0.3
HALF_RATE_MAX_CONFIDENCE = 0.5
# ``split_change`` (a candidate) compares the first and last SPLIT_SHARE of each window (eighteenth round, LOG.md).
SPLIT_SHARE = 0.6


@dataclass(frozen=True)
class ReadingFeatures:
    """Label-free features of one reading (all in 0..1, NaN = not available).

    ``peak_share``: mean over the reading's windows of the fraction of band power within ±tol of the read rate.
    ``autocorr``: mean highest normalised autocorrelation at a beat lag (open-rppg SQI).
    ``track_agreement``: share of windows whose own spectral peak lies within 5 bpm of the reading.
    ``estimator_agreement``: share of independent estimators whose rate lies within 5 bpm of the reading.
    ``roi_agreement``: share of STMap ROIs whose own POS wave peaks within 5 bpm of the reading.
    ``roi_coherence``: how far the STMap ROIs pulse in phase at the read rate (``roi_coherence``; 1 = every skin
    block in step, ~0.2 for 25 blocks of unrelated noise).
    ``face_valid``: share of frames on which a face was found.
    ``harmonic_ambiguity``: 1 when the spectrum holds ≥ 30 % of the peak's power at half the read rate
    (the true rate may be half), else 0.
    ``roi_px``: area of the skin region in source pixels (the face mesh's outline, or the frame for skin crops).
    ``colour_match``, ``double_share``, ``trim_agreement``: candidate features (functions of the same names below),
    computed when asked; only the names in ``FEATURES`` enter the map. ``window_vote``: for a steady reading of two
    or more non-overlapping windows, the highest confidence among those windows that read its rate (``window_vote``);
    the reading's confidence is at least that (NaN: one window, or not steady). ``split_change`` (candidate, eighteenth
    round): bpm between the spectral peaks of the first and the last ``SPLIT_SHARE`` of the reading's windows (mean
    over the windows): a rate that changes inside the window.
    """

    peak_share: float = float("nan")
    autocorr: float = float("nan")
    track_agreement: float = float("nan")
    estimator_agreement: float = float("nan")
    roi_agreement: float = float("nan")
    roi_coherence: float = float("nan")  # see ``roi_coherence``: the skin blocks pulse in phase at the rate
    face_valid: float = float("nan")
    harmonic_ambiguity: float = float("nan")
    roi_px: float = float("nan")  # area of the skin region in source pixels (NaN: unknown)
    skin_crop: bool = False  # the input is a skin crop (roi="full-frame"), not a tracked face
    colour_match: float = float("nan")  # see ``colour_match``: the skin's colour change at the rate looks like blood
    double_share: float = float("nan")  # see ``double_share``: power at twice the rate (the rate may be half the truth)
    trim_agreement: float = float("nan")  # see ``trim_agreement``: the rate survives trimming 10 % off either end
    split_change: float = float("nan")  # see ``split_change``: bpm between the window's first and last 60 % (candidate)
    window_vote: float = float("nan")  # see ``window_vote``: the best agreeing non-overlapping window (long readings)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Confidence:
    """A confidence in [0, 1] (``CONFIDENCE_MEANING``), the features it came from and whether it passes."""

    value: float
    features: ReadingFeatures
    threshold: float
    meaning: str = CONFIDENCE_MEANING

    @property
    def reliable(self) -> bool:
        return bool(self.value >= self.threshold)


def estimator_agreement(hr_bpm: float, others_bpm, *, tol_bpm: float = CONFIDENCE_TOL_BPM) -> float:
    """Share (0..1) of the finite rates in ``others_bpm`` (bpm) within ``tol_bpm`` of ``hr_bpm``; NaN if none."""
    o = np.asarray([v for v in np.ravel(np.asarray(others_bpm, dtype=np.float64)) if np.isfinite(v)])
    if len(o) == 0 or not np.isfinite(hr_bpm):
        return float("nan")
    return float(np.mean(np.abs(o - hr_bpm) <= tol_bpm))


def half_rate_power(spectra: np.ndarray, bpm: np.ndarray, rate_bpm, tol_bpm: float, *, ratio: float = HALF_RATE_SHARE) -> np.ndarray:
    """(K,) 1.0 where spectrum k of ``spectra`` (K, F) on the grid ``bpm`` (F,) holds ≥ ``ratio`` of its power
    within ±tol of ``rate_bpm`` ((K,) or a number) also within ±tol of half that rate, else 0.0; NaN where half the
    rate lies below the grid (the band)."""
    spectra = np.atleast_2d(spectra)
    rate = np.broadcast_to(np.asarray(rate_bpm, dtype=np.float64), (len(spectra),))
    at = _power_near(spectra, bpm, rate, tol_bpm)
    half = _power_near(spectra, bpm, rate / 2, tol_bpm)
    return np.where(rate / 2 < bpm[0] - tol_bpm / 2, np.nan, (half >= ratio * np.maximum(at, 1e-12)).astype(np.float64))


def harmonic_ambiguity(track: HRTrack, hr_bpm: float, *, ratio: float = HALF_RATE_SHARE) -> float:
    """1.0 when the mean window spectrum of ``track`` has ≥ ``ratio`` of the power at ``hr_bpm`` within ±tol of
    ``hr_bpm``/2 (inside the band), else 0.0; NaN when hr/2 is below the band."""
    return float(half_rate_power(track.mean_spectrum()[None, :], track.freqs_bpm, hr_bpm, track.tol_bpm, ratio=ratio)[0])


def window_half_rate(track: HRTrack, *, ratio: float = HALF_RATE_SHARE) -> np.ndarray:
    """(K,) ``harmonic_ambiguity`` of each window of ``track`` at its own rate (its own spectrum)."""
    return half_rate_power(track.spectra, track.freqs_bpm, track.hr_bpm, track.tol_bpm, ratio=ratio)


# ------------------------------------------------------------------------------------------------ candidate features
# Blood-volume pulse signature: the relative (AC/DC) amplitude of the pulse in R, G, B of skin under white light
# (de Haan & van Leest 2014, PBV). A change of light intensity moves the three channels by the same relative amount
# (G/R = 1); the pulse moves green most (G/R = 0.77 / 0.33 = 2.3).
PBV_SIGNATURE = (0.33, 0.77, 0.53)
PBV_G_OVER_R = PBV_SIGNATURE[1] / PBV_SIGNATURE[0]
TRIM_SHARE = 0.1  # ``trim_agreement`` re-reads each window without its first and without its last 10 %


def window_frames(x: np.ndarray, track: HRTrack) -> np.ndarray:
    """(K, n) the windows of ``x`` (T,) (or (T, C) -> (K, n, C)) that ``track`` was read from (same length, hop
    and start; ``x`` on the track's grid at ``track.fs`` Hz): a read-only view, no copy."""
    n = int(round(track.window_s * track.fs))
    hop = max(1, int(round(track.hop_s * track.fs)))
    view = np.lib.stride_tricks.sliding_window_view(x, n, axis=0)[::hop][: track.n_windows]  # (K, [C,] n)
    return np.moveaxis(view, -1, 1)


def _power_near(power: np.ndarray, bpm: np.ndarray, centre_bpm, tol_bpm: float) -> np.ndarray:
    """(K,) sum of ``power`` (K, F) on the grid ``bpm`` (F,) within ±tol of ``centre_bpm`` ((K,) or a number)."""
    centre = np.broadcast_to(np.asarray(centre_bpm, dtype=np.float64), (len(power),))
    return (power * (np.abs(bpm[None, :] - centre[:, None]) <= tol_bpm)).sum(axis=1)


def colour_ratio(rgb: np.ndarray, track: HRTrack, rate_bpm) -> np.ndarray:
    """(K,) G/R: how much more the skin's green than its red changes at the read rate, per window of ``track``.

    ``rgb`` (T, 3): skin-mean R, G, B (0..255) on the track's grid. Each channel is made relative (divided by its
    mean: AC/DC, no unit) and cleaned by the package read-out; in each window its amplitude at ``rate_bpm`` ((K,) or
    a number) is the root of its Hann-weighted power within ±``track.tol_bpm``; the ratio is green's amplitude over
    red's. About 2.3 for blood (``PBV_G_OVER_R``), about 1 for a change of light. NaN where the trace cannot be read."""
    from pseudopulse.signal.postprocess import clean_wave
    from pseudopulse.signal.track import _zoom_psd

    x = np.asarray(rgb, dtype=np.float64)
    mean = x.mean(axis=0)
    if x.ndim != 2 or x.shape[1] != 3 or not np.all(np.isfinite(x)) or np.any(mean <= 1.0):
        return np.full(track.n_windows, np.nan)
    frames = window_frames(np.stack([clean_wave(x[:, c] / mean[c] - 1.0, track.fs, track.band_hz) for c in (0, 1)],
                                    axis=1), track)  # (K, n, 2): red, green  # fmt: skip
    amp = np.stack([np.sqrt(_power_near(_zoom_psd(frames[:, :, c], track.fs, track.freqs_hz), track.freqs_bpm,
                                        rate_bpm, track.tol_bpm)) for c in (0, 1)], axis=1)  # fmt: skip
    return amp[:, 1] / np.maximum(amp[:, 0], 1e-12)


def colour_match(rgb: np.ndarray, track: HRTrack, rate_bpm) -> np.ndarray:
    """(K,) how far the skin's colour change at the read rate looks like blood, per window of ``track`` (0..1):
    ``clip((G/R − 1) / (PBV_G_OVER_R − 1), 0, 1)`` of ``colour_ratio`` — 0 for a change of light (all channels
    alike, or red strongest), 1 for the blood-volume signature (G/R ≥ 2.3). NaN where the trace cannot be read."""
    return np.clip((colour_ratio(rgb, track, rate_bpm) - 1.0) / (PBV_G_OVER_R - 1.0), 0.0, 1.0)


def window_phasors(clean_wave_: np.ndarray, track: HRTrack, rates_bpm: np.ndarray) -> np.ndarray:
    """(K, M) complex: per window of ``track``, the Hann-weighted Fourier coefficient of ``clean_wave_`` (T,, on the
    track's grid, already cleaned) at each of the M rates in ``rates_bpm`` (K, M) bpm, the window z-scored first
    (so every wave weighs by how much of its own window lies at the rate, not by its scale). Phase is measured from
    each window's first sample, the same for every wave of one grid. Windows are read ``TRACK_BLOCK`` at a time (a
    long recording's (K, n) windows are never held)."""
    frames = window_frames(np.asarray(clean_wave_, dtype=np.float64), track)  # (K, n) view
    n = frames.shape[1]
    win = np.hanning(n + 2)[1:-1]
    t = np.arange(n) / track.fs
    rates = np.asarray(rates_bpm, dtype=np.float64).reshape(len(frames), -1) / 60.0  # (K, M) Hz
    out = np.empty(rates.shape, dtype=np.complex128)
    for i in range(0, len(frames), TRACK_BLOCK):
        blk = slice(i, i + TRACK_BLOCK)
        x = frames[blk] - frames[blk].mean(axis=1, keepdims=True)
        x *= win / np.maximum(x.std(axis=1, keepdims=True), 1e-12)
        phase = np.exp(-2j * np.pi * rates[blk, :, None] * t[None, None, :])  # (B, M, n)
        out[blk] = np.einsum("bmn,bn->bm", phase, x)
    return out


def roi_coherence(phasor_sum: np.ndarray, magnitude_sum: np.ndarray) -> np.ndarray:
    """Phase coherence of the skin blocks at the read rate, elementwise (0..1): |Σ_r c_r| / Σ_r |c_r| over the
    ROI waves' phasors c_r (``window_phasors``), given their sum and the sum of their magnitudes. A pulse is one
    wave under the whole skin, so the blocks' phasors line up (UBFC clips read right: median 0.69); noise, codec
    artefacts and most motion leave them at random (25 blocks: ~0.2; generated pulse-free faces: median 0.29).
    NaN where no block could be read."""
    mag = np.asarray(magnitude_sum, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(mag > 0, np.abs(phasor_sum) / mag, np.nan)


def double_share(track: HRTrack, rate_bpm) -> np.ndarray:
    """(K,) share of the window's power near the read rate and near twice it that lies near twice it (0..1):
    P(2f) / (P(f) + P(2f)), P within ±``track.tol_bpm`` on each window's band spectrum. High when the reading may
    be half the true rate (the low-rate locks of FINDINGS.md); NaN where 2f is above the band."""
    bpm = track.freqs_bpm
    rate = np.broadcast_to(np.asarray(rate_bpm, dtype=np.float64), (track.n_windows,))
    p_f = _power_near(track.spectra, bpm, rate, track.tol_bpm)
    p_2f = _power_near(track.spectra, bpm, 2.0 * rate, track.tol_bpm)
    out = p_2f / np.maximum(p_f + p_2f, 1e-12)
    return np.where(2.0 * rate <= bpm[-1] + track.tol_bpm / 2, out, np.nan)


def trim_agreement(clean_wave_: np.ndarray, track: HRTrack, rate_bpm, *, tol_bpm: float = CONFIDENCE_TOL_BPM) -> np.ndarray:
    """(K,) share (0, 0.5 or 1) of the two re-reads of each window — without its first ``TRIM_SHARE`` and without its
    last — whose spectral peak (on the track's band grid) lies within ``tol_bpm`` of ``rate_bpm``. A rate that one
    second of the window decides is not stable. ``clean_wave_`` (T,): the wave the track read, already cleaned."""
    from pseudopulse.signal.track import _zoom_psd

    frames = window_frames(np.asarray(clean_wave_, dtype=np.float64), track)
    m = max(1, int(round(TRIM_SHARE * frames.shape[1])))
    rate = np.broadcast_to(np.asarray(rate_bpm, dtype=np.float64), (track.n_windows,))
    hits = [np.abs(track.freqs_bpm[np.argmax(_zoom_psd(part, track.fs, track.freqs_hz), axis=1)] - rate) <= tol_bpm
            for part in (frames[:, m:], frames[:, :-m])]  # fmt: skip
    return np.mean(hits, axis=0)


def split_change(clean_wave_: np.ndarray, track: HRTrack, *, share: float = SPLIT_SHARE) -> np.ndarray:
    """(K,) bpm between the spectral peaks (on the track's band grid) of the first and the last ``share`` of each
    window of ``track``: near 0 for a steady rate, large where the rate changes inside the window (or where noise
    decides either part). ``clean_wave_`` (T,): the wave the track read, already cleaned."""
    from pseudopulse.signal.track import _zoom_psd

    frames = window_frames(np.asarray(clean_wave_, dtype=np.float64), track)
    m = max(2, int(round(share * frames.shape[1])))
    first, last = (track.freqs_bpm[np.argmax(_zoom_psd(part, track.fs, track.freqs_hz), axis=1)]
                   for part in (frames[:, :m], frames[:, -m:]))  # fmt: skip
    return np.abs(first - last)


def track_range(track: HRTrack) -> tuple[float, float]:
    """(10th, 90th) percentile of the window rates of ``track`` (bpm): further apart than 2 × the 5-bpm tolerance,
    the rate changes over the recording and no one number describes it."""
    lo, hi = np.percentile(track.hr_bpm, [10, 90])
    return float(lo), float(hi)


def window_vote(track: HRTrack, window_conf: np.ndarray, hr_bpm: float, *, tol_bpm: float = CONFIDENCE_TOL_BPM) -> float:
    """The highest of ``window_conf`` (K,) (the windows' own confidences) among the non-overlapping windows of
    ``track`` (every ``window_s / hop_s``-th, from the first) whose rate lies within ``tol_bpm`` of ``hr_bpm`` (bpm);
    NaN when the track has fewer than two non-overlapping windows, or is not steady (10th-90th percentile of its
    window rates more than 2 × ``tol_bpm`` apart: the rate changes, and no window speaks for the whole), or none
    agrees. A whole recording is then at least as believable as its best independent window that reads its rate
    (experiments/LOG.md, nineteenth round)."""
    step = max(1, int(round(track.window_s / track.hop_s)))
    idx = np.arange(0, track.n_windows, step)
    rates = np.asarray(track.hr_bpm, dtype=np.float64)
    if len(idx) < 2 or not np.all(np.isfinite(rates)):
        return float("nan")
    lo, hi = track_range(track)
    agree = idx[np.abs(rates[idx] - hr_bpm) <= tol_bpm]
    if hi - lo > 2 * tol_bpm or len(agree) == 0:
        return float("nan")
    return float(np.max(np.asarray(window_conf, dtype=np.float64)[agree]))


def reading_features(
    track: HRTrack,
    *,
    hr_bpm: float | None = None,
    others_bpm=(),
    roi_bpm=None,
    valid: np.ndarray | None = None,
    tol_bpm: float = CONFIDENCE_TOL_BPM,
) -> ReadingFeatures:
    """Features of the reading ``hr_bpm`` (default: the track's median) made from ``track`` (the wave's windows),
    ``others_bpm`` (rates of independent estimators on the same span), ``roi_bpm`` (the rate each skin ROI of the
    span reads on its own; a pulse is spatially coherent over the skin, a motion or noise peak rarely is) and
    ``valid`` ((T,) bool, face found)."""
    hr = track.median_hr_bpm if hr_bpm is None else float(hr_bpm)
    roi = float("nan") if roi_bpm is None else estimator_agreement(hr, roi_bpm, tol_bpm=tol_bpm)
    return ReadingFeatures(
        peak_share=float(np.mean(track.peak_share)),
        autocorr=float(np.nanmean(track.autocorr)) if np.any(np.isfinite(track.autocorr)) else float("nan"),
        track_agreement=float(np.mean(np.abs(track.peak_bpm - hr) <= tol_bpm)),
        estimator_agreement=estimator_agreement(hr, others_bpm, tol_bpm=tol_bpm),
        roi_agreement=roi,
        face_valid=float("nan") if valid is None else float(np.mean(np.asarray(valid, bool))),
        harmonic_ambiguity=harmonic_ambiguity(track, hr),
    )


def standardised(features: dict, names) -> np.ndarray:
    """(..., len(names)): ``(feature − CENTRE) / SCALE`` for each of ``names``, from ``features`` (an array or a
    number per name); a NaN value (not measurable: every other estimator or ROI failed) counts as 0, no support.
    The one transform the map applies and the fit (experiments/trust) is made on."""
    cols = [(np.nan_to_num(np.asarray(features[n], dtype=np.float64), nan=0.0) - CENTRE[n]) / SCALE[n] for n in names]
    return np.stack(np.broadcast_arrays(*cols), axis=-1)


def logistic_confidence(features: dict, *, coef: dict | None = None, intercept: float | None = None) -> np.ndarray:
    """The fitted map, elementwise: ``features`` holds an array (or a number) for each name in ``coef`` (default
    ``COEF``), standardised by ``standardised``."""
    coef = COEF if coef is None else coef
    z = (INTERCEPT if intercept is None else float(intercept)) + standardised(features, list(coef)) @ np.array(list(coef.values()))
    return 1.0 / (1.0 + np.exp(-z))


def confidence_from_features(
    features: ReadingFeatures,
    *,
    coef: dict | None = None,
    intercept: float | None = None,
    threshold: float = DEFAULT_THRESHOLD,
) -> Confidence:
    """Confidence in [0, 1] (``CONFIDENCE_MEANING``) of a reading from its features, by the fitted logistic map
    (``logistic_confidence``); a face found on fewer than half the frames, or a skin region under ``MIN_ROI_PX``
    source pixels, caps it at 0; a skin crop at ``SKIN_CROP_MAX_CONFIDENCE``; skin blocks that do not pulse in phase
    (``roi_coherence`` under ``MIN_ROI_COHERENCE``) at ``LOW_COHERENCE_MAX_CONFIDENCE``; a rate that may be twice
    the pulse's (``harmonic_ambiguity`` 1) at ``HALF_RATE_MAX_CONFIDENCE``. A long steady reading whose windows agree
    starts from the larger of the map's value and ``window_vote`` (the caps still apply)."""
    value = logistic_confidence(features.as_dict(), coef=coef, intercept=intercept)
    if np.isfinite(features.window_vote):
        value = max(float(value), features.window_vote)
    value = float(apply_caps(value,
                             face_valid=features.face_valid, roi_px=features.roi_px, skin_crop=features.skin_crop,
                             roi_coherence=features.roi_coherence, harmonic_ambiguity=features.harmonic_ambiguity))  # fmt: skip
    return Confidence(value=value, features=features, threshold=float(threshold))


def window_confidence(track: HRTrack, *, estimator_agreement: np.ndarray, roi_agreement: np.ndarray,
                      roi_coherence: np.ndarray | None = None, face_valid: np.ndarray | None = None,
                      roi_px: float = float("nan"), skin_crop: bool = False, harmonic_ambiguity: np.ndarray | None = None,
                      extra: dict | None = None) -> np.ndarray:  # fmt: skip
    """(K,) confidence of each window of ``track`` (the same meaning, map and caps as a whole reading): its own
    ``peak_share`` with the per-window ``estimator_agreement``, ``roi_agreement`` and ``roi_coherence`` (K,) (and
    the (K,) arrays of any other feature in ``extra``, by name); windows where a face was found on fewer than half
    the frames (``face_valid`` (K,) shares) get 0, and every window gets 0 when the skin region (``roi_px``, source
    pixels) is under ``MIN_ROI_PX``; a skin crop, a window whose blocks do not pulse in phase and one whose rate may
    be twice the pulse's (``harmonic_ambiguity`` (K,)) are capped like a whole reading."""
    value = logistic_confidence({"peak_share": track.peak_share, "estimator_agreement": estimator_agreement,
                                 "roi_agreement": roi_agreement, "roi_coherence": roi_coherence, **(extra or {})})  # fmt: skip
    return np.asarray(apply_caps(value, face_valid=face_valid, roi_px=roi_px, skin_crop=skin_crop,
                                 roi_coherence=roi_coherence, harmonic_ambiguity=harmonic_ambiguity), dtype=np.float64)  # fmt: skip


def apply_caps(value, *, face_valid=None, roi_px: float = float("nan"), skin_crop: bool = False, roi_coherence=None,
               min_roi_coherence: float | None = None, low_coherence_cap: float | None = None, harmonic_ambiguity=None,
               half_rate_cap: float | None = None):  # fmt: skip
    """The hard rules on top of the map, elementwise: 0 where a face was found on fewer than half the frames
    (``face_valid`` share; None or NaN = not known), 0 for a skin region under ``MIN_ROI_PX`` source pixels, at most
    ``SKIN_CROP_MAX_CONFIDENCE`` for a skin crop, and at most ``LOW_COHERENCE_MAX_CONFIDENCE`` where the skin blocks
    do not pulse in phase (``roi_coherence`` below ``MIN_ROI_COHERENCE``; None or NaN = not measured, no cap), and at
    most ``HALF_RATE_MAX_CONFIDENCE`` where the rate may be twice the pulse's (``harmonic_ambiguity`` 1; None or NaN
    = not measurable, no cap). ``min_roi_coherence`` / ``low_coherence_cap`` / ``half_rate_cap`` override the
    constants (for the rules that set them)."""
    value = np.asarray(value, dtype=np.float64)
    if harmonic_ambiguity is not None:
        cap = HALF_RATE_MAX_CONFIDENCE if half_rate_cap is None else float(half_rate_cap)
        value = np.where(np.asarray(harmonic_ambiguity, dtype=np.float64) == 1.0, np.minimum(value, cap), value)
    if roi_coherence is not None:
        c0 = MIN_ROI_COHERENCE if min_roi_coherence is None else float(min_roi_coherence)
        cap = LOW_COHERENCE_MAX_CONFIDENCE if low_coherence_cap is None else float(low_coherence_cap)
        value = np.where(np.asarray(roi_coherence, dtype=np.float64) < c0, np.minimum(value, cap), value)  # NaN: no cap
    if face_valid is not None:
        value = np.where(np.asarray(face_valid, dtype=np.float64) < 0.5, 0.0, value)  # NaN < 0.5 is False
    if np.isfinite(roi_px) and roi_px < MIN_ROI_PX:
        value = np.zeros_like(value)
    if skin_crop:
        value = np.minimum(value, SKIN_CROP_MAX_CONFIDENCE)
    return value


# ------------------------------------------------------------------------------------------------ HRV gating
HRV_MIN_BEATS = 20
HRV_MIN_DURATION_S = 20.0  # vitallens: HRV needs >= 20 s
HRV_IBI_RANGE_MS = (300.0, 2000.0)  # 30-200 bpm
HRV_MAX_OUTLIER_SHARE = 0.10  # IBIs more than 30 % from the median (missed / extra beats)
HRV_OUTLIER_REL = 0.30
HRV_MAX_RATE_MISMATCH_BPM = 5.0  # beat-derived mean HR vs the spectral reading
HRV_MIN_CONFIDENCE = DEFAULT_THRESHOLD  # HRV only from a reading that is itself reliable
HRV_MIN_SNR_DB = 0.0


@dataclass(frozen=True)
class HRVCheck:
    name: str
    passed: bool
    value: float
    rule: str


@dataclass(frozen=True)
class HRVQuality:
    """Whether an HRV figure (SDNN, RMSSD) may be reported from a beat series, and which checks failed."""

    ok: bool
    checks: tuple[HRVCheck, ...] = field(default_factory=tuple)

    @property
    def failed(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.checks if not c.passed)

    def reason(self) -> str:
        """One line naming every failed check with its value and rule ('' when ok)."""
        return "; ".join(f"{c.name}: {c.value:.3g} (needs {c.rule})" for c in self.checks if not c.passed)


def hrv_quality(
    peak_times_s: np.ndarray,
    *,
    duration_s: float | None = None,
    hr_bpm: float | None = None,
    confidence: float | None = None,
    snr_db: float | None = None,
    min_beats: int = HRV_MIN_BEATS,
    min_duration_s: float = HRV_MIN_DURATION_S,
    ibi_range_ms: tuple[float, float] = HRV_IBI_RANGE_MS,
    max_outlier_share: float = HRV_MAX_OUTLIER_SHARE,
    max_rate_mismatch_bpm: float = HRV_MAX_RATE_MISMATCH_BPM,
    min_confidence: float = HRV_MIN_CONFIDENCE,
    min_snr_db: float = HRV_MIN_SNR_DB,
) -> HRVQuality:
    """Checks an HRV figure must pass, from systolic peak times ``peak_times_s`` (s; e.g. ``Beats.peak_times_s``).

    Checks (each reported with its value; all must pass): ``beats`` ≥ ``min_beats``; ``duration`` (s, default the
    span of the beats) ≥ ``min_duration_s``; ``ibi_range`` every inter-beat interval in ``ibi_range_ms``;
    ``ibi_outliers`` share of IBIs more than 30 % from the median IBI ≤ ``max_outlier_share`` (a missed or an
    extra beat makes an IBI ~2× or ~0.5× and inflates RMSSD, as NeuroKit users report); ``rate_match`` (only
    with ``hr_bpm``) |60000/mean IBI − hr_bpm| ≤ ``max_rate_mismatch_bpm``; ``confidence`` (only when given) ≥
    ``min_confidence``; ``snr`` (only when given, dB) ≥ ``min_snr_db``."""
    t = np.sort(np.asarray(peak_times_s, dtype=np.float64).ravel())
    t = t[np.isfinite(t)]
    ibi = np.diff(t) * 1000.0
    checks = [HRVCheck("beats", len(t) >= min_beats, float(len(t)), f">= {min_beats} beats")]
    dur = float(duration_s) if duration_s is not None else (float(t[-1] - t[0]) if len(t) > 1 else 0.0)
    checks.append(HRVCheck("duration", dur >= min_duration_s, dur, f">= {min_duration_s:g} s"))
    if len(ibi):
        out_of_range = float(np.mean((ibi < ibi_range_ms[0]) | (ibi > ibi_range_ms[1])))
        med = float(np.median(ibi))
        outliers = float(np.mean(np.abs(ibi - med) > HRV_OUTLIER_REL * med))
    else:
        out_of_range, outliers = 1.0, 1.0
    checks.append(HRVCheck("ibi_range", out_of_range == 0.0, out_of_range,
                           f"every IBI in {ibi_range_ms[0]:g}-{ibi_range_ms[1]:g} ms (value: share outside)"))  # fmt: skip
    checks.append(HRVCheck("ibi_outliers", outliers <= max_outlier_share, outliers,
                           f"<= {max_outlier_share:g} of IBIs > 30 % from the median"))  # fmt: skip
    if hr_bpm is not None:
        mism = abs(60000.0 / np.mean(ibi) - float(hr_bpm)) if len(ibi) else float("inf")
        checks.append(HRVCheck("rate_match", mism <= max_rate_mismatch_bpm, float(mism),
                               f"beat rate within {max_rate_mismatch_bpm:g} bpm of the spectral HR"))  # fmt: skip
    if confidence is not None:
        checks.append(HRVCheck("confidence", float(confidence) >= min_confidence, float(confidence),
                               f">= {min_confidence:g}"))  # fmt: skip
    if snr_db is not None:
        checks.append(HRVCheck("snr", float(snr_db) >= min_snr_db, float(snr_db), f">= {min_snr_db:g} dB"))
    return HRVQuality(ok=all(c.passed for c in checks), checks=tuple(checks))
