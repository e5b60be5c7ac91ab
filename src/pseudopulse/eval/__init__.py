"""Evaluation: datasets -> non-overlapping clips -> HR per clip -> metrics -> tables and figures.

The one scoring path of the project (``pseudopulse evaluate``, ``robustness``, ``benchmark methods|peer`` and the
experiment scripts all score through it):

- ``recording``: one recording — ``load_stmap`` (STMap with the dataset's frame times), ``score_stmap`` (per-clip
  predicted and true HR, bpm), ``evaluate_recording`` (both);
- ``clips``: ``clip_bounds`` / ``cut_clips`` (non-overlapping clips) and ``true_clip_hr``;
- ``whole``: ``recording_hr`` / ``true_recording_hr``, HR of a whole recording through the same read-out;
- ``runner``: ``evaluate(dataset, "pos")`` -> ``EvalResult`` over worker processes;
- ``metrics``: MAE/RMSE/r/Std/MAPE/SNR and the paired bootstrap; ``compare``: errors on the same clips for the
  experiments; ``tables`` / ``figures`` / ``robustness``: outputs and the compression study (paper Fig. 4).
"""

from pseudopulse.eval.metrics import HRMetrics, MAEDifference, hr_metrics, paired_mae_difference
from pseudopulse.eval.recording import load_stmap, score_stmap
from pseudopulse.eval.runner import ClipResult, EvalConfig, EvalProgress, EvalResult, RecordingResult, evaluate
from pseudopulse.eval.whole import recording_hr, true_recording_hr

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
    "load_stmap",
    "paired_mae_difference",
    "recording_hr",
    "score_stmap",
    "true_recording_hr",
]
