"""`pseudopulse benchmark live`: CPU, latency and memory of `pseudopulse live` on a looped generated face clip."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Optional

import typer

from pseudopulse.cli.app import benchmark_app
from pseudopulse.cli.common import check_output_folder, comma_list, console, err_console, run_cli


@benchmark_app.command("live")
@run_cli
def benchmark_live(
    out: Path = typer.Option(Path("results/live"), "--out", "-o", help="Folder for live.md and live.json."),
    realtime: float = typer.Option(60.0, "--realtime", min=0.0, help="Seconds of the realtime session (0: skip it)."),
    minutes: list[str] = typer.Option(["1,10,60"], "--minutes", help="Stream minutes at which the memory session reads RSS (comma-separated; the longest sets its length; 0: skip it)."),
    method: str = typer.Option("model", "--method", "-m", help="Predictor to run (default: the shipped model)."),
    clip: Optional[Path] = typer.Option(None, "--clip", help="A face video to loop instead of the generated 640x480 one."),
):
    """CPU use and latency at --pace realtime, and RSS over a long looped session (Linux; takes the session's time)."""
    import sys

    from pseudopulse.bench.live import benchmark_live as run, to_markdown
    from pseudopulse.errors import SignalError, VideoError
    from pseudopulse.io import atomic_write_text

    if not sys.platform.startswith("linux"):
        raise SignalError("benchmark live reads /proc: run it on Linux")
    try:
        lengths = [float(m) for m in comma_list(minutes) if float(m) > 0]
    except ValueError:
        raise SignalError(f"--minutes {','.join(minutes)}: give numbers of minutes, e.g. --minutes 1,10,60") from None
    if clip is not None and not clip.is_file():
        raise VideoError(f"--clip {clip}: no such file")
    check_output_folder(out, "--out")
    with tempfile.TemporaryDirectory(prefix="pseudopulse-live-") as tmp:
        result = run(work_dir=tmp, realtime_s=realtime, memory_minutes=lengths, method=method, clip=clip,
                     progress=lambda msg: err_console.print(msg, highlight=False))  # fmt: skip
    md = to_markdown(result)
    atomic_write_text(out / "live.md", md)
    atomic_write_text(out / "live.json", json.dumps(result, indent=1) + "\n")
    console.print(md)
