"""`pseudopulse predict VIDEO`: heart rate from a face video."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from pseudopulse.cli.app import app
from pseudopulse.predictors import predictor_help
from pseudopulse.cli.common import console, err_console, progress_bar, run_cli
from pseudopulse.signal import DEFAULT_BAND_HZ


@app.command()
@run_cli
def predict(
    video: Path = typer.Argument(..., help="Video file (any format ffmpeg reads) or a folder of image frames."),
    method: str = typer.Option("model", "--method", "-m", help=predictor_help()),
    model: Optional[Path] = typer.Option(None, "--model", help="Model file for --method model, from `pseudopulse train`/`adapt` (default: the shipped weights)."),
    roi: str = typer.Option("face", help="face (detect + track) or full-frame (video is already a skin crop)."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Folder for <name>.csv/.json/.png (wave, summary, plot)."),
    json_out: bool = typer.Option(False, "--json", help="Print exactly one JSON object on stdout (logs go to stderr)."),
    band: tuple[float, float] = typer.Option(DEFAULT_BAND_HZ, help="Heart-rate search band in Hz (low high)."),
    fps: Optional[float] = typer.Option(None, help="Frame rate for frame folders without timestamps (Hz)."),
    cache_dir: Optional[Path] = typer.Option(None, "--cache-dir", help="Cache folder for extracted STMaps (re-runs skip decoding)."),
    no_progress: bool = typer.Option(False, "--no-progress", help="Hide the progress bar."),
):
    """Estimate the heart rate (bpm) of the person in VIDEO."""
    from pseudopulse.api import predict as run_predict

    with progress_bar(f"decoding {video.name}", enabled=not no_progress) as update:
        result = run_predict(video, method=method, model=model, roi=roi, band_hz=tuple(band), fps=fps, cache_dir=cache_dir, progress=update)
    written = {}
    if out is not None:
        from pseudopulse.report import write_prediction

        written = write_prediction(result, out)
    summary = result.summary()
    if json_out:
        summary["files"] = {k: str(v) for k, v in written.items()}
        print(json.dumps(summary))
        return
    console.print(f"[bold]{result.hr_bpm:.1f} bpm[/]  (SNR {result.snr_db:.1f} dB, method {result.method})")
    console.print(
        f"{result.n_frames} frames, {result.duration_s:.1f} s at {result.fps:.2f} fps; "
        f"face lost {result.face_lost_s:.1f} s; {result.n_beats} beats, SDNN {result.sdnn_ms:.0f} ms, RMSSD {result.rmssd_ms:.0f} ms",
        highlight=False,
    )
    for kind, path in written.items():
        err_console.print(f"wrote {kind}: {path}", highlight=False)
