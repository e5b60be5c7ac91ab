"""Cross-validated 10-s clip errors of networks trained with different teachers (fourteenth round of experiments/LOG.md).

Each variant is three model files, one per fold (holdout 3,4,5,9 / 10,12,14,15 / 16,17,20); every UBFC clip is read by
the variant's network that never saw its subject. Per variant: MAE, share within 5 bpm, clips > 10 bpm off (``common.score``), per-fold
MAE; POS and CHROM on the same clips; paired model-minus-model MAE with a bootstrap interval over recordings.

    PYTHONPATH=src:. python -m experiments.trust.teacher_cv OUT.json NAME=F1,FB,FC [NAME=F1,FB,FC ...]
"""
import json
import sys
from pathlib import Path

import numpy as np

from experiments.crossval_ubfc import fold_errors
from experiments.trust.common import UBFC_ROOT, score
from pseudopulse.eval.compare import pool_errors
from pseudopulse.eval.metrics import paired_mae_difference

SPLITS = [Path("experiments/splits") / f for f in ("ubfc_h264_holdout.json", "ubfc_h264_fold_b.json", "ubfc_h264_fold_c.json")]


def summary(errs_by_fold):
    e, recs = pool_errors(errs_by_fold)
    return e, recs, {**score(e), "fold_mae": [round(float(np.mean(np.abs(fe))), 2) for fe, _ in errs_by_fold]}


def main(out, specs):
    res, errs = {}, {}
    for spec in specs:
        name, files = spec.split("=", 1)
        folds = list(zip(files.split(","), SPLITS))
        e, recs, res[name] = summary(fold_errors(UBFC_ROOT, folds, "model"))
        errs[name] = (e, recs)
        print(name, res[name], flush=True)
    for m in ("pos", "chrom"):
        e, recs, res[m] = summary(fold_errors(UBFC_ROOT, [(None, s) for s in SPLITS], m))
        errs[m] = (e, recs)
        print(m, res[m], flush=True)
    names = [s.split("=", 1)[0] for s in specs]
    paired = {}
    for i, a in enumerate(names):
        for b in names[i + 1:] + ["pos", "chrom"]:
            assert errs[a][1] == errs[b][1]
            paired[f"{a} - {b}"] = str(paired_mae_difference(errs[a][0], errs[b][0], errs[a][1]))
            print(a, "-", b, paired[f"{a} - {b}"])
    json.dump({"variants": res, "paired": paired}, open(out, "w"), indent=1)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
