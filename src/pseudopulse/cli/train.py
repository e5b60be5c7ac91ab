"""`pseudopulse train`: label-free training (Li & Yin 2023), ablation rows and baselines, resumable."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer

from pseudopulse.cli.app import app
from pseudopulse.cli.common import comma_list, console, err_console, run_cli


def gather_sources(data, synth_n, synth_seed, holdout, cache_dir, roi, synth_size=None):
    from pseudopulse.synth.config import SYNTH_TRAIN_SIZE
    from pseudopulse.train.data import sources_from_spec, synth_sources

    synth_size = synth_size or SYNTH_TRAIN_SIZE
    sources = []
    for spec in data or []:
        sources += sources_from_spec(spec, cache_dir=cache_dir, exclude_subjects=holdout, roi=roi)
    if synth_n:
        sources += synth_sources(synth_n, seed=synth_seed, cache_dir=cache_dir, width=synth_size[0], height=synth_size[1])
    return sources


def _frame_size(text: str | None) -> tuple[int, int] | None:
    """'640x480' -> (640, 480), a size ``SynthConfig`` accepts (its own rule, checked before anything renders)."""
    from pseudopulse.synth import SynthConfig, SynthConfigError

    if text is None:
        return None
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise typer.BadParameter(f"--synth-size {text!r}: expected WIDTHxHEIGHT, e.g. 640x480") from None
    try:
        SynthConfig(width=w, height=h)
    except SynthConfigError as e:
        raise typer.BadParameter(f"--synth-size {text!r}: {e}") from None
    return w, h


def _floats(text: str, option: str) -> tuple[float, ...]:
    try:
        return tuple(float(v) for v in comma_list([text]))
    except ValueError:
        raise typer.BadParameter(f"{option}: expected a comma list of numbers, got {text!r}") from None


def epoch_line(row: dict, epochs: int) -> str:
    val = row.get("val_mae_bpm")
    val_s = f"  val MAE {val:.2f} bpm" if isinstance(val, float) else ""
    harm_s = f"  harm {row['l_harm']:.3f}" if row.get("l_harm") else ""
    return (
        f"epoch {row['epoch'] + 1}/{epochs} net {row['net']}  loss {row['loss']:+.4f}  pseudo {row['l_pseudo']:.3f}"
        f"  pos {row['l_pos']:.4f}  neg {row['l_neg']:.4f}  rank {row['l_rank']:.2f}{harm_s}  λ {row['lambda']}"
        f"  rectified {row['rectified']}{val_s}  {row['seconds']:.1f} s"
    )


def run_training(cfg, sources, *, out, cache_dir, val_sources=(), resume=False, init_state=None, quiet=False):
    """Prepare data (with a progress bar), train with a progress bar and per-epoch lines. Returns TrainResult."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    from pseudopulse.train.data import prepare_recordings
    from pseudopulse.train.trainer import train

    cols = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn())
    with Progress(*cols, console=err_console, transient=True, disable=quiet) as prog:
        task = prog.add_task("preprocessing (STMap + 2SR, cached)", total=len(sources))

        def prep(i, n, name):
            prog.update(task, completed=i, total=n, description=f"preprocessing {name}")

        recs, skipped = prepare_recordings(sources, fs=cfg.fs, cache_dir=cache_dir, supervised=cfg.supervised,
                                           pseudo_filter=cfg.pseudo_filter, progress=prep)  # fmt: skip
        val_recs = []
        if val_sources:
            task_v = prog.add_task("held-out recordings", total=len(val_sources))
            val_recs, vskip = prepare_recordings(val_sources, fs=cfg.fs, cache_dir=cache_dir, supervised=True,
                                                 progress=lambda i, n, name: prog.update(task_v, completed=i))  # fmt: skip
            skipped += vskip
    for s in skipped:
        err_console.print(f"[yellow]skipped[/] {s}", highlight=False)
    err_console.print(f"training on {len(recs)} recording(s), {sum(r.n_frames for r in recs) / cfg.fs / 60:.1f} min"
                      f"; {len(val_recs)} held-out; ablation {cfg.ablation}", highlight=False)  # fmt: skip
    with Progress(*cols, console=err_console, transient=True, disable=quiet) as prog:
        task = prog.add_task("epoch", total=None)

        def on_step(epoch, step, n):
            prog.update(task, completed=step, total=n, description=f"epoch {epoch + 1}/{cfg.epochs}")

        def on_epoch(row):
            prog.console.print(epoch_line(row, cfg.epochs), highlight=False, soft_wrap=True)

        return train(cfg, recs, run_dir=out, val_recordings=val_recs, resume=resume, init_state=init_state,
                     on_epoch=on_epoch, on_step=on_step)  # fmt: skip


@app.command("train")
@run_cli
def train_cmd(
    data: Optional[List[str]] = typer.Option(None, "--data", "-d", help="Training videos: a folder of videos, a video, a dataset folder or NAME:ROOT (e.g. ubfc:/data/UBFC). Repeatable."),
    out: Path = typer.Option(Path("runs/train"), "--out", "-o", help="Run folder: checkpoint.pt, log.csv, rectified.csv, model.pt."),
    synth: int = typer.Option(0, "--synth", min=0, help="Add N semi-synthetic clips (synth.make_suite, rendered once into the cache)."),
    synth_seed: int = typer.Option(0, "--synth-seed", help="Seed of the semi-synthetic suite."),
    synth_size: Optional[str] = typer.Option(None, "--synth-size", help="Frame size WxH of the semi-synthetic clips (default: synth.config.SYNTH_TRAIN_SIZE)."),
    holdout: Optional[List[str]] = typer.Option(None, "--holdout", help="Subject ids / recording names of --data datasets NOT to train on (comma list)."),
    val: Optional[List[str]] = typer.Option(None, "--val", help="Held-out dataset (NAME:ROOT or folder) with GT, for per-epoch validation MAE only."),
    val_subjects: Optional[List[str]] = typer.Option(None, "--val-subjects", help="Only these subjects of --val (comma list)."),
    ablation: str = typer.Option("full", "--ablation", help="plain-ssl | pseudo | gradual | ranking | corect | full | pseudo-only | supervised"),
    supervised: bool = typer.Option(False, "--supervised", help="Upper bound: fit ground-truth PPG (reads GT; same as --ablation supervised)."),
    epochs: int = typer.Option(80, "--epochs", min=1),
    batch_size: int = typer.Option(16, "--batch-size", min=2),
    lr: float = typer.Option(5e-5, "--lr", help="AdamW learning rate."),
    seed: int = typer.Option(0, "--seed"),
    threads: int = typer.Option(2, "--threads", min=1, help="CPU threads for torch."),
    lambda_max: int = typer.Option(8, "--lambda-max", min=0, help="Co-rectified instances per batch at the last epoch."),
    lr_schedule: str = typer.Option("const", "--lr-schedule", help="const (the paper) | cosine (anneal to 0 over the epochs)."),
    pseudo_filter: str = typer.Option("readout", "--pseudo-filter", help="2SR label filter: readout (0.7–3.5 Hz) | flat (0.4–4 Hz, keeps low fundamentals)."),
    flicker: float = typer.Option(0.0, "--flicker", min=0.0, max=1.0, help="Fraction of training views given a random colour-neutral brightness flicker (0.5–3.5 Hz)."),
    rank_readout_weight: bool = typer.Option(False, "--rank-readout-weight", help="Rank the HR the read-out will report (loss PSDs weighted by its filter gain)."),
    rank_in_band: bool = typer.Option(False, "--rank-in-band", help="Rank only resampled views whose expected HR stays inside the PSD band."),
    pseudo_consensus: str = typer.Option("", "--pseudo-consensus", help="Comma list of rgb methods (e.g. pos,chrom): L_pseudo counts only clips where they read the label's HR ± 6 bpm."),
    harmonic_guard: float = typer.Option(0.0, "--harmonic-guard", min=0.0, help="Weight of a (not faded) penalty on output harmonics that rival a slow pseudo label's fundamental (0 = off)."),
    harmonic_guard_below: float = typer.Option(65.0, "--harmonic-guard-below", help="Guard only clips whose pseudo-label HR is below this (bpm)."),
    harmonic_guard_ratios: str = typer.Option("2,3", "--harmonic-guard-ratios", help="Comma list of multiples of the label's rate that must not rival it (0.5 = half the rate)."),
    input_filter: str = typer.Option("none", "--input-filter", help="Drift removal on the network's input colour traces: none | poly3 (subtract a cubic per 10-s window) | highpass (the cubic, then a smooth high-pass at 35 bpm) | band (limit to 40–250 bpm)."),
    roi: str = typer.Option("face", "--roi", help="face | full-frame (pre-cropped skin videos)."),
    cache_dir: Path = typer.Option(Path(".cache/pseudopulse"), "--cache-dir", help="STMap / pseudo-label / synth cache."),
    resume: bool = typer.Option(False, "--resume", help="Continue bit-exactly from OUT/checkpoint.pt."),
    as_json: bool = typer.Option(False, "--json", help="Print the per-epoch history as JSON on stdout."),
):
    """Train the STMap network label-free (pseudo labels + self-supervision + ranking + co-rectification)."""
    from pseudopulse.errors import DatasetError
    from pseudopulse.train.config import TrainConfig
    from pseudopulse.train.data import sources_from_spec

    if supervised:
        ablation = "supervised"
    try:
        cfg = TrainConfig.for_ablation(ablation, epochs=epochs, batch_size=batch_size, lr=lr, seed=seed,
                                       threads=threads, lambda_max=lambda_max, flicker_prob=flicker,
                                       rank_in_band=rank_in_band, rank_readout_weight=rank_readout_weight, lr_schedule=lr_schedule, pseudo_filter=pseudo_filter,
                                       pseudo_consensus=tuple(comma_list([pseudo_consensus])), harmonic_guard=harmonic_guard,
                                       harmonic_guard_below_bpm=harmonic_guard_below, input_filter=input_filter,
                                       harmonic_guard_ratios=_floats(harmonic_guard_ratios, "--harmonic-guard-ratios"))  # fmt: skip
    except ValueError as e:
        raise typer.BadParameter(str(e)) from None
    if not data and not synth:
        raise typer.BadParameter("give training data: --data PATH (repeatable) and/or --synth N")
    sources = gather_sources(data, synth, synth_seed, comma_list(holdout), cache_dir, roi, _frame_size(synth_size))
    val_sources = []
    keep = set(comma_list(val_subjects))
    for spec in val or []:
        for s in sources_from_spec(spec, cache_dir=cache_dir, roi=roi):
            sid = s.name.split("/")[-1]
            if not keep or sid in keep or sid.removeprefix("subject") in keep:
                val_sources.append(s)
    train_names = {s.name for s in sources}
    if any(s.name in train_names for s in val_sources):
        raise DatasetError("a --val recording is also in the training data; exclude it with --holdout")
    res = run_training(cfg, sources, out=out, cache_dir=cache_dir, val_sources=val_sources, resume=resume, quiet=as_json)
    if as_json:
        print(json.dumps({"model": str(res.model_path), "history": res.history}, default=float))
    else:
        console.print(f"wrote {res.model_path} (net {res.final_net + 1}), log {out / 'log.csv'}, co-rectification log {out / 'rectified.csv'}")
