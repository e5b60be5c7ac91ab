"""`pseudopulse ensemble`: combine trained model files into one model file read as their ensemble."""

from __future__ import annotations

from pathlib import Path
from typing import List

import typer

from pseudopulse.cli.app import app
from pseudopulse.cli.common import console, run_cli


@app.command("ensemble")
@run_cli
def ensemble_cmd(
    models: List[Path] = typer.Argument(..., help="Model files from `pseudopulse train` / `adapt` (two or more)."),
    out: Path = typer.Option(..., "--out", "-o", help="Model file to write (usable as --model FILE with method model)."),
):
    """One model whose wave is the mean of the members' z-scored waves (networks of one recipe, other seeds)."""
    from pseudopulse.model.file import export_ensemble

    n = export_ensemble(out, models)
    console.print(f"wrote {out}: ensemble of {n} networks")
