"""Train every row of the paper's Table 3 with the shipped model's recipe and score it; writes results/ablation.md.

Each row is one `pseudopulse train --ablation ROW` on the shipped corpus (UBFC-rPPG train subjects and the unlabeled
clips without labels, ``--synth`` semi-synthetic clips; UBFC subjects 3, 4, 5, 9 held out) with the model card's
settings (40 epochs, lr 3e-3 cosine, flicker, flat labels, in-band and read-out-weighted ranking), for each seed. Runs live in
``--runs`` and are skipped (or resumed) when already there, so an interrupted benchmark continues. Every network is
then scored like `select_model.py`: the synthetic grid, the generated suites given with ``--suite`` and the held-out
UBFC subjects; POS, 2SR and CHROM are scored beside them. Usage (from the repo root, with ../shared/data):

    .venv/bin/python experiments/ablation.py --seeds 0 1 --jobs 2 --suite runs/synth-s1 --suite runs/synth-s3
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from pseudopulse.errors import DatasetError
from pseudopulse.eval.compare import check_suites, clip_errors, grid_errors, synth_grid, write_report
from pseudopulse.synth.config import SYNTH_TRAIN_SIZE

ROOT = Path(__file__).resolve().parents[1]
UBFC = ROOT.parent / "shared" / "data" / "real" / "ubfc_rppg_h264"  # training corpus of the shipped recipe
SPLIT = ROOT / "experiments" / "splits" / "ubfc_h264_holdout.json"
CACHE = ROOT / "results" / "cache" / "stmap"
ROWS = ("plain-ssl", "pseudo", "gradual", "ranking", "corect", "full")
UNLABELED = ROOT.parent / "shared" / "data" / "unlabeled"
RECIPE = ["--recipe", "shipped-member1"]  # the model card's settings, from src/pseudopulse/train/recipes/shipped-member1.toml


def train_command(row: str, seed: int, run: Path, synth: int, synth_size: str) -> list[str]:
    data = ["--data", f"ubfc:{UBFC}", "--holdout", "3,4,5,9", "--data", str(UNLABELED), "--synth", str(synth), "--synth-size", synth_size]
    resume = ["--resume"] if (run / "checkpoint.pt").is_file() else []
    return [sys.executable, "-m", "pseudopulse", "train", *data, "--ablation", row, *RECIPE, "--seed", str(seed), "--out", str(run), *resume]


def train_all(jobs: list[tuple[str, int, Path]], parallel: int, synth: int, synth_size: str) -> None:
    """Run the missing trainings, ``parallel`` at a time; a failed run stops the benchmark with its log's tail."""
    todo = [j for j in jobs if not (j[2] / "model.pt").is_file()]
    running: list[tuple[subprocess.Popen, Path]] = []
    while todo or running:
        while todo and len(running) < parallel:
            row, seed, run = todo.pop(0)
            run.mkdir(parents=True, exist_ok=True)
            print(f"training {row} seed {seed} -> {run}", flush=True)
            with open(run / "train.log", "a") as log:
                running.append((subprocess.Popen(train_command(row, seed, run, synth, synth_size), stdout=log, stderr=subprocess.STDOUT), run))
        time.sleep(2)
        for proc, run in list(running):
            if proc.poll() is None:
                continue
            running.remove((proc, run))
            if proc.returncode != 0:
                tail = (run / "train.log").read_text().strip().splitlines()[-3:]
                sys.exit(f"training in {run} failed (exit {proc.returncode}):\n" + "\n".join(tail))


def scores(name: str, checkpoint: str | None, grid, suites: list[Path]) -> list[float]:
    """MAE (bpm): grid, each suite, UBFC held-out (nan without ../shared)."""
    g = np.mean(np.abs(grid_errors(grid, name, checkpoint)))
    s = [np.mean(np.abs(clip_errors(p, name, checkpoint, cache_dir=CACHE)[0])) for p in suites]
    u = np.mean(np.abs(clip_errors(UBFC, name, checkpoint, split=SPLIT, cache_dir=CACHE)[0])) if UBFC.is_dir() else float("nan")
    return [g, *s, u]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    ap.add_argument("--rows", nargs="+", choices=ROWS, default=list(ROWS))
    ap.add_argument("--jobs", type=int, default=2, help="trainings at once (each uses 1 torch thread)")
    ap.add_argument("--synth", type=int, default=30, help="semi-synthetic training clips")
    ap.add_argument("--synth-size", default="x".join(map(str, SYNTH_TRAIN_SIZE)), help="their frame size WxH")
    ap.add_argument("--suite", action="append", default=[], type=Path, help="generated suite to score on (repeatable)")
    ap.add_argument("--runs", type=Path, default=ROOT / "runs" / "ablation")
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "ablation.md")
    args = ap.parse_args()
    if not UBFC.is_dir() or not UNLABELED.is_dir():
        ap.error(f"needs the training data in {UBFC} and {UNLABELED}")
    try:
        check_suites(args.suite)
    except DatasetError as e:
        ap.error(str(e))
    jobs = [(row, seed, args.runs / f"{row}-s{seed}") for row in args.rows for seed in args.seeds]
    train_all(jobs, args.jobs, args.synth, args.synth_size)
    cols = ["synth grid", *(f"{p.name}" for p in args.suite), "UBFC held-out"]
    head = ["row", *(f"{c} (mean; per seed)" for c in cols)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    with tempfile.TemporaryDirectory() as tmp:
        grid = synth_grid(Path(tmp))
        for row in args.rows:
            per_seed = np.array([scores("model", str(run / "model.pt"), grid, args.suite) for r, _, run in jobs if r == row])
            cells = [f"{m:.2f}; " + " / ".join(f"{v:.2f}" for v in col) for m, col in zip(per_seed.mean(0), per_seed.T)]
            lines.append(f"| {row} | " + " | ".join(cells) + " |")
            print(lines[-1], flush=True)
        for method in ("pos", "2sr", "chrom"):
            lines.append(f"| {method} | " + " | ".join(f"{v:.2f}" for v in scores(method, None, grid, args.suite)) + " |")
            print(lines[-1], flush=True)
    write_report(args.out, (
        f"Table-3 rows trained with the shipped recipe and {args.synth} synthetic clips ({args.synth_size}), seeds "
        f"{', '.join(map(str, args.seeds))}; MAE (bpm) on 10-s clips. "
        "Synth grid: 45–140 bpm × 2 seeds, 640×480, CRF 10. UBFC held-out: subjects 3, 4, 5, 9 (never trained on)."
    ), lines)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
