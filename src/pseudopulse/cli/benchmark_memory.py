"""`pseudopulse benchmark memory`: peak RSS of `predict` on generated videos of growing length."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import typer

from pseudopulse.cli.app import benchmark_app
from pseudopulse.cli.common import check_output_folder, comma_list, console, err_console, run_cli


@benchmark_app.command("memory")
@run_cli
def benchmark_memory(
    out: Path = typer.Option(Path("results/memory"), "--out", "-o", help="Folder for memory.md and memory.json."),
    minutes: list[str] = typer.Option(["1,10,60"], "--minutes", help="Video lengths in minutes (comma-separated)."),
    method: str = typer.Option("model", "--method", "-m", help="Predictor to run (default: the shipped model)."),
):
    """Peak RSS of `predict` on 64x48-px generated streams of each length (takes minutes for 60 min)."""
    from pseudopulse.bench.memory import benchmark_memory as run, to_markdown
    from pseudopulse.errors import SignalError
    from pseudopulse.io import atomic_write_text

    try:
        lengths = [float(m) for m in comma_list(minutes)]
    except ValueError:
        raise SignalError(f"--minutes {','.join(minutes)}: give numbers of minutes, e.g. --minutes 1,10,60") from None
    if not lengths or any(not (0.09 <= m <= 600) for m in lengths):
        raise SignalError(f"--minutes {','.join(minutes)}: each length must be 0.09..600 min (predict needs >= 5 s)")
    check_output_folder(out, "--out")
    with tempfile.TemporaryDirectory(prefix="pseudopulse-memory-") as tmp:
        result = run(lengths, work_dir=tmp, method=method, progress=lambda msg: err_console.print(msg, highlight=False))
    md = to_markdown(result)
    atomic_write_text(out / "memory.md", md)
    atomic_write_text(out / "memory.json", json.dumps(result, indent=1) + "\n")
    console.print(md)
