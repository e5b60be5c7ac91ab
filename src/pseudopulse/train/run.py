"""Running a training end to end: the sources a ``DataPlan`` names, their preparation (STMaps and pseudo labels,
cached) and the training loop; plus the configs ``adapt`` fine-tunes with. Progress goes to callbacks
(``TrainCallbacks``): nothing here prints, so the command line decides how it looks.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from pseudopulse.errors import DatasetError
from pseudopulse.io import atomic_write_text
from pseudopulse.train.config import RECIPE_FIELDS, TrainConfig
from pseudopulse.train.recipe import DEFAULT_RECIPE, DataPlan, Recipe, load_recipe
from pseudopulse.train.trainer import TrainResult

# training data above this many bytes (float32 STMap values) streams from the cache instead of being held in memory
STREAM_ABOVE_BYTES = 2 << 30
# fine-tuning from trained weights: fewer epochs and smaller steps than training from scratch (TrainConfig)
ADAPT_DEFAULTS = {"epochs": 10, "lr": 1e-4}


@dataclass
class TrainCallbacks:
    """Progress of ``run_training``; every callback is optional.

    ``prepare(stage, done, total, name)``: recordings prepared so far (stage "train" or "val");
    ``note(line)``: one line of news (a skipped recording, the data summary);
    ``step(epoch, step, n_steps)`` and ``epoch(row)``: as ``trainer.train``'s ``on_step`` / ``on_epoch``."""

    prepare: Callable[[str, int, int, str], None] | None = None
    note: Callable[[str], None] | None = None
    step: Callable[[int, int, int], None] | None = None
    epoch: Callable[[dict], None] | None = None


def gather_sources(plan: DataPlan, *, cache_dir: str | Path | None) -> list:
    """Training sources of ``plan``: every ``data`` spec (``holdout`` subjects left out), then ``synth``
    semi-synthetic clips (rendered once into ``cache_dir``)."""
    from pseudopulse.synth.config import SYNTH_TRAIN_SIZE
    from pseudopulse.train.data import sources_from_spec, synth_sources

    sources = []
    for spec in plan.data:
        sources += sources_from_spec(spec, cache_dir=cache_dir, exclude_subjects=plan.holdout, roi=plan.roi)
    if plan.synth:
        width, height = plan.synth_size or SYNTH_TRAIN_SIZE
        sources += synth_sources(plan.synth, seed=plan.synth_seed, cache_dir=cache_dir, width=width, height=height)
    return sources


def validation_sources(specs: Sequence[str], subjects: Sequence[str], *, cache_dir: str | Path | None, roi: str,
                       train_sources: Sequence = ()) -> list:  # fmt: skip
    """Held-out sources (with ground truth) for per-epoch validation: ``specs`` datasets, only ``subjects`` when
    given. A recording that is also in ``train_sources`` is a DatasetError."""
    from pseudopulse.train.data import sources_from_spec

    keep = set(subjects)
    out = []
    for spec in specs:
        for s in sources_from_spec(spec, cache_dir=cache_dir, roi=roi):
            sid = s.name.split("/")[-1]
            if not keep or sid in keep or sid.removeprefix("subject") in keep:
                out.append(s)
    both = sorted({s.name for s in train_sources} & {s.name for s in out})
    if both:
        raise DatasetError(f"validation recording {both[0]} is also in the training data; leave it out with --holdout")
    return out


def format_epoch(row: dict, epochs: int) -> str:
    """One line for an epoch's log row (losses, λ, rectified clips, validation MAE in bpm, seconds)."""
    val = row.get("val_mae_bpm")
    val_s = f"  val MAE {val:.2f} bpm" if isinstance(val, float) else ""
    harm_s = f"  harm {row['l_harm']:.3f}" if row.get("l_harm") else ""
    return (
        f"epoch {row['epoch'] + 1}/{epochs} net {row['net']}  loss {row['loss']:+.4f}  pseudo {row['l_pseudo']:.3f}"
        f"  pos {row['l_pos']:.4f}  neg {row['l_neg']:.4f}  rank {row['l_rank']:.2f}{harm_s}  λ {row['lambda']}"
        f"  rectified {row['rectified']}{val_s}  {row['seconds']:.1f} s"
    )


def run_training(cfg: TrainConfig, sources: Sequence, *, out: str | Path, cache_dir: str | Path | None,
                 val_sources: Sequence = (), resume: bool = False, init_state: dict | None = None,
                 callbacks: TrainCallbacks | None = None, recipe: Recipe | None = None,
                 stream: bool | None = None) -> TrainResult:  # fmt: skip
    """Prepare ``sources`` (ground truth read only for supervised configs) and ``val_sources``, then train into
    ``out`` (see ``trainer.train``). ``recipe``: written to OUT/recipe.toml first, so the run can be repeated
    with ``pseudopulse train --recipe OUT/recipe.toml``. ``stream``: read training recordings from the cache when a
    batch needs them (``ClipDataset``) instead of holding them; None = when they exceed ``STREAM_ABOVE_BYTES`` (with a
    ``cache_dir``; the batches are the same either way). Under torchrun rank 0 prepares first (and alone writes
    the run folder); the other ranks then read what it cached."""
    from pseudopulse.train import distributed
    from pseudopulse.train.data import CachedRecording, prepare_recordings
    from pseudopulse.train.trainer import train

    cb = callbacks or TrainCallbacks()
    note = cb.note or (lambda line: None)
    out = Path(out)
    if recipe is not None and distributed.current().main:
        out.mkdir(parents=True, exist_ok=True)
        header = (f"recipe {recipe.name} as run: its ablation and every setting that differs from that row's "
                  f"defaults\nrepeat with: pseudopulse train --recipe {out / 'recipe.toml'} --out DIR")  # fmt: skip
        atomic_write_text(out / "recipe.toml", recipe.to_toml(header))

    def stage(name):
        return None if cb.prepare is None else (lambda i, n, rec: cb.prepare(name, i, n, rec))

    lazy = cache_dir is not None and stream is not False
    with distributed.rank_zero_first():  # no two ranks build the same cache entry at once
        recs, skipped = prepare_recordings(sources, fs=cfg.fs, cache_dir=cache_dir, supervised=cfg.supervised,
                                           pseudo_filter=cfg.pseudo_filter, progress=stage("train"), stream=lazy)  # fmt: skip
        val_recs = []
        if val_sources:
            val_recs, vskip = prepare_recordings(val_sources, fs=cfg.fs, cache_dir=cache_dir, supervised=True, progress=stage("val"))
            skipped += vskip
    if lazy and stream is None and sum(r.n_frames * r.n_rois * 3 * 4 for r in recs) <= STREAM_ABOVE_BYTES:
        recs = [r.load() for r in recs]  # small enough to hold
    streamed = "; streamed from the cache" if any(isinstance(r, CachedRecording) for r in recs) else ""
    for s in skipped:
        note(f"skipped {s}")
    minutes = sum(r.n_frames for r in recs) / cfg.fs / 60
    source = f"; recipe {recipe.name}" if recipe is not None else ""
    note(f"training on {len(recs)} recording(s), {minutes:.1f} min; {len(val_recs)} held-out; ablation {cfg.ablation}{source}{streamed}")
    return train(cfg, recs, run_dir=out, val_recordings=val_recs, resume=resume, init_state=init_state,
                 on_epoch=cb.epoch, on_step=cb.step)  # fmt: skip


def adapt_config(info: dict, net_config: dict, *, fs: float, clip_s: float, source: str = "the model",
                 ablation: str | None = None, **overrides) -> TrainConfig:  # fmt: skip
    """The config that fine-tunes one trained network: its architecture (``net_config``: channels, band, input
    filter) and sampling (``fs`` Hz, ``clip_s`` s), its ablation row and stored recipe (``info``, from the model
    file), ``ADAPT_DEFAULTS``, then ``ablation`` / ``overrides`` (e.g. the command line) on top. Settings the
    model file stores but this version does not know are dropped with a warning naming ``source``."""
    recipe = info.get("recipe", {})
    unknown = sorted(set(recipe) - set(RECIPE_FIELDS))
    if unknown:  # written by another version of pseudopulse
        warnings.warn(f"{source}: ignoring training settings this version does not know: {', '.join(unknown)}")
    row = ablation or info.get("ablation") or load_recipe(DEFAULT_RECIPE).settings["ablation"]
    if row == "supervised":
        raise ValueError("adapt is label-free; use `pseudopulse train --supervised` for ground-truth training")
    band = net_config.get("band_bpm")
    arch = {"channels": tuple(net_config["channels"]), "input_filter": net_config.get("input_filter", "none"),
            "band_limit": band is not None, **({"band_bpm": tuple(band)} if band is not None else {})}  # fmt: skip
    stored = {k: tuple(v) if isinstance(v, list) else v for k, v in recipe.items() if k in RECIPE_FIELDS}
    return TrainConfig.for_ablation(row, **{**ADAPT_DEFAULTS, "fs": fs, "clip_s": clip_s, **arch, **stored, **overrides})
