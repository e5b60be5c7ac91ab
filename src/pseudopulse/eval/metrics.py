"""Heart-rate error metrics over clips (or frames): MAE, RMSE, Pearson r, Std of the error, MAPE.

Conventions (rPPG-Toolbox metrics.py; RhythmNet/CVD "Std"): error e = predicted − true (bpm);
``std`` = population standard deviation of e (ddof = 0, so rmse² = std² + mean_error²);
``mape`` in percent = 100·mean(|e| / true); ``pearson_r`` over the pairs (NaN with < 2 pairs or a constant side).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from pseudopulse.errors import SignalError


@dataclass(frozen=True)
class HRMetrics:
    n: int
    mae: float
    rmse: float
    pearson_r: float
    std: float
    mape: float
    mean_error: float
    snr_db: float | None = None  # mean SNR (dB) of the predicted waves against the true HR, when given

    def as_dict(self) -> dict:
        return asdict(self)


def hr_metrics(pred_bpm, true_bpm, snr_db=None) -> HRMetrics:
    """Metrics of predicted vs true heart rates (bpm), both shape (N,). ``snr_db`` (N,) optional per-item SNR."""
    p = np.asarray(pred_bpm, dtype=np.float64).ravel()
    t = np.asarray(true_bpm, dtype=np.float64).ravel()
    if p.shape != t.shape:
        raise SignalError(f"predicted ({p.size}) and true ({t.size}) heart-rate arrays differ in length")
    if p.size == 0:
        raise SignalError("no clips to score: every recording failed or was shorter than one clip")
    if not (np.all(np.isfinite(p)) and np.all(np.isfinite(t))):
        raise SignalError("heart rates must be finite numbers of bpm")
    if np.any(t <= 0):
        raise SignalError(f"true heart rates must be > 0 bpm; got min {t.min()}")
    e = p - t
    r = float("nan")
    if p.size >= 2 and np.std(p) > 0 and np.std(t) > 0:
        r = float(np.corrcoef(p, t)[0, 1])
    snr = None
    if snr_db is not None:
        s = np.asarray(snr_db, dtype=np.float64)
        s = s[np.isfinite(s)]
        snr = float(s.mean()) if s.size else float("nan")
    return HRMetrics(
        n=int(p.size),
        mae=float(np.mean(np.abs(e))),
        rmse=float(np.sqrt(np.mean(e**2))),
        pearson_r=r,
        std=float(np.std(e)),
        mape=float(100.0 * np.mean(np.abs(e) / t)),
        mean_error=float(np.mean(e)),
        snr_db=snr,
    )


@dataclass(frozen=True)
class MAEDifference:
    """MAE(a) − MAE(b) in bpm on the same clips, with a bootstrap confidence interval (negative: a is better)."""

    diff: float
    low: float
    high: float
    confidence: float
    n_clips: int
    n_groups: int

    def __str__(self) -> str:
        pct = round(100 * self.confidence)
        return f"{self.diff:+.2f} bpm ({pct} % CI {self.low:+.2f} to {self.high:+.2f}; {self.n_clips} clips, {self.n_groups} recordings)"


def paired_mae_difference(
    err_a, err_b, groups=None, *, confidence: float = 0.95, n_resamples: int = 9999, seed: int = 0
) -> MAEDifference:
    """Paired comparison of two predictors' errors (bpm, shape (N,), the same N clips in the same order).

    The interval comes from a percentile bootstrap (``scipy.stats.bootstrap``) that resamples whole ``groups``
    (e.g. the recording each clip was cut from), since clips of one recording fail together; ``None``: every clip
    is its own group. An interval that contains 0 means the clips do not tell the two predictors apart."""
    from scipy.stats import bootstrap

    a = np.abs(np.asarray(err_a, dtype=np.float64).ravel())
    b = np.abs(np.asarray(err_b, dtype=np.float64).ravel())
    if a.shape != b.shape:
        raise SignalError(f"paired comparison needs errors on the same clips; got {a.size} and {b.size}")
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise SignalError("errors must be finite numbers of bpm")
    g = np.arange(a.size) if groups is None else np.asarray(groups).ravel()
    if g.shape != a.shape:
        raise SignalError(f"groups ({g.size}) must label every clip ({a.size})")
    labels, idx = np.unique(g, return_inverse=True)
    n_groups = len(labels)
    if n_groups < 2:
        raise SignalError(f"a bootstrap needs at least 2 recordings; got {n_groups}")
    sums = np.bincount(idx, weights=a - b, minlength=n_groups)  # per recording: summed |e_a| − |e_b|
    counts = np.bincount(idx, minlength=n_groups).astype(np.float64)

    def pooled(s, c, axis=-1):
        return s.sum(axis=axis) / c.sum(axis=axis)

    res = bootstrap((sums, counts), pooled, paired=True, vectorized=True, confidence_level=confidence,
                    n_resamples=n_resamples, method="percentile", random_state=np.random.default_rng(seed))  # fmt: skip
    ci = res.confidence_interval
    return MAEDifference(float(sums.sum() / counts.sum()), float(ci.low), float(ci.high), confidence, int(a.size), n_groups)


@dataclass(frozen=True)
class TrustMetrics:
    """How the confidence sorts readings (errors |e| in bpm, confidence 0..1, threshold ``min_confidence``):
    ``coverage`` share of readings marked reliable; ``mae_reliable`` / ``within5_reliable`` over those; the worst
    reliable error; ``within5_all`` over every reading; the reliability table ``bins`` [(low, high, n, mean
    confidence, share within 5 bpm)] and the coverage–error curve ``curve`` [(share kept, MAE of kept)], readings
    kept from the most confident down."""

    n: int
    min_confidence: float
    coverage: float
    n_reliable: int
    mae_reliable: float
    within5_reliable: float
    max_error_reliable: float
    within5_all: float
    bins: list
    curve: list

    def as_dict(self) -> dict:
        return asdict(self)


def trust_metrics(abs_error_bpm, confidence, min_confidence: float, *, tol_bpm: float = 5.0,
                  edges=(0.0, 0.2, 0.4, 0.6, 0.8, 0.9, 1.0)) -> TrustMetrics:  # fmt: skip
    """``TrustMetrics`` of readings with absolute errors ``abs_error_bpm`` (N,) and confidences (N,)."""
    e = np.abs(np.asarray(abs_error_bpm, dtype=np.float64).ravel())
    c = np.asarray(confidence, dtype=np.float64).ravel()
    if e.shape != c.shape or e.size == 0:
        raise SignalError(f"trust metrics need one confidence per error; got {e.size} errors, {c.size} confidences")
    c = np.nan_to_num(c, nan=0.0)
    keep = c >= min_confidence
    bins = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        m = (c >= lo) & ((c < hi) | (hi >= 1.0))
        if m.any():
            bins.append((lo, hi, int(m.sum()), float(c[m].mean()), float(np.mean(e[m] <= tol_bpm))))
    order = np.argsort(-c, kind="stable")
    curve = [(float(k / e.size), float(np.mean(e[order[:k]]))) for k in range(1, e.size + 1)]
    return TrustMetrics(
        n=int(e.size), min_confidence=float(min_confidence), coverage=float(keep.mean()), n_reliable=int(keep.sum()),
        mae_reliable=float(e[keep].mean()) if keep.any() else float("nan"),
        within5_reliable=float(np.mean(e[keep] <= tol_bpm)) if keep.any() else float("nan"),
        max_error_reliable=float(e[keep].max()) if keep.any() else float("nan"),
        within5_all=float(np.mean(e <= tol_bpm)), bins=bins, curve=curve,
    )  # fmt: skip
