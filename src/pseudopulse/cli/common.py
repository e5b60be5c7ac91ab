"""Shared CLI plumbing: consoles, error handling, progress bars."""

from __future__ import annotations

import contextlib
import functools
import warnings
from typing import Callable, List, Optional

from pathlib import Path

import typer
from rich.markup import escape
from typer.core import TyperCommand
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from pseudopulse.errors import PseudopulseError

console = Console()  # results (stdout)
err_console = Console(stderr=True)  # progress, warnings, errors (stderr)


def comma_list(values: Optional[List[str]]) -> list[str]:
    """Items of repeatable comma-separated options (``--holdout 3,4 --holdout 9`` -> ["3", "4", "9"]), blanks dropped."""
    return [s.strip() for v in (values or []) for s in v.split(",") if s.strip()]


INPUT_PARAMS = ("video", "videos", "data", "models", "model", "config", "out")  # what an error names, first found


def one_line(text) -> str:
    """``text`` with every run of whitespace (newlines too) turned into one space: an error is one line."""
    return " ".join(str(text).split())


def _input_named(kwargs: dict) -> str:
    for name in INPUT_PARAMS:
        v = kwargs.get(name)
        if v is None or v == []:
            continue
        if isinstance(v, (list, tuple)):
            return ", ".join(str(x) for x in v[:3]) + (" ..." if len(v) > 3 else "")
        return str(v)
    return "pseudopulse"


def run_cli(fn):
    """Decorator for command functions: a PseudopulseError becomes one red line on stderr and exit code 2; any other
    exception too (one line naming the command's input and the exception: never a traceback); Python warnings from
    the library are shown as one yellow line each."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        failed = False
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                return fn(*args, **kwargs)
            except PseudopulseError as e:
                failed = True
                what, where = one_line(e), _input_named(kwargs)
                if where != "pseudopulse" and Path(where).name not in what:  # every error names the input
                    what = f"{where}: {what}"
                err_console.print(f"[bold red]error:[/] {escape(what)}", highlight=False, soft_wrap=True)
                raise typer.Exit(2) from None
            except (typer.Exit, typer.Abort, typer.TyperException, KeyboardInterrupt, SystemExit):
                raise  # the command's own exits and usage errors
            except Exception as e:  # noqa: BLE001 - the promise: one line and exit 2, never a traceback
                failed = True
                where = _input_named(kwargs)
                what = one_line(e.args[0] if isinstance(e, KeyError) and e.args else e) or "(no message)"
                err_console.print(f"[bold red]error:[/] {escape(where)}: {e.__class__.__name__}: {escape(what)} (an "
                                  "unexpected error; please report it with the command line)", highlight=False,
                                  soft_wrap=True)  # fmt: skip
                raise typer.Exit(2) from None
            finally:
                for w in [] if failed else caught:
                    if issubclass(w.category, (DeprecationWarning, PendingDeprecationWarning)):
                        continue
                    err_console.print(f"[yellow]warning:[/] {escape(one_line(w.message))}", highlight=False, soft_wrap=True)

    return wrapper


def check_output_folder(folder, what: str = "--out") -> None:
    """Refuse, before any work, an output folder that is a file or cannot be created or written (OutputError)."""
    if folder is not None:
        from pseudopulse.stmap.cache import check_writable_dir

        check_writable_dir(folder, what)


def check_predict_options(video, *, out=None, cache_dir=None, fps=None, band=None, roi=None) -> None:
    """The checks ``predict`` makes before it decodes anything: output and cache folders writable, results of
    another input not overwritten, option values in range. Raises a PseudopulseError (one line, exit 2)."""
    import math
    from pathlib import Path

    from pseudopulse.errors import OutputError, SignalError

    if fps is not None and not (math.isfinite(fps) and fps > 0):
        raise SignalError(f"--fps {fps}: the frame rate must be a finite number > 0 Hz; use e.g. --fps 30")
    if band is not None:
        lo, hi = (float(b) for b in band)
        if not (math.isfinite(lo) and math.isfinite(hi) and 0 < lo < hi):
            raise SignalError(f"--band {lo:g} {hi:g}: the band must be 0 < low < high Hz; use e.g. --band 0.7 3.0")
    if roi is not None:
        from pseudopulse.stmap.extract import ROIS

        if roi not in ROIS:
            raise SignalError(f"--roi {roi}: must be one of {', '.join(ROIS)}")
    check_output_folder(cache_dir, "--cache-dir")
    check_output_folder(out, "--out")
    if out is not None:
        done = Path(out) / f"{Path(video).stem}.json"
        if done.is_file():
            import json

            try:
                before = json.loads(done.read_text()).get("source")
            except (OSError, ValueError, AttributeError):
                before = None
            if before and Path(before).exists() and Path(before).resolve() != Path(video).resolve():
                raise OutputError(f"--out {out}: {done.name} there holds the result of {before}, another input with the "
                                  f"same name as {video}; pass another --out (or delete {done})")  # fmt: skip


@contextlib.contextmanager
def progress_bar(description: str, total: int | None = None, enabled: bool = True):
    """A rich progress bar on stderr. Yields ``update(done, total)`` (a callable suitable as ``progress=``). Drawn only
    when stderr is a terminal: a log or a pipe gets no bar and no blank line."""
    if not (enabled and err_console.is_terminal):
        yield lambda done, total=None: None
        return
    progress = Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
    )
    with progress:
        task = progress.add_task(description, total=total, rate="")

        def update(done: int, total: int | None = None):
            elapsed = progress.tasks[0].elapsed or 0.0
            rate = f"{done / elapsed:.0f}/s" if elapsed > 0 else ""
            progress.update(task, completed=done, total=total, rate=rate)

        yield update


def command_showing_defaults(defaults: Callable[[], dict[str, str]], note: Callable[[], str] | None = None) -> type:
    """A typer command class whose ``--help`` shows ``defaults()`` (option parameter -> the effective default as text,
    computed only when help is asked for) and appends ``note()`` to the command's help."""

    class _Command(TyperCommand):
        def format_help(self, ctx, formatter):
            shown = defaults()
            for p in self.params:
                if p.name in shown:
                    p.show_default = shown[p.name]
            extra = note() if note else ""
            if extra and extra not in (self.help or ""):
                self.help = (self.help or "") + extra
            super().format_help(ctx, formatter)

    return _Command
