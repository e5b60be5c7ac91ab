"""`pseudopulse adapt`: fine-tune the shipped model on your own unlabeled videos (same label-free objective)."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import List, Optional

import typer

from pseudopulse.cli.app import app
from pseudopulse.cli.common import comma_list, console, run_cli


@app.command("adapt")
@run_cli
def adapt_cmd(
    videos: List[Path] = typer.Argument(..., help="Unlabeled face videos (files or folders of videos)."),
    out: Path = typer.Option(..., "--out", "-o", help="Adapted model file to write (e.g. model.pt)."),
    base: Optional[Path] = typer.Option(None, "--model", help="Model file to start from (default: the shipped weights)."),
    epochs: int = typer.Option(10, "--epochs", min=1),
    lr: float = typer.Option(1e-4, "--lr", help="AdamW learning rate."),
    batch_size: int = typer.Option(16, "--batch-size", min=2),
    ablation: Optional[str] = typer.Option(None, "--ablation", help="Label-free objective row (full, ranking, gradual, ...); default: the base model's."),
    pseudo_consensus: Optional[str] = typer.Option(None, "--pseudo-consensus", help="Comma list of rgb methods (e.g. pos,chrom) that must agree with a clip's 2SR label for it to count; 'none' turns it off; default: the base model's."),
    seed: int = typer.Option(0, "--seed"),
    threads: int = typer.Option(2, "--threads", min=1),
    roi: str = typer.Option("face", "--roi", help="face | full-frame (pre-cropped skin videos)."),
    cache_dir: Path = typer.Option(Path(".cache/pseudopulse"), "--cache-dir", help="STMap / pseudo-label cache."),
    run_dir: Optional[Path] = typer.Option(None, "--run-dir", help="Checkpoints and logs (default: OUT without suffix + '_run')."),
    resume: bool = typer.Option(False, "--resume", help="Continue from RUN_DIR/checkpoint.pt."),
):
    """Fine-tune a trained model on unlabeled videos; writes a model file usable with `--method model --model FILE`."""
    from pseudopulse.errors import ModelError
    from pseudopulse.cli.train import run_training
    from pseudopulse.io import atomic_path
    from pseudopulse.model.predictor import SHIPPED_WEIGHTS
    from pseudopulse.model.file import export_ensemble, load_model_file, split_members
    from pseudopulse.train.config import RECIPE_FIELDS, TrainConfig
    from pseudopulse.train.data import video_sources

    base_path = base or SHIPPED_WEIGHTS
    if not base_path.is_file():
        raise ModelError(f"{base_path}: no model to adapt; give --model MODEL.pt (from `pseudopulse train`)")
    net, payload = load_model_file(base_path)
    members = split_members(net, payload)
    if ablation == "supervised":
        raise typer.BadParameter("adapt is label-free; use `pseudopulse train --supervised` for GT training")
    consensus = {}
    if pseudo_consensus is not None:
        names = comma_list([pseudo_consensus])
        consensus = {"pseudo_consensus": () if names in ([], ["none"]) else tuple(names)}
    configs = []
    for member, info in members:
        recipe = info.get("recipe", {})
        unknown = sorted(set(recipe) - set(RECIPE_FIELDS))
        if unknown:  # written by another version of pseudopulse
            warnings.warn(f"{base_path.name}: ignoring training settings this version does not know: {', '.join(unknown)}")
        try:
            configs.append(TrainConfig.for_ablation(
                ablation or info.get("ablation", "ranking"), epochs=epochs, lr=lr, batch_size=batch_size, seed=seed,
                threads=threads, fs=payload["fs"], clip_s=payload["clip_s"], channels=tuple(member.config()["channels"]),
                **{**{k: v for k, v in recipe.items() if k in RECIPE_FIELDS}, **consensus}))  # fmt: skip
        except ValueError as e:
            raise typer.BadParameter(str(e)) from None
    sources = video_sources(videos, cache_dir=cache_dir, roi=roi)
    run = run_dir or out.with_name(out.stem + "_run")
    if len(members) == 1:
        res = run_training(configs[0], sources, out=run, cache_dir=cache_dir, resume=resume, init_state=net.state_dict())
        with atomic_path(out) as tmp:
            tmp.write_bytes(res.model_path.read_bytes())
    else:  # an ensemble: every member is fine-tuned on the same videos, each in its own run folder
        adapted = []
        for k, ((member, _), cfg) in enumerate(zip(members, configs)):
            console.print(f"adapting ensemble member {k + 1}/{len(members)}")
            res = run_training(cfg, sources, out=run / f"member-{k}", cache_dir=cache_dir, resume=resume,
                               init_state=member.state_dict())  # fmt: skip
            adapted.append(res.model_path)
        export_ensemble(out, adapted, info={"adapted_from": base_path.name})
    console.print(f"wrote {out} (adapted from {base_path}; logs in {run})")
