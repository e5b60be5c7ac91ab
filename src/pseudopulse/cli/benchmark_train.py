"""`pseudopulse benchmark train`: seconds per epoch on a UBFC-sized set and inference × real time (CPU)."""

from __future__ import annotations

from pathlib import Path

import typer

from pseudopulse.cli.app import benchmark_app
from pseudopulse.cli.common import console, err_console, run_cli


@benchmark_app.command("train")
@run_cli
def benchmark_train(
    out: Path = typer.Option(Path("results"), "--out", help="Folder for train.md and train.json."),
    epochs: int = typer.Option(3, "--epochs", min=1, help="Epochs to time (extrapolated to --target-epochs)."),
    target_epochs: int = typer.Option(80, "--target-epochs", min=1),
    subjects: int = typer.Option(42, "--subjects", min=1, help="Recordings (UBFC-rPPG has 42)."),
    minutes: float = typer.Option(1.0, "--minutes", min=0.2, help="Length of each recording (min)."),
    ablation: str = typer.Option("full", "--ablation", help="Objective to time (full = two networks, all terms)."),
    threads: int = typer.Option(2, "--threads", min=1, help="torch CPU threads (goal: 2 cores)."),
):
    """Time training (s/epoch, 80-epoch extrapolation) and inference (× real time) on CPU."""
    from pseudopulse.bench.train import TrainBenchConfig, run_train_benchmark, write_results

    cfg = TrainBenchConfig(subjects=subjects, minutes=minutes, epochs=epochs, target_epochs=target_epochs,
                           ablation=ablation, threads=threads)  # fmt: skip
    res = run_train_benchmark(cfg, progress=lambda msg: err_console.print(f"[dim]{msg}[/]"))
    md, js = write_results(res, out)
    console.print(
        f"{res['seconds_per_epoch']:.1f} s/epoch on {res['clips']} clips -> {target_epochs} epochs in "
        f"{res['extrapolated_minutes']:.1f} min; inference {res['inference_x_real_time']:.0f}× real time"
    )
    console.print(f"wrote {md} and {js}")
