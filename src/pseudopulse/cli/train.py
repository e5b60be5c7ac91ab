"""`pseudopulse train`: label-free training (Li & Yin 2023) from a recipe, ablation rows and baselines, resumable.

The options map onto ``TrainConfig`` fields (``CONFIG_OPTIONS``) and the recipe's ``[data]`` table
(``DATA_OPTIONS``). They default to None (= not given), so only the options typed on the command line override
the recipe; the defaults shown in ``--help`` are read from ``TrainConfig`` and the default recipe when help is
shown (the lab is not imported before then: `pseudopulse predict` must not load it).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
from pathlib import Path
from typing import List, Optional

import typer

from pseudopulse.cli.app import app
from pseudopulse.stmap.cache import DEFAULT_CACHE_DIR
from pseudopulse.cli.common import command_showing_defaults, comma_list, console, err_console, run_cli

# option parameter -> TrainConfig field
CONFIG_OPTIONS = {
    "ablation": "ablation", "epochs": "epochs", "batch_size": "batch_size", "lr": "lr", "seed": "seed",
    "threads": "threads", "lambda_max": "lambda_max", "lr_schedule": "lr_schedule", "pseudo_filter": "pseudo_filter",
    "flicker": "flicker_prob", "rank_readout_weight": "rank_readout_weight", "rank_in_band": "rank_in_band",
    "pseudo_consensus": "pseudo_consensus", "harmonic_guard": "harmonic_guard",
    "harmonic_guard_below": "harmonic_guard_below_bpm", "harmonic_guard_ratios": "harmonic_guard_ratios",
    "input_filter": "input_filter",
}  # fmt: skip
# option parameter -> DataPlan field (the recipe's [data] table)
DATA_OPTIONS = {"data": "data", "holdout": "holdout", "synth": "synth", "synth_seed": "synth_seed",
                "synth_size": "synth_size", "roi": "roi"}  # fmt: skip


def _shown(value) -> str:
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value)) or "none"
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


def help_defaults() -> dict[str, str]:
    """Option parameter -> its effective default as help shows it: the default recipe's value where it sets one, else
    ``TrainConfig``'s / ``DataPlan``'s."""
    from pseudopulse.train.config import TrainConfig
    from pseudopulse.train.recipe import DATA_DEFAULTS, DEFAULT_RECIPE, load_recipe

    recipe = load_recipe(DEFAULT_RECIPE)
    defaults = TrainConfig.defaults()
    shown = {"recipe": DEFAULT_RECIPE, "out": f"runs/{DEFAULT_RECIPE}"}
    for param, name in CONFIG_OPTIONS.items():
        set_here = name in recipe.settings
        value = recipe.settings[name] if set_here else defaults[name]
        shown[param] = f"{_shown(value)} from recipe {DEFAULT_RECIPE}" if set_here else _shown(value)
    plan = dataclasses.asdict(recipe.data)
    for param, name in DATA_OPTIONS.items():
        set_here = plan[name] != DATA_DEFAULTS[name]
        if set_here:
            shown[param] = f"{_shown(plan[name])} from recipe {DEFAULT_RECIPE}"
        elif name == "synth_size":
            from pseudopulse.synth.config import SYNTH_TRAIN_SIZE

            shown[param] = "x".join(map(str, SYNTH_TRAIN_SIZE))
        else:
            shown[param] = _shown(plan[name])
    return shown


def help_note() -> str:
    """The recipes paragraph of ``train --help``."""
    from pseudopulse.train.recipe import DEFAULT_RECIPE, PAPER_RECIPE, recipe_names

    return (f"\n\nWithout --recipe this trains {DEFAULT_RECIPE} (member 1 of the shipped model); --recipe {PAPER_RECIPE} "
            f"trains the paper's full method. Packaged recipes: {', '.join(recipe_names())}. Precedence: TrainConfig "
            "defaults < the recipe < the options given here; --data replaces the recipe's whole \\[data] table.")  # fmt: skip


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


def _methods(text: str) -> tuple[str, ...]:
    names = comma_list([text])
    return () if names in ([], ["none"]) else tuple(names)


@contextlib.contextmanager
def training_display(epochs: int, quiet: bool = False):
    """Yields ``TrainCallbacks`` that draw progress bars (hidden when ``quiet``) and print news and one line per
    epoch on stderr."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    from pseudopulse.train.run import TrainCallbacks, format_epoch

    cols = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn())
    with Progress(*cols, console=err_console, transient=True, disable=quiet) as prog:
        tasks: dict[str, int] = {}

        def prepare(stage, done, total, name):
            label = "preprocessing" if stage == "train" else "held-out"
            if stage not in tasks:
                tasks[stage] = prog.add_task(label, total=total)
            prog.update(tasks[stage], completed=done, total=total, description=f"{label} {name}")

        def step(epoch, done, n_steps):
            if "epoch" not in tasks:
                for t in tasks.values():  # preparation is over
                    prog.remove_task(t)
                tasks.clear()
                tasks["epoch"] = prog.add_task("epoch", total=n_steps)
            prog.update(tasks["epoch"], completed=done, total=n_steps, description=f"epoch {epoch + 1}/{epochs}")

        def note(line):
            prog.console.print(line, markup=False, highlight=False, soft_wrap=True)

        yield TrainCallbacks(prepare=prepare, note=note, step=step, epoch=lambda row: note(format_epoch(row, epochs)))


@app.command("train", cls=command_showing_defaults(help_defaults, help_note))
@run_cli
def train_cmd(
    recipe: Optional[str] = typer.Option(None, "--recipe", "-r", help="Recipe: a packaged recipe's name or the path of a TOML file (TrainConfig fields + a \\[data] table); the options below override it."),
    data: Optional[List[str]] = typer.Option(None, "--data", "-d", help="Training videos: a folder of videos, a video, a dataset folder or NAME:ROOT (e.g. ubfc:/data/UBFC). Repeatable; replaces the recipe's \\[data]."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Run folder: checkpoint.pt, log.csv, rectified.csv, config.json, recipe.toml (the recipe as run), model.pt."),
    synth: Optional[int] = typer.Option(None, "--synth", min=0, help="Add N semi-synthetic clips (synth.make_suite, rendered once into the cache)."),
    synth_seed: Optional[int] = typer.Option(None, "--synth-seed", help="Seed of the semi-synthetic suite."),
    synth_size: Optional[str] = typer.Option(None, "--synth-size", help="Frame size WxH of the semi-synthetic clips."),
    holdout: Optional[List[str]] = typer.Option(None, "--holdout", help="Subject ids / recording names of --data datasets NOT to train on (comma list)."),
    val: Optional[List[str]] = typer.Option(None, "--val", help="Held-out dataset (NAME:ROOT or folder) with GT, for per-epoch validation MAE only."),
    val_subjects: Optional[List[str]] = typer.Option(None, "--val-subjects", help="Only these subjects of --val (comma list)."),
    ablation: Optional[str] = typer.Option(None, "--ablation", help="Objective row: plain-ssl | pseudo | gradual | ranking | corect | full | pseudo-only | supervised."),
    supervised: bool = typer.Option(False, "--supervised", help="Upper bound: fit ground-truth PPG (reads GT; same as --ablation supervised)."),
    epochs: Optional[int] = typer.Option(None, "--epochs", min=1),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", min=2),
    lr: Optional[float] = typer.Option(None, "--lr", help="AdamW learning rate."),
    seed: Optional[int] = typer.Option(None, "--seed"),
    threads: Optional[int] = typer.Option(None, "--threads", min=1, help="CPU threads for torch."),
    lambda_max: Optional[int] = typer.Option(None, "--lambda-max", min=0, help="Co-rectified instances per batch at the last epoch."),
    lr_schedule: Optional[str] = typer.Option(None, "--lr-schedule", help="const (the paper) | cosine (anneal to 0 over the epochs)."),
    pseudo_filter: Optional[str] = typer.Option(None, "--pseudo-filter", help="Pseudo label: readout (2SR, 0.7–3.5 Hz) | flat (2SR, 0.4–4 Hz, keeps low fundamentals) | pos-track (POS kept near its whole-recording HR track)."),
    flicker: Optional[float] = typer.Option(None, "--flicker", min=0.0, max=1.0, help="Fraction of training views given a random colour-neutral brightness flicker."),
    rank_readout_weight: Optional[bool] = typer.Option(None, "--rank-readout-weight/--no-rank-readout-weight", help="Rank the HR the read-out will report (loss PSDs weighted by its filter gain)."),
    rank_in_band: Optional[bool] = typer.Option(None, "--rank-in-band/--no-rank-in-band", help="Rank only resampled views whose expected HR stays inside the PSD band."),
    pseudo_consensus: Optional[str] = typer.Option(None, "--pseudo-consensus", help="Comma list of rgb methods (e.g. pos,chrom) that must read a clip's label HR (± consensus_tol_bpm) for L_pseudo to count it; 'none' turns it off."),
    harmonic_guard: Optional[float] = typer.Option(None, "--harmonic-guard", min=0.0, help="Weight of a (not faded) penalty on output harmonics that rival a slow pseudo label's fundamental (0 = off)."),
    harmonic_guard_below: Optional[float] = typer.Option(None, "--harmonic-guard-below", help="Guard only clips whose pseudo-label HR is below this (bpm)."),
    harmonic_guard_ratios: Optional[str] = typer.Option(None, "--harmonic-guard-ratios", help="Comma list of multiples of the label's rate that must not rival it (0.5 = half the rate)."),
    input_filter: Optional[str] = typer.Option(None, "--input-filter", help="Drift removal on the network's input colour traces: none | poly3 (subtract a cubic per 10-s window) | highpass (the cubic, then a smooth high-pass at 35 bpm) | band (limit to the PSD band)."),
    roi: Optional[str] = typer.Option(None, "--roi", help="face | full-frame (pre-cropped skin videos)."),
    cache_dir: Path = typer.Option(DEFAULT_CACHE_DIR, "--cache-dir", help="STMap / pseudo-label / synth cache."),
    resume: bool = typer.Option(False, "--resume", help="Continue bit-exactly from OUT/checkpoint.pt."),
    stream: Optional[bool] = typer.Option(None, "--stream/--no-stream", help="Read training recordings from the cache per batch instead of holding them (default: above 2 GiB)."),
    as_json: bool = typer.Option(False, "--json", help="Print the per-epoch history as JSON on stdout."),
):
    """Train the STMap network label-free (pseudo labels + self-supervision + ranking + co-rectification) from a recipe.

    Data-parallel over N processes: torchrun --nproc-per-node N -m pseudopulse train ... (docs/scale.md)."""
    from pseudopulse.train.distributed import env_world, process_group
    from pseudopulse.train.recipe import DEFAULT_RECIPE, DataPlan, RecipeError, load_recipe, resolved_recipe
    from pseudopulse.train.run import gather_sources, run_training, validation_sources

    if supervised:
        if ablation not in (None, "supervised"):
            raise typer.BadParameter(f"--supervised is the supervised row; it cannot be combined with --ablation {ablation}")
        ablation = "supervised"
    options = {"ablation": ablation, "epochs": epochs, "batch_size": batch_size, "lr": lr, "seed": seed,
               "threads": threads, "lambda_max": lambda_max, "lr_schedule": lr_schedule, "pseudo_filter": pseudo_filter,
               "flicker": flicker, "rank_readout_weight": rank_readout_weight, "rank_in_band": rank_in_band,
               "pseudo_consensus": None if pseudo_consensus is None else _methods(pseudo_consensus),
               "harmonic_guard": harmonic_guard, "harmonic_guard_below": harmonic_guard_below,
               "harmonic_guard_ratios": None if harmonic_guard_ratios is None else _floats(harmonic_guard_ratios, "--harmonic-guard-ratios"),
               "input_filter": input_filter}  # fmt: skip
    overrides = {CONFIG_OPTIONS[k]: v for k, v in options.items() if v is not None}
    data_options = {"data": tuple(data) if data else None, "holdout": tuple(comma_list(holdout)) if holdout else None,
                    "synth": synth, "synth_seed": synth_seed, "synth_size": _frame_size(synth_size), "roi": roi}  # fmt: skip
    rec = load_recipe(recipe or DEFAULT_RECIPE)
    try:
        cfg = rec.config(**overrides)
    except RecipeError:
        raise
    except ValueError as e:
        raise typer.BadParameter(str(e)) from None
    try:  # --data replaces the recipe's [data] table; the other data options change one entry
        plan = dataclasses.replace(DataPlan() if data else rec.data, **{DATA_OPTIONS[k]: v for k, v in data_options.items() if v is not None})
    except ValueError as e:
        raise typer.BadParameter(str(e)) from None
    if plan.empty:
        raise typer.BadParameter(f"give training data: --data PATH (repeatable) and/or --synth N (recipe {rec.name} has no [data])")
    out = out or Path("runs") / rec.name
    sources = gather_sources(plan, cache_dir=cache_dir)
    val_sources = validation_sources(val or [], comma_list(val_subjects), cache_dir=cache_dir, roi=plan.roi, train_sources=sources)
    with process_group(env_world()) as world, training_display(cfg.epochs, quiet=as_json or not world.main) as callbacks:
        res = run_training(cfg, sources, out=out, cache_dir=cache_dir, val_sources=val_sources, resume=resume,
                           callbacks=callbacks if world.main else None, recipe=resolved_recipe(rec, cfg, plan),
                           stream=stream)  # fmt: skip
    if not world.main:  # rank 0 reports
        return
    if as_json:
        print(json.dumps({"model": str(res.model_path), "recipe": rec.name, "history": res.history}, default=float))
    else:
        console.print(f"wrote {res.model_path} (net {res.final_net + 1}, recipe {rec.name}), log {out / 'log.csv'}, "
                      f"co-rectification log {out / 'rectified.csv'}, recipe as run {out / 'recipe.toml'}")  # fmt: skip
