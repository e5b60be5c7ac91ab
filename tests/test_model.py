"""STMap network, input normalisation and the predictor (model as a method)."""

import numpy as np
import pytest
import torch

from pseudopulse.errors import ModelError, SignalError
from pseudopulse.model import STMapNet, count_parameters, load_predictor
from pseudopulse.model import predictor as predictor_mod
from pseudopulse.model.normalize import normalize_clip, stmap_to_tensor
from pseudopulse.model.file import export_model
from pseudopulse.train.toy import toy_stmap


def test_net_accepts_any_length_and_roi_count():
    torch.manual_seed(0)
    net = STMapNet().eval()
    assert 200_000 < count_parameters(net) < 2_000_000
    with torch.no_grad():
        for r, t in ((25, 300), (25, 301), (9, 97), (16, 250)):
            y = net(torch.randn(2, 3, r, t))
            assert y.shape == (2, t) and torch.isfinite(y).all()
    with pytest.raises(ValueError, match="expects"):
        net(torch.randn(2, 25, 300))


def test_net_maps_time_to_time_and_band_limits_its_output():
    """Without the output band-limit, changing the input at the end of a 20-s clip leaves the first seconds of
    the output unchanged (receptive field of a few seconds); with it, no power falls outside 40–250 bpm."""
    torch.manual_seed(0)
    limited = STMapNet().eval()
    with torch.no_grad():
        y = limited(torch.randn(2, 3, 25, 300))
    power = torch.fft.rfft(y).abs() ** 2
    f_bpm = torch.fft.rfftfreq(300, d=1 / 30.0) * 60
    outside = (f_bpm < 40) | (f_bpm > 250)
    assert power[:, outside].sum() < 1e-9 * power.sum()
    net = STMapNet(band_bpm=None).eval()
    x = torch.randn(1, 3, 25, 600)
    x2 = x.clone()
    x2[..., 500:] += 5.0
    with torch.no_grad():
        y, y2 = net(x), net(x2)
    assert torch.allclose(y[:, :300], y2[:, :300], atol=1e-5)
    assert not torch.allclose(y[:, 500:], y2[:, 500:])


@pytest.mark.parametrize("input_filter", ["poly3", "highpass", "band"])
def test_input_filter_removes_slow_light_drift_and_keeps_the_pulse(input_filter):
    """With an input filter the colour traces lose slow light drift before the first conv: a 10 % light ramp plus a
    0.05-Hz swing no longer sets the per-ROI scale, a 45-bpm pulse keeps its RGB ratio, and the model file's config
    rebuilds the same network."""
    from pseudopulse.model.net import build_net

    t = torch.arange(300) / 30.0
    pulse = torch.sin(2 * torch.pi * 0.75 * t)
    sig = torch.tensor([0.33, 0.77, 0.53])
    light = 1 + 0.1 * (t / 10 - 0.5) + 0.05 * torch.sin(2 * torch.pi * 0.05 * t)  # colour-neutral drift
    x = normalize_clip((150.0 * light * (1 + 0.008 * sig[:, None, None] * pulse))[None].repeat(1, 1, 4, 1))
    net = STMapNet(input_filter=input_filter).eval()
    z = net._filter_input(x)
    assert torch.allclose(z.pow(2).mean(dim=(1, 3)), torch.ones(1, 4), atol=1e-3)  # unit scale per ROI again
    mid = slice(60, 240)  # away from the window's edges (where the band-limit rings)
    corr = torch.corrcoef(torch.stack([z[0, 1, 0, mid], pulse[mid]]))[0, 1]
    assert corr > 0.95 and torch.corrcoef(torch.stack([x[0, 1, 0, mid], pulse[mid]]))[0, 1] < 0.5
    steady = normalize_clip((150.0 * (1 + 0.008 * sig[:, None, None] * pulse))[None].repeat(1, 1, 4, 1))
    amp = net._filter_input(steady)[0, :, 0, mid].std(-1)  # the filter is the same for every channel
    assert torch.allclose(amp / amp[1], sig / sig[1], atol=0.01)
    rebuilt = build_net(net.config())
    assert rebuilt.input_filter == input_filter and build_net(STMapNet().config()).input_filter == "none"
    rebuilt.load_state_dict(net.state_dict())
    with torch.no_grad():
        assert torch.allclose(rebuilt.eval()(x), net(x))
    with pytest.raises(ValueError, match="input_filter"):
        STMapNet(input_filter="median")


def test_normalize_clip_keeps_the_rgb_pulse_ratio_and_unit_roi_scale():
    t = torch.arange(300) / 30.0
    pulse = torch.sin(2 * torch.pi * 1.2 * t)
    sig = torch.tensor([0.33, 0.77, 0.53])  # relative AC/DC of R, G, B
    base = torch.tensor([180.0, 120.0, 100.0])[None, :, None, None] * (1 + torch.arange(4.0)[None, None, :, None])
    x = base * (1 + 0.01 * sig[None, :, None, None] * pulse) + 0.0 * t
    z = normalize_clip(x)
    assert torch.isfinite(z).all()
    assert torch.allclose(z.mean(-1), torch.zeros(1, 3, 4), atol=1e-5)
    assert torch.allclose(z.pow(2).mean(dim=(1, 3)), torch.ones(1, 4), atol=2e-3)  # unit scale per ROI
    amp = z[0, :, 2].std(-1)
    assert torch.allclose(amp / amp[1], sig / sig[1], atol=1e-3)  # channel ratio preserved in every ROI
    x[0, 1, 2, 10] = float("nan")
    assert torch.isfinite(normalize_clip(x)).all()
    t = stmap_to_tensor(np.zeros((100, 25, 3), np.float32))
    assert t.shape == (1, 3, 25, 100)


def test_load_predictor_without_weights_explains_how_to_train(tmp_path, monkeypatch):
    monkeypatch.setattr(predictor_mod, "SHIPPED_WEIGHTS", tmp_path / "absent.pt")
    with pytest.raises(ModelError, match="pseudopulse train"):
        load_predictor()
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a model")
    with pytest.raises(ModelError, match="bad.pt"):
        load_predictor(bad)
    torch.save({"format": "other"}, tmp_path / "other.pt")
    with pytest.raises(ModelError, match="not a pseudopulse-stmap-v1"):
        load_predictor(tmp_path / "other.pt")


def test_predictor_round_trip_matches_the_network(tmp_path):
    torch.manual_seed(1)
    net = STMapNet().eval()
    export_model(tmp_path / "m.pt", net, fs=30.0, clip_s=10.0, info={"note": "test"})
    pred = load_predictor(tmp_path / "m.pt")
    assert pred.info == {"note": "test"} and pred.window == 300
    st, _ = toy_stmap(75.0, duration_s=10.0, seed=2)
    wave = pred.apply(st)
    assert wave.shape == (st.n_frames,)
    with torch.no_grad():
        y = net(normalize_clip(stmap_to_tensor(st.values)))[0].double().numpy()
    y = (y - y.mean()) / y.std()
    assert np.corrcoef(wave, y)[0, 1] > 0.99999  # one window: the prediction is the z-scored network output
    assert np.allclose(wave, y, rtol=1e-2, atol=1e-2)
    long_st, _ = toy_stmap(75.0, duration_s=33.0, seed=3)
    assert pred.apply(long_st).shape == (long_st.n_frames,)
    with pytest.raises(SignalError, match="too short"):
        pred.apply(toy_stmap(75.0, duration_s=1.0)[0])


def test_predictor_follows_the_stmap_timestamps_at_another_rate(tmp_path):
    torch.manual_seed(2)
    export_model(tmp_path / "m.pt", STMapNet(), fs=30.0, clip_s=10.0)
    st, _ = toy_stmap(70.0, duration_s=15.0, fs=25.0, seed=4)
    wave = load_predictor(tmp_path / "m.pt").apply(st)
    assert wave.shape == (st.n_frames,) and np.isfinite(wave).all()


def test_shipped_weights_read_a_known_pulse():
    """The packaged model (trained label-free on real + semi-synthetic faces) recovers toy pulses within 1 bpm."""
    from pseudopulse.signal import estimate_hr

    if not predictor_mod.SHIPPED_WEIGHTS.is_file():
        pytest.skip("no shipped weights in this checkout")
    pred = load_predictor()
    assert pred.fs == 30.0 and pred.info.get("ablation")
    for hr in (55.0, 72.0, 110.0, 130.0):
        st, _ = toy_stmap(hr, duration_s=20.0, seed=int(hr), noise=1.0)
        assert estimate_hr(pred.apply(st), 30.0).hr_bpm == pytest.approx(hr, abs=1.0)


def test_ensemble_reads_the_mean_of_its_members_z_scored_waves_and_round_trips(tmp_path):
    from pseudopulse.model.ensemble import EnsembleNet
    from pseudopulse.model.normalize import zscore
    from pseudopulse.model.file import export_ensemble, load_model_file

    paths = []
    for k, channels in enumerate(((16, 32, 64, 128), (16, 32, 64, 128), (8, 16, 32, 64))):
        torch.manual_seed(10 + k)
        export_model(tmp_path / f"m{k}.pt", STMapNet(channels).eval(), fs=30.0, clip_s=10.0, info={"seed": k})
        paths.append(tmp_path / f"m{k}.pt")
    assert export_ensemble(tmp_path / "pair.pt", paths[:2]) == 2
    assert export_ensemble(tmp_path / "ens.pt", [tmp_path / "pair.pt", paths[2]]) == 3  # a nested ensemble is flattened
    ens, payload = load_model_file(tmp_path / "ens.pt")
    assert isinstance(ens, EnsembleNet) and [i["seed"] for i in payload["info"]["members"]] == [0, 1, 2]
    x = normalize_clip(stmap_to_tensor(toy_stmap(80.0, duration_s=10.0, seed=5)[0].values))
    with torch.no_grad():
        singles = [load_model_file(p)[0](x) for p in paths]
        expected = torch.stack([zscore(y) for y in singles]).mean(0)
        assert torch.allclose(ens(x), expected, atol=1e-5)
    pred = load_predictor(tmp_path / "ens.pt")
    st, _ = toy_stmap(80.0, duration_s=10.0, seed=5)
    assert np.corrcoef(pred.apply(st), expected[0].double().numpy())[0, 1] > 0.9999
    export_model(tmp_path / "fast.pt", STMapNet(fs=25.0), fs=25.0, clip_s=10.0)
    with pytest.raises(ModelError, match="differ"):
        export_ensemble(tmp_path / "bad.pt", [paths[0], tmp_path / "fast.pt"])
    with pytest.raises(ModelError, match="at least 2"):
        export_ensemble(tmp_path / "bad.pt", [paths[0]])
    assert not (tmp_path / "bad.pt").exists()
