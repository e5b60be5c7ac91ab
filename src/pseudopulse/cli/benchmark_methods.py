"""`pseudopulse benchmark methods`: accuracy and CPU time of the training-free methods (writes methods.md/.json)."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from pseudopulse.cli.app import benchmark_app
from pseudopulse.cli.common import console, err_console, progress_bar, run_cli


@benchmark_app.command("methods")
@run_cli
def benchmark_methods(
    out: Path = typer.Option(Path("results"), "--out", help="Folder for methods.md and methods.json."),
    synth_n: int = typer.Option(30, "--synth-n", min=0, help="Synthetic clips from synth.make_suite (0 = none)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the synthetic suite."),
    no_real: bool = typer.Option(False, "--no-real", help="Skip the real recordings."),
    root: Optional[Path] = typer.Option(
        None, "--root", help="Folder holding ubfc_rppg_h264/ and/or bias_eval_rppg/ (required unless --no-real)."
    ),
    clip_s: float = typer.Option(10.0, "--clip-s", min=1.0, help="Non-overlapping evaluation clip length (s)."),
    cache_dir: Optional[Path] = typer.Option(None, "--cache-dir", help="STMap / rendered-video cache (default OUT/cache)."),
    method: Optional[List[str]] = typer.Option(None, "--method", "-m", help="Only these methods (repeatable)."),
):
    """Score GREEN, ICA, CHROM, POS, PBV, LGI and 2SR (MAE / RMSE / r, CPU time per minute of video)."""
    from pseudopulse.bench.methods import MethodsBenchConfig, run_methods_benchmark, write_results
    from pseudopulse.errors import DatasetError
    from pseudopulse.methods import METHODS, get_method

    if root is None and not no_real:
        raise DatasetError("benchmark methods needs the real data: --root DIR (holding ubfc_rppg_h264/ and/or "
                           "bias_eval_rppg/), or --no-real for the synthetic clips only")  # fmt: skip

    try:
        names = tuple(get_method(m).name for m in method) if method else tuple(METHODS)
    except ValueError as e:
        raise typer.BadParameter(str(e), param_hint="--method") from None
    cfg = MethodsBenchConfig(
        out_dir=out, synth_n=synth_n, seed=seed, real_root=None if no_real else root, clip_s=clip_s,
        cache_dir=cache_dir, methods=names,
    )  # fmt: skip
    with progress_bar("benchmark methods") as update:
        stage = {"name": None}

        def progress(name: str, done: int, total: int) -> None:
            if name != stage["name"]:
                stage["name"] = name
                err_console.print(f"[dim]{name}: {total} recording(s)[/]")
            update(done, total)

        res = run_methods_benchmark(cfg, progress=progress)
    md, js = write_results(res, out)
    for key, tab in res["tables"].items():
        row = ", ".join(
            f"{n} {e['mae']:.2f}" if e.get("n") else f"{n} –" for n, e in tab["methods"].items()
        )
        console.print(f"[bold]{tab['title']}[/] MAE (bpm): {row}", highlight=False)
    console.print(f"wrote {md} and {js}")
