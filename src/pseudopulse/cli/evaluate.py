"""`pseudopulse evaluate`: score a method or a trained model on a dataset, the paper's way (10-s clips)."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Optional

import typer

from pseudopulse.cli.app import app
from pseudopulse.stmap.cache import DEFAULT_CACHE_DIR
from pseudopulse.predictors import predictor_help
from pseudopulse.cli.common import console, err_console, run_cli
from pseudopulse.signal import DEFAULT_BAND_HZ
from pseudopulse.signal.confidence import DEFAULT_THRESHOLD


@contextlib.contextmanager
def eval_progress(description: str, enabled: bool = True):
    """Rich progress on stderr for ``EvalProgress`` events: recordings, clips done, fps, ETA."""
    if not enabled:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    progress = Progress(
        TextColumn("[progress.description]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[info]}"), TimeElapsedColumn(), console=err_console, transient=True,
    )  # fmt: skip
    with progress:
        task = progress.add_task(description, total=None, info="")

        def update(p) -> None:
            eta = "?" if p.eta_s is None else f"{p.eta_s / 60:.0f} min" if p.eta_s >= 90 else f"{p.eta_s:.0f} s"
            failed = f", [red]{p.failed} failed[/]" if p.failed else ""
            info = f"recordings · {p.clips_done} clips · {p.fps:.0f} frames/s · ETA {eta}{failed}"
            progress.update(task, completed=p.recordings_done, total=p.recordings_total, info=info)

        yield update


def report(result, paths: dict, figures: dict, json_out: bool) -> None:
    from pseudopulse.eval.tables import to_markdown

    for name, err in result.failures:
        err_console.print(f"[red]failed:[/] {name}: {err}", highlight=False)
    for w in result.warnings:
        err_console.print(f"[yellow]warning:[/] {w}", highlight=False)
    if json_out:
        d = result.to_dict()
        d["files"] = {k: str(v) for k, v in {**paths, **figures}.items()}
        from pseudopulse.eval.tables import _json_safe

        print(json.dumps(_json_safe(d)))
        return
    console.print(to_markdown(result), markup=False, highlight=False, soft_wrap=True)
    for kind, path in {**paths, **figures}.items():
        err_console.print(f"wrote {kind}: {path}", highlight=False)


@app.command()
@run_cli
def evaluate(
    dataset: str = typer.Option(..., "--dataset", "-d", help="ubfc, pure, vipl, v4v, folder, or a folder path (layout detected)."),
    root: Optional[Path] = typer.Option(None, "--root", help="Dataset root folder (not needed when --dataset is a path)."),
    method: str = typer.Option("model", "--method", "-m", help=predictor_help()),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Output folder (default results/eval-<dataset>-<method>)."),
    model: Optional[Path] = typer.Option(None, "--model", help="Model file for --method model, from `pseudopulse train`/`adapt` (default: the shipped weights)."),
    protocol: Optional[str] = typer.Option(None, help="ubfc, pure, vipl, v4v, pure->ubfc, all (default: the dataset's)."),
    fold: Optional[int] = typer.Option(None, help="VIPL-HR test fold 1..5 (default: all five folds)."),
    subset: str = typer.Option("auto", help="auto (methods: all; model: test), test, train, all."),
    split_file: Optional[Path] = typer.Option(None, help="Read the split from this JSON instead of the protocol."),
    clip_s: Optional[float] = typer.Option(None, help="Clip length in s (default: the paper's, 10 s; V4V 5 s)."),
    per_clip: Optional[bool] = typer.Option(None, "--per-clip/--whole", help="Predict each clip alone / the whole recording then cut (default: model per clip, methods whole)."),
    roi: str = typer.Option("face", help="face, or full-frame for videos that are already skin crops."),
    band: tuple[float, float] = typer.Option(DEFAULT_BAND_HZ, help="Heart-rate band in Hz (low high)."),
    workers: Optional[int] = typer.Option(None, help="Worker processes (default min(2, CPUs)); 1 = in process."),
    cache_dir: Path = typer.Option(DEFAULT_CACHE_DIR, "--cache-dir", help="STMap cache folder (re-runs skip decoding)."),
    limit: Optional[int] = typer.Option(None, help="Score only the first N selected recordings (quick look)."),
    min_confidence: float = typer.Option(DEFAULT_THRESHOLD, "--min-confidence", min=0.0, max=1.0, help="Clips at or above this confidence count as reliable (coverage, MAE of reliable clips)."),
    confidence: bool = typer.Option(True, "--confidence/--no-confidence", help="Judge every clip's confidence (adds the trust table and figure)."),
    figures: bool = typer.Option(True, "--figures/--no-figures", help="Write figures/*.png."),
    json_out: bool = typer.Option(False, "--json", help="Print the results JSON on stdout."),
    no_progress: bool = typer.Option(False, "--no-progress", help="Hide the progress bar."),
):
    """Evaluate METHOD on a dataset: per-clip HR, MAE/RMSE/r/Std/MAPE/SNR, beside the paper's published numbers."""
    from pseudopulse.datasets import get_dataset, write_split
    from pseudopulse.eval.figures import write_figures
    from pseudopulse.predictors import resolve_predictor
    from pseudopulse.eval.runner import EvalConfig, evaluate as run_evaluate
    from pseudopulse.eval.selection import select_recordings
    from pseudopulse.eval.tables import write_tables

    ds = get_dataset(dataset, root)
    model_file = str(model) if model else None
    pred = resolve_predictor(method, model_file)
    sel = select_recordings(ds, kind=pred.kind, protocol=protocol, fold=fold, subset=subset,
                            split_file=str(split_file) if split_file else None)  # fmt: skip
    recs = sel.recordings[:limit] if limit else sel.recordings
    out = out or Path("results") / f"eval-{ds.name}-{pred.name}"
    split_path = write_split(out / "split.json", sel.split)
    config = EvalConfig(clip_s=clip_s, band_hz=tuple(band), roi=roi, cache_dir=str(cache_dir), per_clip=per_clip, model=model_file,
                        confidence=confidence, min_confidence=min_confidence)  # fmt: skip
    err_console.print(
        f"evaluating {pred.name} on {len(recs)} {ds.name} recording(s) ({sel.subset} of {sel.split.protocol}); "
        f"split written to {split_path}",
        highlight=False,
    )
    with eval_progress(f"{ds.name}/{pred.name}", enabled=not no_progress) as update:
        result = run_evaluate(ds, pred.name, recordings=recs, config=config, protocol=sel.split.protocol,
                              subset=sel.subset, split_rule=sel.split.rule, workers=workers, progress=update,
                              groups=sel.groups)  # fmt: skip
    paths = write_tables(result, out)
    paths["split"] = split_path
    figs = write_figures(result, out) if figures else {}
    report(result, paths, figs, json_out)
    if result.metrics is None:
        err_console.print("[bold red]error:[/] no clip could be scored (see the failures above)")
        raise typer.Exit(2)
