"""Command-line interface: `pseudopulse predict|demo|evaluate|robustness|train|adapt|ensemble|synth|benchmark ...`.

Each command lives in its own module and registers itself on ``app`` (or ``benchmark_app``) when imported.
"""

from pseudopulse.cli.app import app, benchmark_app
from pseudopulse.cli import (  # noqa: F401  (imported for registration)
    predict,
    demo,
    evaluate,
    robustness,
    train,
    adapt,
    ensemble,
    benchmark_preprocess,
    benchmark_methods,
    benchmark_train,
    benchmark_peer,
    benchmark_memory,
    synth,
)

__all__ = ["app", "benchmark_app", "main"]


def main() -> None:
    app()
