"""Score the SHIPPED constants (pseudopulse.signal.confidence) on every collected set at DEFAULT_THRESHOLD.

    nice -n 10 .venv/bin/python -m experiments.trust.shipped_check

UBFC and the generated clips are in the fit (in-sample); the skin crops are not.
"""

import pickle
from pathlib import Path

import numpy as np

from experiments.trust import common  # noqa: E402
from experiments.trust.confidence_eval import clip_features  # noqa: E402

from pseudopulse.signal.confidence import DEFAULT_THRESHOLD, ReadingFeatures, confidence_from_features  # noqa: E402

for s in ("ubfc", "synth", "bias"):
    clips = pickle.load(open(common.WORK / f"{s}.pkl", "rb"))
    rows = [clip_features(c) for c in clips]
    conf = np.array([confidence_from_features(ReadingFeatures(**{k: v for k, v in r["feat"].items() if k != "snr_db"})).value for r in rows])
    kinds = sorted({r["kind"] for r in rows})
    for k in kinds:
        m = np.array([r["kind"] == k for r in rows])
        right = np.array([r["right"] for r in rows])[m]
        keep = conf[m] >= DEFAULT_THRESHOLD
        print(f"{s}/{k}: n={m.sum()} right={right.mean():.3f} kept@{DEFAULT_THRESHOLD}={keep.mean():.3f} "
              f"kept_within5={right[keep].mean() if keep.any() else float('nan'):.3f}")
    if s == "synth":
        for r, c, clip in zip(rows, conf, clips):
            if r["kind"] == "pulse_free" and c >= DEFAULT_THRESHOLD:
                print("  pulse-free kept:", round(float(c), 3), r["hr"], {k: round(v, 3) for k, v in r["feat"].items()}, clip["config"])
