"""Comparing predictors on the same clips, for the experiment scripts (model selection, ablation, cross-validation).

Every error here is predicted − true heart rate in bpm, scored by the evaluation itself: ``clip_errors`` runs
``eval.evaluate`` (10-s clips of a UBFC-layout folder), ``grid_errors`` reads whole synthetic clips with
``eval.whole.recording_hr``. ``pool_errors`` joins several folders or folds for one paired bootstrap
(``eval.metrics.paired_mae_difference``), and ``write_report`` writes a markdown table atomically.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pseudopulse.errors import DatasetError
from pseudopulse.eval.whole import recording_hr
from pseudopulse.io import atomic_write_text
from pseudopulse.predictors import resolve_predictor

GRID_BPM = (45, 50, 55, 60, 70, 85, 100, 120, 140)  # heart rates of the synthetic selection grid (bpm)
GRID_SEEDS = (11, 12)


def synth_grid(folder: Path) -> list[tuple[float, object]]:
    """Render the selection grid into ``folder``: one 10-s 640×480 clip (30 Hz, x264 CRF 10) per rate of
    ``GRID_BPM`` and seed of ``GRID_SEEDS``; returns (true mean HR in bpm, STMap) per clip."""
    from pseudopulse.stmap import extract_stmap
    from pseudopulse.synth import SynthConfig, render

    out = []
    for hr in GRID_BPM:
        for seed in GRID_SEEDS:
            path = Path(folder) / f"hr{hr}-s{seed}.mp4"
            cfg = SynthConfig(hr_bpm=float(hr), duration_s=10.0, fps=30.0, width=640, height=480, seed=seed, crf=10)
            truth = render(cfg, path)
            out.append((truth.mean_hr_bpm, extract_stmap(path)))
    return out


def grid_errors(grid, method: str, model: str | None = None) -> np.ndarray:
    """Signed errors (bpm) of ``method`` (``model``: its model file) on the ``synth_grid`` clips, each read whole."""
    pred = resolve_predictor(method, model)
    return np.array([recording_hr(stmap, pred).hr_bpm - true for true, stmap in grid])


def clip_errors(
    root: Path, method: str, model: str | None = None, *, split: Path | None = None, cache_dir: Path | None = None
) -> tuple[np.ndarray, list[str]]:
    """Signed 10-s clip errors (bpm) of ``method`` on a UBFC-layout folder (every recording, or the test part of
    the ``split`` file), and the recording each clip comes from (``folder/recording``, for the paired bootstrap).
    ``cache_dir``: STMap cache. A recording that fails is left out (``evaluate`` reports it); callers that pair
    predictors compare the recording lists."""
    from pseudopulse.datasets import get_dataset
    from pseudopulse.datasets.splits import read_split
    from pseudopulse.eval.recording import EvalConfig
    from pseudopulse.eval.runner import evaluate

    root = Path(root)
    ds = get_dataset("ubfc", root)
    recs = read_split(split).select(ds, "test") if split else None
    cfg = EvalConfig(cache_dir=None if cache_dir is None else str(cache_dir), model=model)
    res = evaluate(ds, method, recordings=recs, config=cfg, workers=1)
    return np.array([c.error_bpm for c in res.clips]), [f"{root.name}/{c.recording}" for c in res.clips]


def pool_errors(parts: list[tuple[np.ndarray, list[str]]]) -> tuple[np.ndarray, list[str]]:
    """Concatenate ``clip_errors`` results (several folders or folds) into one (errors, recordings) pair."""
    return np.concatenate([e for e, _ in parts]), [r for _, recs in parts for r in recs]


def check_suites(folders: list[Path]) -> None:
    """``DatasetError`` naming the first folder that is not a UBFC-layout suite (``<subject>/vid.*``)."""
    for folder in folders:
        if not any(Path(folder).glob("*/vid.*")):
            raise DatasetError(
                f"{folder} is not a UBFC-layout folder (make a generated suite with `pseudopulse synth {folder} --n 30 --seed N`)"
            )


def write_report(out: str | Path, intro: str, rows: list[str], *, echo: bool = False) -> None:
    """Atomically write ``intro``, a blank line and the markdown ``rows`` to ``out`` (and print them if ``echo``)."""
    text = intro + "\n\n" + "\n".join(rows) + "\n"
    atomic_write_text(out, text)
    if echo:
        print(text)
