"""`pseudopulse preprocess`: build the STMap and pseudo-label cache of a corpus, locally or on a Ray cluster."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer
from rich.markup import escape

from pseudopulse.cli.app import app
from pseudopulse.cli.common import check_output_folder, console, err_console, progress_bar, run_cli
from pseudopulse.stmap.cache import DEFAULT_CACHE_DIR


@app.command("preprocess")
@run_cli
def preprocess_cmd(
    roots: List[str] = typer.Argument(..., help="Folders of videos, videos, dataset folders or NAME:ROOT (as train --data)."),
    cache_dir: Path = typer.Option(DEFAULT_CACHE_DIR, "--cache-dir", help="Cache to fill (the one train/evaluate/adapt/predict --cache-dir read); may sit on a shared filesystem."),
    engine: str = typer.Option("local", "--engine", help="local (this machine) | ray (a Ray cluster)."),
    workers: Optional[int] = typer.Option(None, "--workers", min=1, help="Parallel workers: local processes (default 1); ray: CPUs of the local cluster started, or tasks in flight on --ray-address (default: all its CPUs)."),
    ray_address: Optional[str] = typer.Option(None, "--ray-address", help="Address of a running Ray cluster (ray start --head prints it; 'auto' finds a local one)."),
    recipe: Optional[str] = typer.Option(None, "--recipe", "-r", help="Build the pseudo labels this recipe trains with (its fs and pseudo_filter; default: train's default recipe)."),
    roi: Optional[str] = typer.Option(None, "--roi", help="face | full-frame (default: the recipe's)."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary (and every video's result) as JSON on stdout."),
):
    """Extract every video's STMap and 2SR pseudo label into the cache, so train/evaluate decode nothing.

    Re-runs skip finished entries; a failed video is retried once and listed (exit code 1 when any failed)."""
    from pseudopulse.scale.engines import get_engine
    from pseudopulse.scale.preprocess import plan_jobs, preprocess
    from pseudopulse.train.recipe import DEFAULT_RECIPE, load_recipe

    get_engine(engine)  # an unknown engine is refused before any work
    if ray_address is not None and engine != "ray":
        raise typer.BadParameter(f"--ray-address {ray_address} needs --engine ray")
    check_output_folder(cache_dir, "--cache-dir")
    if engine == "local":
        workers = workers or 1
    rec = load_recipe(recipe or DEFAULT_RECIPE)
    cfg = rec.config()
    roi = roi or rec.data.roi
    if roi not in ("face", "full-frame"):
        raise typer.BadParameter(f"--roi {roi}: use face or full-frame")
    jobs = plan_jobs(roots, cache_dir=cache_dir, roi=roi, fs=cfg.fs, pseudo_filter=cfg.pseudo_filter)
    with progress_bar("preprocessing", total=len(jobs), enabled=not as_json) as update:
        summary = preprocess(jobs, engine=engine, workers=workers, address=ray_address,
                             progress=lambda done, total, name: update(done, total))  # fmt: skip
    if as_json:
        print(json.dumps(summary.to_dict()))
    else:
        for r in summary.results:
            for w in r.warnings:
                err_console.print(f"[yellow]warning:[/] {escape(r.name)}: {escape(w)}", highlight=False, soft_wrap=True)
            if r.status == "failed":
                err_console.print(f"[red]failed:[/] {escape(r.name)}: {escape(r.error)}", highlight=False, soft_wrap=True)
        c = summary.counts
        console.print(f"{len(jobs)} video(s), {summary.video_h:.2f} h: {c['done']} done, {c['skipped']} skipped, "
                      f"{c['failed']} failed in {summary.wall_s:.1f} s ({summary.engine}, {summary.workers or 'all'} "
                      f"worker(s)); {summary.videos_per_s:.2f} videos/s, {summary.video_s_per_s:.1f} video-s/s; "
                      f"cache {cache_dir}", highlight=False)  # fmt: skip
    if summary.counts["failed"]:
        raise typer.Exit(1)
