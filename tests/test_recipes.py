"""Recipes: the TOML format round-trips, precedence (TrainConfig < recipe < command line), errors that name the
file and key, `--recipe paper` is the paper's full row, and the shipped recipes equal what the shipped weights store."""

import dataclasses
import re
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from pseudopulse.cli import app
from pseudopulse.model.file import load_model_file, split_members
from pseudopulse.model.predictor import SHIPPED_WEIGHTS
from pseudopulse.train.config import RECIPE_FIELDS, TrainConfig
from pseudopulse.train.recipe import (
    DEFAULT_RECIPE,
    DataPlan,
    RecipeError,
    load_recipe,
    parse_recipe,
    recipe_names,
    resolved_recipe,
)
from pseudopulse.train.run import adapt_config


def test_packaged_recipes_round_trip_through_toml():
    assert {"paper", "shipped-member1", "shipped-member2"} <= set(recipe_names())
    for name in recipe_names():
        recipe = load_recipe(name)
        again = parse_recipe(recipe.to_toml("a header\nover two lines"), name=name)
        assert (again.settings, again.data) == (recipe.settings, recipe.data)
        assert again.config().to_dict() == recipe.config().to_dict()


def test_a_run_recipe_reproduces_the_final_config_and_data():
    recipe = load_recipe("shipped-member2")
    cfg = recipe.config(epochs=3, pseudo_consensus=("pos", "chrom"), harmonic_guard=0.5, harmonic_guard_ratios=(0.5, 2.0))
    plan = dataclasses.replace(recipe.data, synth=4, synth_size=(640, 480))
    again = parse_recipe(resolved_recipe(recipe, cfg, plan).to_toml(), name="run")
    assert again.config().to_dict() == cfg.to_dict() and again.data == plan


def test_precedence_defaults_then_recipe_then_overrides():
    defaults = TrainConfig.defaults()
    recipe = load_recipe(DEFAULT_RECIPE)
    cfg = recipe.config()
    assert cfg.lr == recipe.settings["lr"] != defaults["lr"]  # the recipe beats the default
    assert cfg.batch_size == defaults["batch_size"]  # what the recipe does not name keeps the default
    over = recipe.config(lr=1e-3, ablation="full")
    assert over.lr == 1e-3 and over.epochs == recipe.settings["epochs"]  # the override beats the recipe
    assert (over.ablation, over.use_corect, over.n_nets) == ("full", True, 2)  # another row, the recipe's settings


def test_paper_recipe_is_the_full_row_with_the_paper_hyper_parameters():
    cfg = load_recipe("paper").config()
    assert cfg.to_dict() == TrainConfig.for_ablation("full").to_dict()
    assert (cfg.epochs, cfg.batch_size, cfg.lr, cfg.lr_schedule) == (80, 16, 5e-5, "const")
    assert load_recipe("paper").data.empty


@pytest.mark.parametrize("member", [0, 1])
def test_shipped_recipes_equal_the_recipes_stored_in_the_shipped_weights(member):
    """The shipped file stores each network's ablation, epochs and recipe, its architecture and (in the name of
    its source file) its seed: the packaged recipe must give exactly those."""
    net, payload = load_model_file(SHIPPED_WEIGHTS)
    members = split_members(net, payload)
    assert len(members) == 2
    network, info = members[member]
    cfg = load_recipe(f"shipped-member{member + 1}").config()
    stored = {k: tuple(v) if isinstance(v, list) else v for k, v in info["recipe"].items()}
    assert set(stored) <= set(RECIPE_FIELDS)
    assert stored == {k: getattr(cfg, k) for k in stored}
    defaults = TrainConfig.defaults()  # fields added after a member was trained: it trained with their default
    assert all(getattr(cfg, k) == defaults[k] for k in RECIPE_FIELDS if k not in stored)
    assert (info["ablation"], info["epochs"]) == (cfg.ablation, cfg.epochs)
    arch = network.config()
    assert (arch["input_filter"], tuple(arch["channels"]), tuple(arch["band_bpm"])) == (cfg.input_filter, cfg.channels, cfg.band_bpm)
    assert (payload["fs"], payload["clip_s"]) == (cfg.fs, cfg.clip_s)
    assert int(re.search(r"seed(\d+)", info["source"]).group(1)) == cfg.seed


def test_shipped_recipes_differ_only_in_seed_and_input_filter():
    one, two = (load_recipe(f"shipped-member{k}") for k in (1, 2))
    diff = {k for k in {*one.settings, *two.settings} if one.settings.get(k) != two.settings.get(k)}
    assert diff == {"seed", "input_filter"} and one.data == two.data


def test_adapting_the_shipped_model_keeps_each_members_recipe_and_architecture():
    net, payload = load_model_file(SHIPPED_WEIGHTS)
    for k, (network, info) in enumerate(split_members(net, payload)):
        cfg = adapt_config(info, network.config(), fs=payload["fs"], clip_s=payload["clip_s"], epochs=2)
        shipped = load_recipe(f"shipped-member{k + 1}").config()
        assert cfg.epochs == 2 and cfg.input_filter == shipped.input_filter
        assert cfg.recipe() == shipped.recipe() and cfg.ablation == shipped.ablation
    with pytest.raises(ValueError, match="label-free"):
        adapt_config({}, net.members[0].config(), fs=30.0, clip_s=10.0, ablation="supervised")


# ---------------------------------------------------------------------------------------------- errors
@pytest.mark.parametrize("text, message", [
    ('epochs = 3\nlearning_rate = 1e-3\n', r"mine\.toml: unknown key 'learning_rate'; valid keys: .*\blr\b"),
    ('[data]\nsynth = 2\nvideos = ["a"]\n', r"mine\.toml \[data\]: unknown key 'videos'; valid keys: data, holdout"),
    ('epochs = "forty"\n', r"mine\.toml: epochs = \"forty\" should be a int"),
    ("epochs = \n", r"mine\.toml: not valid TOML"),
    # a value TrainConfig refuses: named with the file when the config is built
    ('lr_schedule = "linear"\n', r"mine\.toml: invalid training config: lr_schedule='linear'"),
])
def test_unknown_and_mistyped_keys_name_the_file_the_key_and_the_valid_keys(tmp_path, text, message):
    bad = tmp_path / "mine.toml"
    bad.write_text(text)
    with pytest.raises(RecipeError, match=message):
        load_recipe(bad).config()


def test_an_unknown_recipe_name_lists_the_packaged_ones():
    with pytest.raises(RecipeError, match="no such packaged recipe or file; give one of paper"):
        load_recipe("no-such-recipe")


def test_supervised_is_decided_by_the_ablation_row_alone():
    assert TrainConfig.for_ablation("supervised").supervised and not TrainConfig.for_ablation("pseudo-only").supervised
    assert "supervised" not in TrainConfig().to_dict()
    old = {**TrainConfig.for_ablation("supervised").to_dict(), "supervised": True}  # config.json of an older version
    assert TrainConfig.from_dict(old).supervised
    with pytest.raises(ValueError, match="ablation='nope'"):
        TrainConfig(ablation="nope")


# ---------------------------------------------------------------------------------------------- command line
def test_cli_unknown_recipe_key_is_one_line_and_exit_code_2(tmp_path):
    bad = tmp_path / "mine.toml"
    bad.write_text("epochs = 3\nlearning_rate = 1e-3\n")
    proc = subprocess.run([sys.executable, "-m", "pseudopulse", "train", "--recipe", str(bad), "--out", str(tmp_path / "run")],
                          capture_output=True, text=True)  # fmt: skip
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and str(bad) in lines[0] and "'learning_rate'" in lines[0] and "valid keys" in lines[0]
    assert not (tmp_path / "run").exists()


@pytest.fixture
def captured(monkeypatch):
    """Run `pseudopulse train` in-process up to training: returns the config, data plan and folder it would use."""
    import pseudopulse.train.run as run

    seen = {}
    monkeypatch.setattr(run, "gather_sources", lambda plan, cache_dir: seen.update(plan=plan) or [])
    monkeypatch.setattr(run, "validation_sources", lambda *a, **k: [])

    def fake_training(cfg, sources, *, out, recipe, **kw):
        seen.update(cfg=cfg, out=out, recipe=recipe)
        raise SystemExit(0)

    monkeypatch.setattr(run, "run_training", fake_training)

    def invoke(*args):
        seen.clear()
        result = CliRunner().invoke(app, ["train", *args])
        assert result.exit_code == 0, result.output
        return seen

    return invoke


def test_cli_options_given_override_the_recipe_and_nothing_else(captured):
    recipe = load_recipe(DEFAULT_RECIPE)
    seen = captured()  # no options: the default recipe, its data, runs/NAME
    assert seen["cfg"].to_dict() == recipe.config().to_dict() and seen["plan"] == recipe.data
    assert str(seen["out"]) == f"runs/{DEFAULT_RECIPE}" and seen["recipe"].name == DEFAULT_RECIPE
    seen = captured("--lr", "1e-3", "--no-rank-in-band", "--holdout", "7", "--pseudo-consensus", "pos")
    assert seen["cfg"].to_dict() == recipe.config(lr=1e-3, rank_in_band=False, pseudo_consensus=("pos",)).to_dict()
    assert seen["plan"] == dataclasses.replace(recipe.data, holdout=("7",))  # one data entry changed, the rest kept
    seen = captured("--data", "videos/", "--synth", "3", "--recipe", "paper", "--out", "runs/p")
    assert seen["cfg"].to_dict() == TrainConfig.for_ablation("full").to_dict()
    assert seen["plan"] == DataPlan(data=("videos/",), synth=3) and str(seen["out"]) == "runs/p"  # --data replaces [data]
    assert captured("--supervised", "--data", "v/")["cfg"].supervised


def test_cli_help_names_the_default_recipe_and_shows_effective_defaults():
    result = CliRunner().invoke(app, ["train", "--help"], env={"COLUMNS": "250"})
    text = " ".join(result.output.split())
    assert result.exit_code == 0 and f"Without --recipe this trains {DEFAULT_RECIPE}" in text and "--recipe paper" in text
    recipe = load_recipe(DEFAULT_RECIPE)
    assert f"{recipe.settings['epochs']} from recipe {DEFAULT_RECIPE}" in text  # the recipe's value
    assert f"[default: ({TrainConfig.defaults()['batch_size']})]" in text  # TrainConfig's where the recipe is silent
