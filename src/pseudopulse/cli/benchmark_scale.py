"""`pseudopulse benchmark scale`: preprocessing throughput (1 vs 2 workers), DDP epoch time (1 vs 2 processes) and
an extrapolation to 1,000 h of video (writes scale.md/.json)."""

from __future__ import annotations

from pathlib import Path

import typer

from pseudopulse.cli.app import benchmark_app
from pseudopulse.cli.common import console, err_console, run_cli


@benchmark_app.command("scale")
@run_cli
def benchmark_scale(
    root: Path = typer.Argument(..., help="Folder holding videos (searched recursively), e.g. a UBFC-rPPG copy."),
    out: Path = typer.Option(Path("results"), "--out", help="Folder for scale.md and scale.json."),
    videos: int = typer.Option(3, "--videos", min=1, help="Videos to use (the first under ROOT)."),
    epochs: int = typer.Option(2, "--epochs", min=1, help="Epochs per timing (the first is not counted when there are more)."),
    cores_per_node: int = typer.Option(32, "--cores-per-node", min=1, help="Cores of a node in the extrapolation."),
):
    """Time preprocessing and DDP training at 1 and 2 workers; extrapolate to 1,000 h of video on N nodes."""
    from pseudopulse.bench.scale import run_scale_benchmark, scale_markdown
    from pseudopulse.errors import DatasetError

    if not root.is_dir():
        raise DatasetError(f"{root}: no such folder; pass a folder holding videos")
    res = run_scale_benchmark(root, out, n_videos=videos, epochs=epochs, cores_per_node=cores_per_node,
                              progress=lambda msg: err_console.print(f"[dim]{msg}[/]"))  # fmt: skip
    console.print(scale_markdown(res), highlight=False)
    console.print(f"wrote {out / 'scale.md'} and {out / 'scale.json'}")
