"""Compare trained model files the way the shipped one was chosen, and write results/model_selection.md.

Selection uses only generated labels: a grid of semi-synthetic 10-s clips (45–140 bpm, 640×480, x264 CRF 10)
plus any ``--val-suite`` (a `pseudopulse synth` folder); the "val score" column is the mean of those MAEs and is
what we choose by. ``--test-suite`` folders and the held-out UBFC-rPPG subjects of
experiments/splits/ubfc_h264_holdout.json are reported beside it, not used to choose. Below the table, each model's
MAE minus each method's on the same clips (test suites pooled; UBFC held-out) with a 95 % bootstrap interval over
recordings. Usage (from the repo root; ``--ubfc`` for the UBFC columns):

    .venv/bin/python experiments/select_model.py runs/A/model.pt runs/B/model.pt [--methods pos 2sr chrom] \
        [--val-suite runs/synth-s2] [--test-suite runs/synth-s1 --test-suite runs/synth-s3] \
        [--ubfc ../shared/data/real/ubfc_rppg_h264]

Scoring lives in ``pseudopulse.eval.compare`` (shared with ablation.py, crossval_ubfc.py, breakdown_suites.py).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

from pseudopulse.errors import DatasetError
from pseudopulse.eval.compare import GRID_BPM, GRID_SEEDS, check_suites, clip_errors, grid_errors, pool_errors, synth_grid, write_report
from pseudopulse.eval.metrics import paired_mae_difference

ROOT = Path(__file__).resolve().parents[1]
SPLIT = ROOT / "experiments" / "splits" / "ubfc_h264_holdout.json"
CACHE = ROOT / "results" / "cache" / "stmap"


def paired_rows(models: list[str], methods: list[str], pooled: dict) -> list[str]:
    """Markdown rows: each model's MAE minus each method's, pooled test suites and UBFC held-out, with 95 % CIs."""
    out = []
    for label in models:
        for method in methods:
            cells = []
            for part in ("test", "ubfc"):
                a, b = pooled.get(label, {}).get(part), pooled.get(method, {}).get(part)
                cells.append("—" if a is None or b is None else str(paired_mae_difference(a[0], b[0], a[1])))
            if set(cells) != {"—"}:
                out.append(f"| {label} − {method} (paired) | test suites pooled: {cells[0]} | UBFC held-out: {cells[1]} |")
    return ["", "| paired comparison | | |", "|---|---|---|", *out] if out else []


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="*")
    ap.add_argument("--methods", nargs="*", default=["pos", "2sr", "chrom"])
    ap.add_argument("--val-suite", action="append", default=[], type=Path, help="generated suite used to choose")
    ap.add_argument("--test-suite", action="append", default=[], type=Path, help="generated suite only reported")
    ap.add_argument("--ubfc", type=Path, help="UBFC-rPPG folder for the held-out columns (omitted: those columns show —)")
    ap.add_argument("--out", default=str(ROOT / "results" / "model_selection.md"))
    args = ap.parse_args()
    try:
        check_suites(args.val_suite + args.test_suite)
    except DatasetError as e:
        ap.error(str(e))
    if args.ubfc is not None and not args.ubfc.is_dir():
        ap.error(f"{args.ubfc}: no such folder (--ubfc takes the UBFC-rPPG copy, e.g. ../shared/data/real/ubfc_rppg_h264)")
    val = [f"val {p.name} MAE" for p in args.val_suite]
    test = [f"test {p.name} MAE" for p in args.test_suite]
    head = ["predictor", "synth grid MAE", "synth, HR < 62 bpm", *val, "val score", *test, "UBFC held-out MAE", "UBFC held-out RMSE"]
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    pooled = {}  # predictor label -> {"test": (errors, recordings), "ubfc": (errors, recordings)}
    with tempfile.TemporaryDirectory() as tmp:
        grid = synth_grid(Path(tmp))
        for name, ck in [("model", m) for m in args.models] + [(m, None) for m in args.methods]:
            err = grid_errors(grid, name, ck)
            low = np.array([abs(e) for (t, _), e in zip(grid, err) if t < 62])
            val_mae = [np.mean(np.abs(clip_errors(p, name, ck, cache_dir=CACHE)[0])) for p in args.val_suite]
            tests = [clip_errors(p, name, ck, cache_dir=CACHE) for p in args.test_suite]
            test_mae = [np.mean(np.abs(e)) for e, _ in tests]
            score = np.mean([np.mean(np.abs(err)), *val_mae])
            u = clip_errors(args.ubfc, name, ck, split=SPLIT, cache_dir=CACHE) if args.ubfc else None
            ub = ["—", "—"] if u is None else [f"{np.mean(np.abs(u[0])):.2f}", f"{np.sqrt(np.mean(u[0] ** 2)):.2f}"]
            label = f"model `{ck}`" if ck else name
            cells = [label, f"{np.mean(np.abs(err)):.2f}", f"{low.mean():.2f}", *(f"{v:.2f}" for v in val_mae), f"{score:.2f}"]
            rows.append("| " + " | ".join(cells + [f"{v:.2f}" for v in test_mae] + ub) + " |")
            print(rows[-1], flush=True)
            if tests:
                pooled.setdefault(label, {})["test"] = pool_errors(tests)
            if u is not None:
                pooled.setdefault(label, {})["ubfc"] = u
    rows += paired_rows([f"model `{m}`" for m in args.models], args.methods, pooled)
    write_report(args.out, (
        f"Synthetic grid: {len(GRID_BPM)} rates × {len(GRID_SEEDS)} seeds, 10-s 640×480 clips, CRF 10. "
        "Val score: mean MAE over the grid and the val suites (what we choose by). "
        "UBFC: held-out subjects of `experiments/splits/ubfc_h264_holdout.json`, 10-s clips. MAE/RMSE in bpm. "
        "Paired rows: a model's MAE minus a method's on the same clips (test suites pooled), with a 95 % bootstrap "
        "interval over recordings; an interval that contains 0 does not tell the two apart."
    ), rows)


if __name__ == "__main__":
    main()
