"""`pseudopulse benchmark preprocess`: decode-only vs full STMap extraction speed (writes preprocess.md/.json)."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import List, Optional

import typer
from rich.table import Table

from pseudopulse.cli.app import benchmark_app
from pseudopulse.cli.common import console, err_console, run_cli
from pseudopulse.errors import VideoError


@benchmark_app.command("preprocess")
@run_cli
def benchmark_preprocess(
    video: Optional[Path] = typer.Option(None, "--video", help="Clip to time (default: generate a 60-s 640x480 face clip)."),
    out: Path = typer.Option(Path("results"), "--out", help="Folder for preprocess.md and preprocess.json."),
    repeats: int = typer.Option(3, "--repeats", min=1, help="Interleaved timing rounds; the best run of each counts."),
    detector_video: Optional[List[Path]] = typer.Option(
        None, "--detector-video", help="Also compare face detectors on these videos (repeatable; writes detectors.md/.json; "
        "mediapipe's own detectors join only when mediapipe is installed)."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print the results as one JSON object on stdout."),
):
    """Frames/s of decoding alone vs full video -> STMap extraction (goal: ratio >= 0.5)."""
    from pseudopulse.bench.preprocess import GOAL_RATIO, run_preprocess_benchmark

    if video is not None and not video.exists():
        raise VideoError(f"{video}: no such file or folder (--video); pass an existing clip or omit --video")
    with err_console.status("timing decode and extraction ..."):
        res = run_preprocess_benchmark(video, out, repeats=repeats)
    det = None
    if detector_video:
        from pseudopulse.bench.detectors import run_detector_benchmark

        with err_console.status("comparing face detectors ..."):
            det = run_detector_benchmark(detector_video, out)
    if json_out:
        payload = {"preprocess": asdict(res), "detectors": [asdict(d) for d in det] if det else None}
        print(json.dumps(payload))
        return
    table = Table(title=f"video -> STMap, {res.width}x{res.height}, {res.n_frames} frames ({res.clip_source})")
    for col in ("stage", "detect_every", "face px", "frames/s", "ratio to decode", "frames/CPU-s", "CPU ratio"):
        table.add_column(col, justify="right" if col != "stage" else "left")
    table.add_row("decode only", "", "", f"{res.decode_fps:.0f}", "1.00", f"{res.decode_cpu_fps:.0f}", "1.00")
    for t in res.extract:
        style = "green" if t.ratio >= GOAL_RATIO else "red"
        table.add_row(
            "extract_stmap", str(t.detect_every), str(t.canonical_px), f"{t.fps:.0f}", f"[{style}]{t.ratio:.2f}[/]",
            f"{t.cpu_fps:.0f}", f"{t.cpu_ratio:.2f}",
        )  # fmt: skip
    console.print(table)
    if det:
        dt = Table(title="face detectors")
        for col in ("detector", "detection rate", "ms/frame", "box jitter px", "landmark jitter px"):
            dt.add_column(col, justify="right" if col != "detector" else "left")
        for d in det:
            dt.add_row(d.detector, f"{100 * d.detection_rate:.1f} %", f"{d.ms_per_frame:.2f}", f"{d.jitter_px:.2f}",
                       "" if d.landmark_jitter_px != d.landmark_jitter_px else f"{d.landmark_jitter_px:.3f}")
        console.print(dt)
    console.print(f"wrote {out / 'preprocess.md'} and {out / 'preprocess.json'}")
