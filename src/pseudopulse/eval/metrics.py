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
