"""`pseudopulse robustness`: RMSE vs H.264 CRF (paper Fig. 4), mean ± std over seeds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer

from pseudopulse.cli.app import app
from pseudopulse.stmap.cache import DEFAULT_CACHE_DIR
from pseudopulse.predictors import predictor_help
from pseudopulse.cli.common import console, err_console, run_cli


@app.command()
@run_cli
def robustness(
    crf_rest: Optional[List[int]] = typer.Argument(None, hidden=True, help="More CRFs after --crf (--crf 6 10 14 18)."),
    dataset: str = typer.Option("ubfc", "--dataset", "-d", help="Dataset name or folder path (as for evaluate)."),
    root: Optional[Path] = typer.Option(None, "--root", help="Dataset root folder."),
    method: str = typer.Option("pos", "--method", "-m", help=predictor_help()),
    crf: List[int] = typer.Option([6, 10, 14, 18], "--crf", help="libx264 CRFs, e.g. --crf 6 --crf 10 (or: --crf 6 10 14 18)."),
    seeds: int = typer.Option(10, help="Seeds 0..N-1: seed 0 = clips from 0 s, seed k = random clip-grid offset."),
    model: Optional[Path] = typer.Option(None, "--model", help="Model file for --method model (default: the shipped weights)."),
    protocol: Optional[str] = typer.Option(None, help="Protocol whose recordings are used (default: the dataset's)."),
    subset: str = typer.Option("auto", help="auto (methods: all; model: test), test, train, all."),
    limit: Optional[int] = typer.Option(None, help="Use only the first N selected recordings."),
    roi: str = typer.Option("face", help="face or full-frame."),
    preset: str = typer.Option("medium", help="libx264 preset for the re-encode."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Output folder (default results/robustness-<dataset>-<method>)."),
    work_dir: Optional[Path] = typer.Option(None, help="Where re-encoded videos go (default OUT/videos)."),
    cache_dir: Path = typer.Option(DEFAULT_CACHE_DIR, "--cache-dir", help="STMap cache folder (re-runs skip decoding)."),
    workers: Optional[int] = typer.Option(None, help="Worker processes (default min(2, CPUs))."),
    json_out: bool = typer.Option(False, "--json", help="Print the result JSON on stdout."),
    no_progress: bool = typer.Option(False, "--no-progress", help="Hide progress."),
):
    """Re-encode the test videos with libx264 at each CRF, evaluate, and plot RMSE mean ± std over seeds."""
    from pseudopulse.cli.evaluate import eval_progress
    from pseudopulse.datasets import get_dataset
    from pseudopulse.eval.figures import plot_robustness
    from pseudopulse.predictors import resolve_predictor
    from pseudopulse.eval.robustness import robustness as run_robustness
    from pseudopulse.eval.runner import EvalConfig
    from pseudopulse.eval.selection import select_recordings
    from pseudopulse.io import atomic_write_text

    crfs = _expand(list(crf) + list(crf_rest or []))
    ds = get_dataset(dataset, root)
    model_file = str(model) if model else None
    pred = resolve_predictor(method, model_file)
    sel = select_recordings(ds, kind=pred.kind, protocol=protocol, subset=subset)
    recs = sel.recordings[:limit] if limit else sel.recordings
    out = out or Path("results") / f"robustness-{ds.name}-{pred.name}"
    config = EvalConfig(roi=roi, cache_dir=str(cache_dir), model=model_file, keep_pseudo=False)

    def say(msg: str) -> None:
        if not no_progress:
            err_console.print(msg, highlight=False)

    with eval_progress(f"{ds.name}/{pred.name}", enabled=not no_progress) as update:
        res = run_robustness(ds, pred.name, recs, crfs=crfs, seeds=seeds, work_dir=work_dir or out / "videos",
                             config=config, workers=workers, preset=preset, progress=say, eval_progress=update)  # fmt: skip
    d = res.to_dict()
    d["recordings"] = [r.name for r in recs]
    atomic_write_text(out / "robustness.json", json.dumps(d, indent=2) + "\n")
    lines = [f"### Compression robustness — {pred.name} on {ds.name} ({len(recs)} recordings, {len(res.seeds)} seeds)", "",
             "| CRF | RMSE mean | RMSE std | MAE mean |", "|---:|---:|---:|---:|"]  # fmt: skip
    import numpy as np

    for i, c in enumerate(res.crfs):
        lines.append(f"| {c} | {res.rmse_mean[i]:.2f} | {res.rmse_std[i]:.2f} | {float(np.nanmean(res.mae[i])):.2f} |")
    lines += ["", "Seeds: " + d["seed_meaning"] + "."]
    md = "\n".join(lines) + "\n"
    atomic_write_text(out / "robustness.md", md)
    fig = plot_robustness(res.crfs, res.rmse_mean, res.rmse_std, out / "figures" / "robustness.png",
                          label=pred.name, title=f"{pred.name} on {ds.name}: RMSE vs CRF")  # fmt: skip
    for c in res.crfs:
        for name, err in res.results[(c, res.seeds[0])].failures:
            err_console.print(f"[red]failed (CRF {c}):[/] {name}: {err}", highlight=False)
    if json_out:
        print(json.dumps(d))
        return
    console.print(md, markup=False, highlight=False, soft_wrap=True)
    for p in (out / "robustness.json", out / "robustness.md", fig):
        err_console.print(f"wrote {p}", highlight=False)


def _expand(values: list[int]) -> list[int]:
    crfs = sorted(set(int(v) for v in values))
    if not crfs:
        raise typer.BadParameter("give at least one --crf")
    return crfs
