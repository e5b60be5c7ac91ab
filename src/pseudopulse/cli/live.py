"""`pseudopulse live SOURCE`: the heart rate of a camera, a stream or a video as it happens."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape

from pseudopulse.cli.app import app
from pseudopulse.cli.common import check_output_folder, console, err_console, run_cli
from pseudopulse.predictors import predictor_help
from pseudopulse.signal import DEFAULT_BAND_HZ
from pseudopulse.signal.confidence import DEFAULT_THRESHOLD

SPARK = "▁▂▃▄▅▆▇█"


@app.command()
@run_cli
def live(
    source: Optional[str] = typer.Argument(None, help="Video file, stream URL (rtsp://, http://, udp://, srt://, ...) or - for standard input; or use --camera."),
    camera: Optional[str] = typer.Option(None, "--camera", "-c", help="Camera to read: an index (Linux /dev/videoN, macOS) or a device name (Windows)."),
    pace: str = typer.Option("realtime", help="A file at its own pace (realtime, as a camera would give it) or as fast as it decodes (fast)."),
    method: str = typer.Option("model", "--method", "-m", help=predictor_help()),
    model: Optional[Path] = typer.Option(None, "--model", help="Model file for --method model (default: the shipped weights)."),
    roi: str = typer.Option("face", help="face (detect + track) or full-frame (the video is already a skin crop)."),
    jsonl: bool = typer.Option(False, "--jsonl", help="Print one JSON object per update on stdout and nothing else (messages go to stderr)."),
    record: Optional[Path] = typer.Option(None, "--record", help="Folder to keep the session in: track.csv, wave.csv, summary.json (written as it goes)."),
    window: float = typer.Option(10.0, "--window", min=5.0, max=60.0, help="Seconds of video each reading looks at (s)."),
    hop: float = typer.Option(1.0, "--hop", min=0.1, max=10.0, help="Seconds between updates (s)."),
    min_confidence: float = typer.Option(DEFAULT_THRESHOLD, "--min-confidence", min=0.0, max=1.0, help="Confidence at or above which a reading is marked reliable (0..1)."),
    band: tuple[float, float] = typer.Option(DEFAULT_BAND_HZ, help="Heart-rate search band in Hz (low high)."),
    fps: Optional[float] = typer.Option(None, help="Frame rate (Hz) for sources without timestamps (raw frames on stdin, frame folders); with --camera, the rate asked of it."),
    input_format: Optional[str] = typer.Option(None, "--format", help="Input format when ffmpeg cannot guess it (e.g. yuv4mpegpipe, nut, mpegts for stdin)."),
    raw_size: Optional[str] = typer.Option(None, "--raw-size", help="Raw RGB24 frames of this size on stdin, e.g. 640x480 (needs --fps)."),
    camera_size: Optional[str] = typer.Option(None, "--camera-size", help="Frame size to ask of the camera, e.g. 640x480."),
    reconnect: float = typer.Option(30.0, "--reconnect", min=0.0, help="Seconds to keep retrying a dropped network stream (0: never)."),
    loop: bool = typer.Option(False, "--loop", help="Start a video file again when it ends (demos, long runs)."),
    duration: Optional[float] = typer.Option(None, "--duration", min=1.0, help="Stop after this many seconds of stream time (s)."),
):
    """Show the heart rate (bpm) of SOURCE as it happens, with its confidence, every --hop seconds."""
    from pseudopulse.live import stream

    sizes = _checked(source=source, camera=camera, pace=pace, loop=loop, fps=fps, band=band, roi=roi,
                     raw_size=raw_size, camera_size=camera_size, input_format=input_format)  # fmt: skip
    check_output_folder(record, "--record")
    label = f"camera {camera}" if camera is not None else str(source)
    view = _JsonLines() if jsonl else _LiveView(label, min_confidence) if console.is_terminal else _PlainLines()
    recorder = None
    if record is not None:
        from pseudopulse.predictors import canonical_name
        from pseudopulse.live.record import Recorder

        recorder = Recorder(record, source=label, method=canonical_name(method), min_confidence=min_confidence)
    ended = "source ended"
    try:
        updates = stream(source, method, model=model, camera=camera, pace=pace, roi=roi, window_s=window, hop_s=hop,
                         min_confidence=min_confidence, band_hz=tuple(band), fps=fps, input_format=input_format,
                         raw_size=sizes["raw_size"], camera_size=sizes["camera_size"], reconnect_s=reconnect,
                         loop=loop, duration_s=duration, on_event=view.event)  # fmt: skip
        with view:
            for update in updates:
                view.show(update)
                if recorder is not None:
                    recorder.add(update)
    except KeyboardInterrupt:
        ended = "stopped by the user"
    except BaseException as e:
        ended = f"error: {' '.join(str(e).split())}"
        raise
    finally:
        if recorder is not None:
            path = recorder.close(ended=ended)
            err_console.print(f"kept {recorder.n_updates} updates in {path.parent} ({ended})", highlight=False)


def _checked(*, source, camera, pace, loop, fps, band, roi, raw_size, camera_size, input_format) -> dict:
    """Option values checked before anything is opened: {"raw_size", "camera_size"} as (w, h) px or None. What the
    source is (``io.live.parse_source``) decides the rest; every refusal is a VideoError or SignalError (one line,
    exit 2)."""
    from pseudopulse.cli.common import check_predict_options
    from pseudopulse.errors import VideoError
    from pseudopulse.io.live import PACES, parse_size, parse_source

    if pace not in PACES:
        raise VideoError(f"--pace {pace}: must be one of {', '.join(PACES)}")
    if source is not None and camera is not None:
        raise VideoError(f"give either a source ({source}) or --camera {camera}, not both")
    check_predict_options(source or "camera", fps=fps, band=band, roi=roi)
    sizes = {}
    for name, text in (("raw_size", raw_size), ("camera_size", camera_size)):
        try:
            sizes[name] = parse_size(text)
        except ValueError as e:
            raise VideoError(f"--{name.replace('_', '-')}: {e}") from None
    try:
        spec = parse_source(source, camera=camera, input_format=input_format, raw_size=sizes["raw_size"], fps=fps,
                            camera_size=sizes["camera_size"])  # fmt: skip
    except ValueError as e:
        raise VideoError(str(e)) from None
    if loop and spec.kind != "file":
        raise VideoError("--loop repeats a video file; a camera, a stream or standard input cannot be repeated")
    if spec.kind == "file" and not Path(source).exists():
        raise VideoError(f"{source}: no such file or folder")
    return sizes


def _num(x, fmt: str, none: str = "—") -> str:
    return none if x is None or not math.isfinite(x) else format(x, fmt)


def sparkline(wave, width: int = 60) -> str:
    """The last part of ``wave`` as ``width`` block characters (min..max of what is shown)."""
    import numpy as np

    w = np.asarray(wave, dtype=np.float64)[-4 * width :]
    if len(w) < 2 or not np.all(np.isfinite(w)) or np.ptp(w) == 0:
        return ""
    x = np.interp(np.linspace(0, len(w) - 1, width), np.arange(len(w)), w)
    idx = ((x - x.min()) / np.ptp(x) * (len(SPARK) - 1)).round().astype(int)
    return "".join(SPARK[i] for i in idx)


class _JsonLines:
    """--jsonl: one JSON object per update on stdout, flushed; messages on stderr."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def event(self, message: str) -> None:
        err_console.print(f"[yellow]{escape(message)}[/]", highlight=False, soft_wrap=True)

    def show(self, update) -> None:
        sys.stdout.write(json.dumps(update.to_json()) + "\n")
        sys.stdout.flush()


class _PlainLines(_JsonLines):
    """Not a terminal and no --jsonl: one plain line per update."""

    def show(self, u) -> None:
        if u.hr_bpm is None:
            line = f"{u.t_s:7.1f} s  {u.status}: {'; '.join(u.reasons)}"
        else:
            verdict = "reliable" if u.reliable else "NOT RELIABLE"
            line = f"{u.t_s:7.1f} s  {u.hr_bpm:5.1f} bpm  confidence {u.confidence:.2f} ({verdict})"
        console.print(line, highlight=False, soft_wrap=True)


class _LiveView(_JsonLines):
    """A rich live panel: the rate, its confidence, the wave as a sparkline, the face and source status."""

    def __init__(self, label: str, min_confidence: float):
        from rich.live import Live

        self.label, self.min_confidence = label, min_confidence
        self.events: list[str] = []
        self.live = Live(self._render(None), console=console, refresh_per_second=8, transient=False)

    def __enter__(self):
        self.live.__enter__()
        return self

    def __exit__(self, *exc):
        return self.live.__exit__(*exc)

    def event(self, message: str) -> None:
        self.events = (self.events + [message])[-3:]

    def show(self, update) -> None:
        self.live.update(self._render(update))

    def _render(self, u):
        from rich.panel import Panel
        from rich.table import Table

        grid = Table.grid(padding=(0, 2))
        grid.add_column(justify="right", style="dim")
        grid.add_column()
        if u is None:
            grid.add_row("status", "opening the source ...")
        else:
            if u.hr_bpm is None:
                grid.add_row("heart rate", f"[bold]—[/]  ({escape(u.status)})")
            else:
                style = "bold green" if u.reliable else "bold yellow"
                verdict = "reliable" if u.reliable else "NOT RELIABLE"
                grid.add_row("heart rate", f"[{style}]{u.hr_bpm:5.1f} bpm[/]  confidence {u.confidence:.2f} ({verdict})")
            grid.add_row("wave", sparkline(u.wave) or "—")
            grid.add_row("face", f"{100 * u.face_share:.0f} % of the last {u.window_s:.0f} s")
            for reason in u.reasons[:3]:
                grid.add_row("", escape(reason))
            grid.add_row("stream", f"{u.t_s:.1f} s, {_num(u.fps, '.1f')} fps, latency {u.latency_s:.2f} s, "
                                   f"{u.frames_dropped} frames dropped")  # fmt: skip
        for message in self.events:
            grid.add_row("note", f"[yellow]{escape(message)}[/]")
        return Panel(grid, title=f"pseudopulse live — {escape(self.label)}", subtitle="Ctrl-C to stop")
