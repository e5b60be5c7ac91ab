"""Shared CLI plumbing: consoles, error handling, progress bars."""

from __future__ import annotations

import contextlib
import functools
import warnings
from typing import Callable, List, Optional

import typer
from typer.core import TyperCommand
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from pseudopulse.errors import PseudopulseError

console = Console()  # results (stdout)
err_console = Console(stderr=True)  # progress, warnings, errors (stderr)


def comma_list(values: Optional[List[str]]) -> list[str]:
    """Items of repeatable comma-separated options (``--holdout 3,4 --holdout 9`` -> ["3", "4", "9"]), blanks dropped."""
    return [s.strip() for v in (values or []) for s in v.split(",") if s.strip()]


def run_cli(fn):
    """Decorator for command functions: a PseudopulseError becomes one red line on stderr and exit code 2;
    Python warnings from the library are shown as one yellow line each."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                return fn(*args, **kwargs)
            except PseudopulseError as e:
                err_console.print(f"[bold red]error:[/] {e}", highlight=False, soft_wrap=True)  # one line: paths stay whole
                raise typer.Exit(2) from None
            finally:
                for w in caught:
                    if issubclass(w.category, (DeprecationWarning, PendingDeprecationWarning)):
                        continue
                    err_console.print(f"[yellow]warning:[/] {w.message}", highlight=False, soft_wrap=True)

    return wrapper


@contextlib.contextmanager
def progress_bar(description: str, total: int | None = None, enabled: bool = True):
    """A rich progress bar on stderr. Yields ``update(done, total)`` (a callable suitable as ``progress=``)."""
    if not enabled:
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
