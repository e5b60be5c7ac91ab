"""The typer application objects. Command modules register themselves on these."""

import typer

app = typer.Typer(
    name="pseudopulse",
    help="Label-free remote photoplethysmography: heart rate from face video.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
benchmark_app = typer.Typer(help="Speed and accuracy benchmarks; each writes a results file.", no_args_is_help=True)
app.add_typer(benchmark_app, name="benchmark")
