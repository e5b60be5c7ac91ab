"""Command-line interface: `pseudopulse predict|live|serve|demo|evaluate|robustness|train|preprocess|adapt|ensemble|synth|benchmark ...`.

Each command lives in its own module and registers itself on ``app`` (or ``benchmark_app``) when imported.
"""

from pseudopulse.cli.app import app, benchmark_app
from pseudopulse.cli import (  # noqa: F401  (imported for registration)
    predict,
    live,
    demo,
    evaluate,
    robustness,
    train,
    preprocess,
    adapt,
    ensemble,
    benchmark_preprocess,
    benchmark_methods,
    benchmark_train,
    benchmark_peer,
    benchmark_memory,
    benchmark_live,
    benchmark_scale,
    synth,
    serve,
)

__all__ = ["app", "benchmark_app", "main"]


def main() -> None:
    """Entry point. A usage error (an unknown option, a value out of range) is one line on stderr and exit code 2,
    like every other refusal; everything else is typer's."""
    from typer import _click as click

    from pseudopulse.cli.common import err_console

    try:
        code = app(standalone_mode=False)
    except click.exceptions.UsageError as e:
        where = e.ctx.command_path if e.ctx is not None else "pseudopulse"
        err_console.print(f"[bold red]error:[/] {where}: {' '.join(e.format_message().split())} (see {where} --help)",
                          highlight=False, soft_wrap=True)  # fmt: skip
        raise SystemExit(2) from None
    except click.exceptions.Abort:
        err_console.print("[bold red]error:[/] aborted", highlight=False)
        raise SystemExit(130) from None
    raise SystemExit(code if isinstance(code, int) else 0)
