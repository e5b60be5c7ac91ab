"""`pseudopulse demo`: predict on a semi-synthetic clip with a known pulse and report the error."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Optional

import typer

from pseudopulse.cli.app import app
from pseudopulse.cli.common import console, err_console, progress_bar, run_cli


@app.command()
@run_cli
def demo(
    method: str = typer.Option("model", "--method", "-m", help="Method to run (see `pseudopulse predict --help`)."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Keep the clip and the prediction files here."),
    seed: int = typer.Option(0, help="Seed of the generated clip."),
):
    """Make a semi-synthetic face clip with a known heart rate, measure it, and show how close we get."""
    from pseudopulse.api import predict
    from pseudopulse.synth import demo_config, render

    config = demo_config(seed=seed)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(out) if out else Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        video = folder / "demo_face.mp4"
        err_console.print(
            f"rendering a {config.duration_s:.0f}-s {config.width}x{config.height} clip at {config.fps:g} fps "
            f"(face photo with a {config.hr_bpm:.1f}-bpm pulse, seed {seed}) ...",
            highlight=False,
        )
        truth = render(config, video)
        with progress_bar("measuring") as update:
            result = predict(video, method=method, progress=update)
        if out:
            from pseudopulse.report import write_prediction

            for kind, path in write_prediction(result, folder).items():
                err_console.print(f"wrote {kind}: {path}", highlight=False)
    true_hr = truth.mean_hr_bpm
    err = result.hr_bpm - true_hr
    verdict = "reliable" if result.reliable else "NOT RELIABLE"
    console.print(
        f"true heart rate {true_hr:.1f} bpm — measured [bold]{result.hr_bpm:.1f} bpm[/] with {method} "
        f"(error {err:+.1f} bpm; confidence {result.confidence:.2f}, {verdict}; SNR {result.snr_db:.1f} dB)",
        highlight=False,
    )
    for reason in result.reasons:
        console.print(f"  - {reason}", highlight=False)
    if abs(err) > 3.0:
        err_console.print("[red]the demo missed by more than 3 bpm[/]")
        raise typer.Exit(1)
