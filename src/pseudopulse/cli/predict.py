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
from pseudopulse.signal.confidence import CONFIDENCE_MEANING, DEFAULT_THRESHOLD


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
    min_confidence: float = typer.Option(DEFAULT_THRESHOLD, "--min-confidence", min=0.0, max=1.0, help="Confidence (0..1, the estimated probability that the reading is within 5 bpm of a contact PPG) at or above which a reading is marked reliable."),
    no_progress: bool = typer.Option(False, "--no-progress", help="Hide the progress bar."),
):
    """Estimate the heart rate (bpm) of the person in VIDEO."""
    from pseudopulse.api import predict as run_predict
    from pseudopulse.cli.common import check_predict_options

    check_predict_options(video, out=out, cache_dir=cache_dir, fps=fps, band=band, roi=roi)  # before any work
    with progress_bar(f"decoding {video.name}", enabled=not no_progress) as update:
        result = run_predict(video, method=method, model=model, roi=roi, band_hz=tuple(band), fps=fps, cache_dir=cache_dir,
                             progress=update, min_confidence=min_confidence)  # fmt: skip
    written = {}
    if out is not None:
        from pseudopulse.report import write_prediction

        written = write_prediction(result, out)
    summary = result.summary()
    if json_out:
        summary["files"] = {k: str(v) for k, v in written.items()}
        print(json.dumps(summary))
        return
    show_result(result)
    for kind, path in written.items():
        err_console.print(f"wrote {kind}: {path}", highlight=False)


def show_result(result) -> None:
    """The human reading: the rate with its confidence, plainly marked when it cannot be believed and why."""
    verdict = "reliable" if result.reliable else "[bold yellow]NOT RELIABLE[/]"
    console.print(f"[bold]{result.hr_bpm:.1f} bpm[/]  confidence {result.confidence:.2f} ({verdict}; "
                  f"method {result.method}, SNR {result.snr_db:.1f} dB)")  # fmt: skip
    for reason in result.reasons[1:]:
        console.print(f"  - {reason}", highlight=False)
    if not result.reliable:
        console.print(f"  confidence: the {CONFIDENCE_MEANING}; marked reliable at >= {result.min_confidence:.2f} "
                      "(--min-confidence)", highlight=False)  # fmt: skip
    n = len(result.track_hr_bpm)
    if n > 1:
        ok = result.track_confidence >= result.min_confidence
        span = f"{result.track_hr_bpm[ok].min():.0f}-{result.track_hr_bpm[ok].max():.0f} bpm" if ok.any() else "none"
        console.print(f"HR track: {n} windows of {result.track_window_s:.0f} s, {int(ok.sum())} reliable ({span}); "
                      "--out or --json for every window", highlight=False)  # fmt: skip
    hrv = (f"SDNN {result.sdnn_ms:.0f} ms, RMSSD {result.rmssd_ms:.0f} ms" if not result.hrv_withheld
           else f"HRV withheld ({result.hrv_withheld})")  # fmt: skip
    console.print(f"{result.n_frames} frames, {result.duration_s:.1f} s at {result.fps:.2f} fps; face lost "
                  f"{result.face_lost_s:.1f} s; {result.n_beats} beats; {hrv}", highlight=False)  # fmt: skip
