"""Whole UBFC-rPPG recordings read by ``pseudopulse.predict`` (the shipped model, default face backend): the error
against the contact PPG's spectral peak over the whole recording, the confidence and the reasons.

    PYTHONPATH=src:. .venv/bin/python -m experiments.trust.whole_recordings

Writes experiments/trust/results/whole_recordings.json (per recording: truth, reading, confidence, reliable, reasons;
summary: MAE, within 5 bpm, reliable).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np

from experiments.trust import common

OUT = Path(__file__).resolve().parent / "results"


def main() -> None:
    import pseudopulse
    from pseudopulse.datasets import get_dataset
    from pseudopulse.signal import estimate_hr

    warnings.simplefilter("ignore")
    rows = []
    for rec in get_dataset("ubfc", common.UBFC_ROOT).recordings():
        gt = rec.ground_truth()
        t = np.asarray(gt.timestamps_s, dtype=np.float64)
        truth = float(estimate_hr(np.asarray(gt.ppg, dtype=np.float64), (len(t) - 1) / (t[-1] - t[0])).hr_bpm)
        r = pseudopulse.predict(rec.video_path, cache_dir=".cache/pseudopulse")
        rows.append({"recording": rec.name, "truth_bpm": round(truth, 2), "hr_bpm": round(r.hr_bpm, 2),
                     "error_bpm": round(r.hr_bpm - truth, 2), "confidence": round(r.confidence, 3),
                     "reliable": bool(r.reliable), "reasons": r.reasons})  # fmt: skip
        print(rec.name, rows[-1]["truth_bpm"], rows[-1]["hr_bpm"], rows[-1]["confidence"], flush=True)
    err = np.abs([r["error_bpm"] for r in rows])
    conf = np.array([r["confidence"] for r in rows])
    summary = {**common.score(err), "reliable": int(sum(r["reliable"] for r in rows)),
               "confidence_within5": [round(float(c), 3) for c in conf[err <= 5]],
               "confidence_over5": [round(float(c), 3) for c in conf[err > 5]]}  # fmt: skip
    OUT.mkdir(exist_ok=True)
    json.dump({"summary": summary, "recordings": rows}, open(OUT / "whole_recordings.json", "w"), indent=1)
    print(summary)


if __name__ == "__main__":
    main()
