"""`pseudopulse synth`: write a seeded semi-synthetic dataset in UBFC-rPPG layout (known pulse per clip)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from pseudopulse.cli.app import app
from pseudopulse.cli.common import console, progress_bar, run_cli


@app.command()
@run_cli
def synth(
    out: Path = typer.Argument(..., help="Dataset folder to write (subjectN/vid.avi + ground_truth.txt)."),
    n: int = typer.Option(30, "--n", min=1, help="Number of clips (heart rates stratified over 45-150 bpm)."),
    seed: int = typer.Option(1, "--seed", help="Suite seed (the trainer's --synth uses seed 0: keep test suites apart)."),
    duration_s: float = typer.Option(20.0, "--duration-s", min=6.0, help="Clip length in seconds."),
    width: int = typer.Option(640, "--width", min=64),
    height: int = typer.Option(480, "--height", min=64),
):
    """Write a semi-synthetic test set (synth.make_suite: motion, light, skin tone, CRF 0-28) in UBFC-rPPG layout,
    for `pseudopulse evaluate -d ubfc --root OUT`. OUT/suite.json lists every clip's settings."""
    from pseudopulse.io import atomic_write_text
    from pseudopulse.synth import make_suite
    from pseudopulse.synth.ubfc import write_ubfc_subject

    configs = make_suite(n, seed=seed, duration_s=duration_s, width=width, height=height)
    out.mkdir(parents=True, exist_ok=True)
    names = [f"subject{i + 1}" for i in range(n)]
    with progress_bar("rendering clips", total=n) as update:
        for i, (name, cfg) in enumerate(zip(names, configs)):
            write_ubfc_subject(out, name, cfg)
            update(i + 1, n)
    manifest = {"generator": "pseudopulse.synth.make_suite", "n": n, "seed": seed,
                "clips": [{"subject": s, **c.to_dict()} for s, c in zip(names, configs)]}  # fmt: skip
    atomic_write_text(out / "suite.json", json.dumps(manifest, indent=1))
    console.print(f"wrote {n} clips to {out} (evaluate with: pseudopulse evaluate -d ubfc --root {out} -m METHOD --subset all)")
