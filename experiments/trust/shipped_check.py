"""Score the SHIPPED constants (pseudopulse.signal.confidence) on every collected set at DEFAULT_THRESHOLD, from the
product's features (``collect.py features``), without re-reading any video.

    nice -n 10 .venv/bin/python -m experiments.trust.shipped_check

UBFC and the generated fitting clips are in the fit (in-sample; since the twelfth round the seed-23 suite too);
FRESH2 and the skin crops are not.
"""

import pickle

import numpy as np

from experiments.trust import common  # noqa: E402

from pseudopulse.signal.confidence import DEFAULT_THRESHOLD, ReadingFeatures, confidence_from_features  # noqa: E402

for s in ("ubfc", "synth", "fresh", "fresh2", "bias"):
    if not (common.WORK / f"features_{s}.pkl").exists():
        continue
    rows = pickle.load(open(common.WORK / f"features_{s}.pkl", "rb"))
    for key in sorted({(r["set"], r["method"]) for r in rows}):
        rs = [r for r in rows if (r["set"], r["method"]) == key]
        conf = np.array([confidence_from_features(ReadingFeatures(**r["feat"])).value for r in rs])
        err = np.abs([r["err"] for r in rs])
        keep = conf >= DEFAULT_THRESHOLD
        e = err[keep & np.isfinite(err)]
        print(f"{key[0]}/{key[1]}: n={len(rs)} reliable@{DEFAULT_THRESHOLD}={keep.sum()} "
              f"within5={np.mean(e <= 5) if e.size else float('nan'):.3f} mae={e.mean() if e.size else float('nan'):.2f} "
              f"max={e.max() if e.size else float('nan'):.1f}")
