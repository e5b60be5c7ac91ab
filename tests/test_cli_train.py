"""`pseudopulse train` / `adapt` from the command line: a run folder, resume, and an adapted model that predicts."""

import csv
import json
import subprocess
import sys

import numpy as np
import pytest
from fixtures_layouts import write_pulse_video

from pseudopulse.model.file import load_model_file


def run(*args):
    proc = subprocess.run([sys.executable, "-m", "pseudopulse", *map(str, args)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("unlabeled")
    for i, hr in enumerate((66.0, 84.0, 102.0)):
        write_pulse_video(folder / f"clip{i}.mkv", np.arange(600) / 30.0, hr, fps=30, seed=i)
    return folder


def test_train_resume_and_adapt(videos, tmp_path):
    cache = tmp_path / "cache"
    common = ["--roi", "full-frame", "--cache-dir", cache, "--batch-size", "4", "--threads", "1", "--ablation", "ranking"]
    recipe = ["--lr-schedule", "cosine", "--pseudo-filter", "flat", "--flicker", "0.5", "--rank-in-band", "--rank-readout-weight",
              "--harmonic-guard", "0.5", "--harmonic-guard-ratios", "0.5,2,3", "--input-filter", "highpass",
              "--pseudo-consensus", "pos,chrom"]
    common += recipe
    run("train", "--data", videos, "--epochs", "1", "--out", tmp_path / "run", *common)
    rows = list(csv.DictReader(open(tmp_path / "run" / "log.csv")))
    assert len(rows) == 1 and (tmp_path / "run" / "model.pt").is_file()
    # a later, longer run resumes from the checkpoint rather than starting over
    run("train", "--data", videos, "--epochs", "2", "--out", tmp_path / "run", "--resume", *common)
    rows = list(csv.DictReader(open(tmp_path / "run" / "log.csv")))
    assert [int(r["epoch"]) for r in rows] == [0, 1]
    assert json.loads((tmp_path / "run" / "config.json").read_text())["epochs"] == 2
    net, payload = load_model_file(tmp_path / "run" / "model.pt")
    assert net.input_filter == "highpass" and tuple(payload["info"]["recipe"]["harmonic_guard_ratios"]) == (0.5, 2.0, 3.0)
    # the run folder holds the recipe as run: loading it gives the run's final config and data
    from pseudopulse.train.config import TrainConfig
    from pseudopulse.train.recipe import load_recipe

    as_run = load_recipe(tmp_path / "run" / "recipe.toml")
    final = TrainConfig.from_dict(json.loads((tmp_path / "run" / "config.json").read_text()))
    assert as_run.config().to_dict() == final.to_dict() and as_run.data.data == (str(videos),) and as_run.data.synth == 0

    adapted = tmp_path / "mine.pt"
    run("adapt", videos / "clip0.mkv", videos / "clip1.mkv", "--model", tmp_path / "run" / "model.pt", "--epochs", "1",
        "--out", adapted, "--run-dir", tmp_path / "adapt_run", *common[:-2 - len(recipe)])  # fmt: skip
    # adapt continues with the base model's objective: its ablation row and recipe
    cfg = json.loads((tmp_path / "adapt_run" / "config.json").read_text())
    assert (cfg["ablation"], cfg["lr_schedule"], cfg["pseudo_filter"], cfg["flicker_prob"], cfg["rank_in_band"], cfg["rank_readout_weight"],
            cfg["pseudo_consensus"], cfg["harmonic_guard"]) == ("ranking", "cosine", "flat", 0.5, True, True, ["pos", "chrom"], 0.5)
    assert load_model_file(adapted)[0].input_filter == "highpass"  # the architecture is kept too
    out = run("predict", videos / "clip2.mkv", "--roi", "full-frame", "--model", adapted, "--json", "--no-progress")
    doc = json.loads(out.stdout)
    assert doc["method"] == "model" and 40 <= doc["hr_bpm"] <= 180

    # an ensemble of the trained and the adapted network; adapting it fine-tunes each member and keeps an ensemble
    from pseudopulse.model.ensemble import EnsembleNet

    run("ensemble", tmp_path / "run" / "model.pt", adapted, "--out", tmp_path / "ens.pt")
    run("adapt", videos / "clip0.mkv", "--model", tmp_path / "ens.pt", "--epochs", "1", "--out", tmp_path / "ens_mine.pt",
        "--run-dir", tmp_path / "ens_run", "--pseudo-consensus", "none", *common[:-2 - len(recipe)])  # fmt: skip
    net, payload = load_model_file(tmp_path / "ens_mine.pt")
    assert isinstance(net, EnsembleNet) and len(net.members) == 2
    assert all((tmp_path / "ens_run" / f"member-{k}" / "model.pt").is_file() for k in range(2))
    member = json.loads((tmp_path / "ens_run" / "member-1" / "config.json").read_text())
    assert member["pseudo_consensus"] == [] and member["rank_readout_weight"]  # the override wins, the recipe stays
    doc = json.loads(run("predict", videos / "clip2.mkv", "--roi", "full-frame", "--model", tmp_path / "ens_mine.pt",
                         "--json", "--no-progress").stdout)  # fmt: skip
    assert 40 <= doc["hr_bpm"] <= 180


@pytest.mark.parametrize("size", ["640", "641x480", "32x32", "axb"])
def test_train_refuses_a_bad_synth_size(size, tmp_path):
    from typer.testing import CliRunner

    from pseudopulse.cli import app

    result = CliRunner().invoke(app, ["train", "--synth", "2", "--synth-size", size, "--out", str(tmp_path / "run")])
    assert result.exit_code == 2 and "--synth-size" in result.output
    assert not (tmp_path / "run").exists()


def test_adapt_ignores_recipe_settings_from_another_version_with_a_warning(videos, tmp_path):
    import torch

    from pseudopulse.model import STMapNet
    from pseudopulse.model.file import export_model

    torch.manual_seed(0)
    base = tmp_path / "future.pt"
    export_model(base, STMapNet(), fs=30.0, clip_s=10.0,
                 info={"ablation": "ranking", "recipe": {"lr_schedule": "cosine", "from_the_future": 1}})  # fmt: skip
    proc = run("adapt", videos / "clip0.mkv", "--model", base, "--epochs", "1", "--out", tmp_path / "a.pt", "--roi", "full-frame",
               "--cache-dir", tmp_path / "cache", "--batch-size", "4", "--threads", "1")  # fmt: skip
    assert "from_the_future" in " ".join(proc.stderr.split())
    assert json.loads((tmp_path / "a_run" / "config.json").read_text())["lr_schedule"] == "cosine"
