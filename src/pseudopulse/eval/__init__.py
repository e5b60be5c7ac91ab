"""Evaluation: datasets -> non-overlapping clips -> HR per clip -> metrics -> tables and figures.

``evaluate(dataset, "pos")`` -> ``EvalResult`` (per-clip predicted/true HR, MAE/RMSE/r/Std/MAPE/SNR);
``write_tables`` / ``write_figures`` write results.md/.csv/.json and PNG figures; ``robustness`` runs the
compression study (paper Fig. 4).
"""

from pseudopulse.eval.metrics import HRMetrics, MAEDifference, hr_metrics, paired_mae_difference
from pseudopulse.eval.runner import ClipResult, EvalConfig, EvalProgress, EvalResult, RecordingResult, evaluate

__all__ = [
    "ClipResult",
    "EvalConfig",
    "EvalProgress",
    "EvalResult",
    "HRMetrics",
    "MAEDifference",
    "RecordingResult",
    "evaluate",
    "hr_metrics",
    "paired_mae_difference",
]
