"""`pseudopulse benchmark peer`: accuracy and speed beside open-rppg on the same recordings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from pseudopulse.cli.app import benchmark_app
from pseudopulse.cli.common import console, err_console, run_cli


@benchmark_app.command("peer")
@run_cli
def benchmark_peer(
    root: Path = typer.Option(..., help="Dataset folder with ground truth (e.g. UBFC-rPPG layout)."),
    dataset: str = typer.Option("ubfc", help="Dataset name (ubfc, pure, vipl, v4v, folder)."),
    method: list[str] = typer.Option(["pos"], "--method", "-m", help="Our method(s) to run (repeatable)."),
    peer_python: Optional[str] = typer.Option(None, help="Python of a venv with `pip install open-rppg` (omit to skip the peer)."),
    peer_model: str = typer.Option("FacePhys.rlap", help="open-rppg model name."),
    model: Optional[Path] = typer.Option(None, "--model", help="Model file for --method model (default: the shipped weights)."),
    out: Path = typer.Option(Path("results"), help="Folder for peer.md and peer.json."),
):
    """Whole-recording HR error and × real-time speed of pseudopulse and open-rppg, side by side."""
    from pseudopulse.bench.peer import benchmark_peer as run, to_markdown
    from pseudopulse.datasets import get_dataset
    from pseudopulse.io import atomic_write_text

    err_console.print("running ... (one recording at a time; this takes minutes)")
    if "model" in method:
        from pseudopulse.model import load_predictor

        load_predictor(model)  # a bad model file fails here, before the peer's minutes-long run
    result = run(get_dataset(dataset, root), list(method), peer_python, peer_model, model=model)
    md = to_markdown(result)
    atomic_write_text(out / "peer.md", md)
    atomic_write_text(out / "peer.json", json.dumps(result, indent=1) + "\n")
    console.print(md)
    err_console.print(f"wrote {out / 'peer.md'} and {out / 'peer.json'}")
