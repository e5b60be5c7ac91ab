"""`pseudopulse adapt`: fine-tune the shipped model on your own unlabeled videos (same label-free objective).

Each network keeps its architecture and training recipe from the model file (``train.run.adapt_config``); the
options given here override them. Defaults shown in ``--help`` are read from the lab when help is shown.
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from pseudopulse.cli.app import app
from pseudopulse.stmap.cache import DEFAULT_CACHE_DIR
from pseudopulse.cli.common import command_showing_defaults, comma_list, console, err_console, progress_bar, run_cli


def help_defaults() -> dict[str, str]:
    """Option parameter -> its default as help shows it (``ADAPT_DEFAULTS``, then ``TrainConfig``'s)."""
    from pseudopulse.train.config import TrainConfig
    from pseudopulse.train.recipe import DATA_DEFAULTS
    from pseudopulse.train.run import ADAPT_DEFAULTS

    values = {**TrainConfig.defaults(), **ADAPT_DEFAULTS}
    return {**{k: str(values[k]) for k in ("epochs", "lr", "batch_size", "seed", "threads")}, "roi": DATA_DEFAULTS["roi"],
            "ablation": "the base model's", "pseudo_consensus": "the base model's"}  # fmt: skip


@app.command("adapt", cls=command_showing_defaults(help_defaults))
@run_cli
def adapt_cmd(
    videos: List[Path] = typer.Argument(..., help="Unlabeled face videos (files or folders of videos)."),
    out: Path = typer.Option(..., "--out", "-o", help="Adapted model file to write (e.g. model.pt)."),
    base: Optional[Path] = typer.Option(None, "--model", help="Model file to start from (default: the shipped weights)."),
    epochs: Optional[int] = typer.Option(None, "--epochs", min=1),
    lr: Optional[float] = typer.Option(None, "--lr", help="AdamW learning rate."),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", min=2),
    ablation: Optional[str] = typer.Option(None, "--ablation", help="Label-free objective row (full, ranking, gradual, ...)."),
    pseudo_consensus: Optional[str] = typer.Option(None, "--pseudo-consensus", help="Comma list of rgb methods (e.g. pos,chrom) that must agree with a clip's 2SR label for it to count; 'none' turns it off."),
    seed: Optional[int] = typer.Option(None, "--seed"),
    threads: Optional[int] = typer.Option(None, "--threads", min=1),
    roi: Optional[str] = typer.Option(None, "--roi", help="face | full-frame (pre-cropped skin videos)."),
    cache_dir: Path = typer.Option(DEFAULT_CACHE_DIR, "--cache-dir", help="STMap / pseudo-label cache."),
    run_dir: Optional[Path] = typer.Option(None, "--run-dir", help="Checkpoints and logs (default: OUT without suffix + '_run')."),
    resume: bool = typer.Option(False, "--resume", help="Continue from RUN_DIR/checkpoint.pt."),
):
    """Fine-tune a trained model on unlabeled videos; writes a model file usable with `--method model --model FILE`."""
    from pseudopulse.errors import ModelError
    from pseudopulse.io import atomic_path
    from pseudopulse.model.file import export_ensemble, load_model_file, split_members
    from pseudopulse.model.predictor import SHIPPED_WEIGHTS
    from pseudopulse.train.data import video_sources
    from pseudopulse.train.recipe import DATA_DEFAULTS
    from pseudopulse.train.run import TrainCallbacks, adapt_config, format_epoch, run_training

    base_path = base or SHIPPED_WEIGHTS
    if not base_path.is_file():
        raise ModelError(f"{base_path}: no model to adapt; give --model MODEL.pt (from `pseudopulse train`)")
    net, payload = load_model_file(base_path)
    members = split_members(net, payload)
    overrides = {k: v for k, v in dict(epochs=epochs, lr=lr, batch_size=batch_size, seed=seed, threads=threads).items() if v is not None}
    if pseudo_consensus is not None:
        names = comma_list([pseudo_consensus])
        overrides["pseudo_consensus"] = () if names in ([], ["none"]) else tuple(names)
    try:
        configs = [adapt_config(info, member.config(), fs=payload["fs"], clip_s=payload["clip_s"], source=base_path.name,
                                ablation=ablation, **overrides) for member, info in members]  # fmt: skip
    except ValueError as e:
        raise typer.BadParameter(str(e)) from None
    sources = video_sources(videos, cache_dir=cache_dir, roi=roi or DATA_DEFAULTS["roi"])
    run = run_dir or out.with_name(out.stem + "_run")

    def adapt(k, cfg, state, folder):
        label = f"adapting member {k + 1}/{len(members)}" if len(members) > 1 else "adapting"
        with progress_bar(label) as update:
            note = lambda line: err_console.print(line, markup=False, highlight=False, soft_wrap=True)  # noqa: E731
            callbacks = TrainCallbacks(prepare=lambda stage, i, n, name: update(i, n), note=note,
                                       step=lambda e, s, n: update(e * n + s, cfg.epochs * n),
                                       epoch=lambda row: note(format_epoch(row, cfg.epochs)))  # fmt: skip
            return run_training(cfg, sources, out=folder, cache_dir=cache_dir, resume=resume, init_state=state, callbacks=callbacks)

    if len(members) == 1:
        res = adapt(0, configs[0], net.state_dict(), run)
        with atomic_path(out) as tmp:
            tmp.write_bytes(res.model_path.read_bytes())
    else:  # an ensemble: every member is fine-tuned on the same videos, each in its own run folder
        adapted = [adapt(k, cfg, member.state_dict(), run / f"member-{k}").model_path
                   for k, ((member, _), cfg) in enumerate(zip(members, configs))]  # fmt: skip
        export_ensemble(out, adapted, info={"adapted_from": base_path.name})
    console.print(f"wrote {out} (adapted from {base_path}; logs in {run})")
