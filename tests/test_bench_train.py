"""`benchmark train`: what it times and writes (the numbers themselves are machine-dependent, never asserted)."""

import json

from typer.testing import CliRunner

from pseudopulse.cli import app
from pseudopulse.model import SHIPPED_WEIGHTS


def test_benchmark_train_writes_per_epoch_and_inference_rows(tmp_path):
    result = CliRunner().invoke(app, ["benchmark", "train", "--out", str(tmp_path), "--subjects", "2", "--minutes", "0.5",
                                      "--epochs", "2", "--target-epochs", "4", "--ablation", "ranking", "--threads", "1"])  # fmt: skip
    assert result.exit_code == 0, result.output
    res = json.loads((tmp_path / "train.json").read_text())
    assert res["clips"] == 2 * 3  # 2 recordings of 30 s = three 10-s clips each
    assert len(res["seconds_per_epoch_all"]) == 2
    assert res["extrapolated_minutes"] == res["seconds_per_epoch"] * 4 / 60.0
    assert res["inference_x_real_time"] > 0
    md = (tmp_path / "train.md").read_text()
    assert "4 epochs, wall clock (extrapolated)" in md and "inference, × real time" in md
    if SHIPPED_WEIGHTS.is_file():  # the shipped pair runs both members
        assert res["shipped_networks"] == 2 and res["shipped_inference_x_real_time"] > 0
        assert "inference of the shipped model file (2 network(s))" in md
