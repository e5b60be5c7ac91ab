"""Subject-wise cross-validation on the real UBFC-rPPG recordings; writes results/ubfc_crossval.md.

Each ``--fold MODEL SPLIT`` pairs a model file with the split file whose test subjects it never saw (trained
without labels on the split's train subjects). Every test subject's 10-s clips are scored by its own fold's model;
POS, 2SR and CHROM (training-free) are scored on the same clips. The paired rows give the model's MAE minus each
method's with a 95 % bootstrap interval over recordings (``eval.metrics.paired_mae_difference``). Usage (from the
repo root, with ../shared/data present):

    .venv/bin/python experiments/crossval_ubfc.py \\
        --fold src/pseudopulse/weights/pseudopulse_stmap.pt experiments/splits/ubfc_h264_holdout.json \\
        --fold runs/foldB/model.pt experiments/splits/ubfc_h264_fold_b.json \\
        --fold runs/foldC/model.pt experiments/splits/ubfc_h264_fold_c.json
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from pseudopulse.datasets.splits import read_split
from pseudopulse.eval.compare import clip_errors, pool_errors, write_report
from pseudopulse.eval.metrics import paired_mae_difference

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "results" / "cache" / "stmap"


def fold_errors(ubfc: Path, folds: list[tuple[str, Path]], method: str) -> list[tuple[np.ndarray, list[str]]]:
    """Per fold: clip errors (bpm) on its test subjects of ``ubfc`` and their recordings; "model" uses each fold's
    file."""
    return [clip_errors(ubfc, method, model if method == "model" else None, split=split, cache_dir=CACHE) for model, split in folds]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fold", nargs=2, action="append", required=True, metavar=("MODEL", "SPLIT"))
    ap.add_argument("--methods", nargs="*", default=["pos", "2sr", "chrom"])
    ap.add_argument("--ubfc", type=Path, required=True, help="the UBFC-rPPG folder (e.g. ../shared/data/real/ubfc_rppg_h264)")
    ap.add_argument("--out", default=str(ROOT / "results" / "ubfc_crossval.md"))
    args = ap.parse_args()
    if not args.ubfc.is_dir():
        ap.error(f"{args.ubfc}: no such folder (--ubfc takes the real UBFC-rPPG recordings)")
    folds = [(model, Path(split)) for model, split in args.fold]
    seen: set[str] = set()
    for model, split in folds:
        if not Path(model).is_file():
            ap.error(f"{model}: model file does not exist")
        test = set(read_split(split).test)
        if test & seen:
            ap.error(f"{split}: test subjects {sorted(test & seen)} are already in another fold's test")
        seen |= test
    per_fold = {m: fold_errors(args.ubfc, folds, m) for m in ["model", *args.methods]}
    results = {m: pool_errors(f) for m, f in per_fold.items()}
    fold_cols = " | ".join(f"fold {i + 1} MAE" for i in range(len(folds)))
    rows = [f"| predictor | MAE | RMSE | {fold_cols} | clips | recordings |", "|---|---:|---:|" + "---:|" * (len(folds) + 2)]
    for name, (e, r) in results.items():
        label = "**model (each subject scored by the fold that never saw it)**" if name == "model" else name
        fold_mae = " | ".join(f"{np.mean(np.abs(fe)):.2f}" for fe, _ in per_fold[name])
        rows.append(f"| {label} | {np.mean(np.abs(e)):.2f} | {np.sqrt(np.mean(e**2)):.2f} | {fold_mae} | {len(e)} | {len(set(r))} |")
    model_e, model_r = results["model"]
    rows += ["", "| paired comparison | model MAE − method MAE (95 % bootstrap interval over recordings) |", "|---|---|"]
    rows += [f"| model − {m} | {paired_mae_difference(model_e, results[m][0], model_r)} |" for m in args.methods]
    folds_txt = "; ".join(f"`{m}` on `{s}`" for m, s in folds)
    write_report(args.out, f"Subject-wise cross-validation on {len(seen)} UBFC-rPPG subjects (10-s clips, MAE/RMSE in "
                 f"bpm). Folds: {folds_txt}.", rows, echo=True)


if __name__ == "__main__":
    main()
