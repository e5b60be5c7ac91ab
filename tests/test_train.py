"""Trainer: co-rectification, label-free data guard, caching, checkpoints and bit-exact resume."""

import numpy as np
import pytest
import torch

from pseudopulse.errors import DatasetError, ModelError
from pseudopulse.train.config import ABLATIONS, TrainConfig
from pseudopulse.train.corect import rectify, select_rectified
from pseudopulse.train.data import ClipDataset, TrainSource, prepare_recordings
from pseudopulse.train.toy import toy_stmap
from pseudopulse.train.trainer import train

FS = 30.0


class GTRead(Exception):
    pass


def _forbidden_gt():
    raise GTRead("ground truth was read")


def _sources(n=2, duration_s=30.0, gt=None):
    out = []
    for i in range(n):
        hr = 60.0 + 25 * i

        def load(hr=hr, i=i):
            return toy_stmap(hr, duration_s=duration_s, seed=i, noise=1.0)[0]

        def load_gt(hr=hr, i=i):
            st, p = toy_stmap(hr, duration_s=duration_s, seed=i, noise=1.0)
            return st.timestamps_s, p

        out.append(TrainSource(name=f"toy{i}", key=f"toy{i}-{duration_s}", load_stmap=load,
                               load_gt=gt if gt is not None else load_gt))  # fmt: skip
    return out


# ---------------------------------------------------------------------------------------------- co-rectification
def test_corect_replaces_exactly_lambda_largest_deviation_instances():
    b, t = 16, 50
    pseudo = torch.randn(b, t)
    peer = torch.randn(b, t)
    eps = torch.tensor([3.0, 40.0, 0.0, 12.0, 7.5, 90.0, 1.0, 33.0, 2.0, 5.0, 60.0, 0.5, 8.0, 4.0, 6.0, 9.0])
    for lam in (0, 1, 4, 8):
        targets, idx = rectify(pseudo, peer, eps, lam)
        expected = sorted(np.argsort(-eps.numpy(), kind="stable")[:lam].tolist())
        assert idx.tolist() == expected
        replaced = [i for i in range(b) if torch.equal(targets[i], peer[i])]
        kept = [i for i in range(b) if torch.equal(targets[i], pseudo[i])]
        assert replaced == expected and len(kept) == b - lam
    assert set(rectify(pseudo, peer, eps, 4)[1].tolist()) == {5, 10, 1, 7}


def test_corect_ties_and_oversized_lambda():
    eps = torch.tensor([5.0, 5.0, 1.0, 5.0])
    assert select_rectified(eps, 2).tolist() == [0, 1]
    assert select_rectified(eps, 10).tolist() == [0, 1, 2, 3]


def test_lambda_and_weight_schedules():
    cfg = TrainConfig.for_ablation("full", epochs=80)
    assert [cfg.n_rectified(e) for e in (0, 9, 10, 40, 79)] == [0, 0, 1, 4, 7]
    assert cfg.pseudo_weight(0) == 1.0 and cfg.pseudo_weight(40) == pytest.approx(0.5)
    const = TrainConfig.for_ablation("corect", epochs=80)
    assert const.pseudo_weight(79) == 1.0 and const.n_rectified(79) == 7
    assert TrainConfig.for_ablation("ranking").n_rectified(79) == 0


def test_cosine_learning_rate_and_recipe_validation():
    cos = TrainConfig.for_ablation("ranking", epochs=40, lr=1e-3, lr_schedule="cosine")
    lrs = [cos.lr_at(e) for e in range(40)]
    assert lrs[0] == pytest.approx(1e-3) and lrs[20] == pytest.approx(5e-4) and lrs[-1] < 1e-5
    assert all(a > b for a, b in zip(lrs, lrs[1:]))
    assert TrainConfig.for_ablation("ranking", lr=1e-3).lr_at(39) == 1e-3
    assert cos.recipe()["lr_schedule"] == "cosine"
    for bad in (dict(lr_schedule="step"), dict(pseudo_filter="wide"), dict(flicker_prob=1.5), dict(consensus_tol_bpm=0),
                dict(harmonic_guard=-1.0), dict(harmonic_guard=1.0, harmonic_guard_margin=0.5)):
        with pytest.raises(ValueError):
            TrainConfig.for_ablation("ranking", **bad)


def test_flat_pseudo_filter_keeps_a_low_fundamental_the_readout_filter_loses():
    from pseudopulse.signal import heart_rate
    from pseudopulse.train.data import pseudo_label

    # 45 bpm with a strong second harmonic (power 0.36 of the fundamental), as a sharp PPG upstroke gives
    st, _ = toy_stmap(45.0, duration_s=30.0, harmonic=0.6, noise=0.1, drift=0.0)
    assert heart_rate(pseudo_label(st, "green", "flat"), FS) == pytest.approx(45.0, abs=1.5)
    # the read-out filter (detrend λ=100 + 0.7–3.5 Hz) keeps ~28 % of a 0.75-Hz fundamental: the harmonic wins
    assert heart_rate(pseudo_label(st, "green", "readout"), FS) == pytest.approx(90.0, abs=1.5)


def test_track_masked_label_gives_a_locked_span_the_rate_the_recording_supports():
    """60 s of a 110-bpm pulse; during 20-30 s a stronger 55-bpm component (a low-rate lock, as in UBFC subject 15)
    wins that span's own spectrum. The track-masked label reads 110 bpm there, keeps the pulse's timing elsewhere, and
    follows a rate that really changes."""
    from pseudopulse.signal import heart_rate
    from pseudopulse.train.data import track_masked

    t = np.arange(int(60 * FS)) / FS
    rng = np.random.default_rng(0)
    pulse = np.sin(2 * np.pi * 110 / 60 * t)
    lock = 3.0 * np.sin(2 * np.pi * 55 / 60 * t) * ((t >= 20) & (t < 30))
    wave = pulse + lock + 0.3 * rng.standard_normal(len(t))
    span = slice(int(20 * FS), int(30 * FS))
    assert heart_rate(wave[span], FS) == pytest.approx(55.0, abs=2.0)  # the span alone reads the lock
    label = track_masked(wave, FS)
    assert label.shape == wave.shape and np.isfinite(label).all()
    assert heart_rate(label[span], FS) == pytest.approx(110.0, abs=2.0)
    clean = slice(int(35 * FS), int(55 * FS))
    assert np.corrcoef(label[clean], pulse[clean])[0, 1] > 0.9  # the beat timing is the wave's own
    # a rate that ramps 70 -> 100 bpm over the minute is followed, not flattened
    ramp = np.sin(2 * np.pi * np.cumsum(np.linspace(70, 100, len(t)) / 60) / FS) + 0.3 * rng.standard_normal(len(t))
    ramp_label = track_masked(ramp, FS)
    assert heart_rate(ramp_label[: int(10 * FS)], FS) == pytest.approx(72.5, abs=3.0)
    assert heart_rate(ramp_label[-int(10 * FS) :], FS) == pytest.approx(97.5, abs=3.0)
    # shorter than one track window: one rate for all of it
    assert heart_rate(track_masked(wave[: int(6 * FS)], FS), FS) == pytest.approx(110.0, abs=3.0)


def test_pos_track_pseudo_filter_is_a_recipe_value():
    assert TrainConfig(pseudo_filter="pos-track").pseudo_filter == "pos-track"
    st, _ = toy_stmap(80.0, duration_s=20.0, noise=0.1)
    from pseudopulse.signal import heart_rate
    from pseudopulse.train.data import pseudo_label

    assert heart_rate(pseudo_label(st, "2sr", "pos-track"), FS) == pytest.approx(80.0, abs=1.5)


def test_ablation_rows_switch_the_terms():
    rows = {k: TrainConfig.for_ablation(k) for k in ABLATIONS}
    assert not rows["plain-ssl"].use_pseudo and rows["plain-ssl"].use_ssl
    assert rows["pseudo"].pseudo_schedule == "const" and not rows["pseudo"].use_rank
    assert rows["gradual"].pseudo_schedule == "gradual"
    assert rows["ranking"].use_rank and not rows["ranking"].use_corect
    assert rows["full"].use_corect and rows["full"].n_nets == 2
    assert rows["supervised"].supervised and not rows["pseudo-only"].use_ssl
    with pytest.raises(ValueError, match="valid"):
        TrainConfig.for_ablation("nope")


# ---------------------------------------------------------------------------------------------- data
def test_label_free_pipeline_never_reads_ground_truth(tmp_path):
    srcs = _sources(gt=_forbidden_gt)
    recs, skipped = prepare_recordings(srcs, fs=FS, supervised=False)
    assert not skipped and all(r.gt is None for r in recs)
    ds = ClipDataset(recs, clip_frames=300, shift_max=150, speed_max=1 / 0.6)
    assert "gt" not in ds.batch([0, 1])
    cfg = TrainConfig.for_ablation("full", epochs=1, batch_size=4, seed=0)
    train(cfg, recs, run_dir=tmp_path / "run")  # runs without ever touching GT
    with pytest.raises(GTRead):
        prepare_recordings(srcs, fs=FS, supervised=True)


def test_supervised_needs_gt_and_label_free_refuses_it(tmp_path):
    recs, _ = prepare_recordings(_sources(), fs=FS, supervised=True)
    assert all(r.gt is not None and len(r.gt) == r.n_frames for r in recs)
    ds = ClipDataset(recs, clip_frames=300, shift_max=150, speed_max=1 / 0.6)
    assert ds.batch([0])["gt"].shape == (1, 300)
    with pytest.raises(ValueError, match="ground truth"):
        train(TrainConfig.for_ablation("full", epochs=1), recs, run_dir=tmp_path / "r")
    no_gt = [TrainSource(name="x", key="x", load_stmap=lambda: toy_stmap(70, duration_s=12)[0])]
    with pytest.raises(DatasetError, match="ground truth"):
        prepare_recordings(no_gt, fs=FS, supervised=True)


def test_pseudo_labels_cached_and_clip_windows_line_up(tmp_path):
    calls = []

    def load():
        calls.append(1)
        return toy_stmap(80.0, duration_s=25, seed=3)[0]

    src = [TrainSource(name="a", key="a-key", load_stmap=load)]
    r1, _ = prepare_recordings(src, fs=FS, cache_dir=tmp_path)
    r2, _ = prepare_recordings(src, fs=FS, cache_dir=tmp_path)
    assert len(calls) == 1  # the second run read the cache, not the video
    assert np.array_equal(r1[0].values, r2[0].values) and np.array_equal(r1[0].pseudo, r2[0].pseudo)
    from pseudopulse.signal import estimate_hr

    assert estimate_hr(r1[0].pseudo, FS).hr_bpm == pytest.approx(80.0, abs=1.0)  # 2SR pseudo label
    ds = ClipDataset(r1, clip_frames=300, shift_max=150, speed_max=1 / 0.6)
    assert len(ds) == 2 and ds.w == 650
    b = ds.batch([1])
    assert np.array_equal(b["raw"][0, ds.a : ds.a + 300], r1[0].values[300:600])
    assert np.array_equal(b["pseudo"][0], r1[0].pseudo[300:600])
    assert b["ids"] == ["a@300"]


def test_unusable_recordings_are_skipped_with_a_reason():
    def broken():
        st = toy_stmap(70.0, duration_s=20)[0]
        import dataclasses

        valid = st.valid.copy()
        valid[100:400] = False  # 10 s without a face
        return dataclasses.replace(st, valid=valid)

    recs, skipped = prepare_recordings(_sources(1) + [TrainSource("lost", "lost", broken)], fs=FS)
    assert [r.name for r in recs] == ["toy0"] and skipped[0].startswith("lost:") and "face lost" in skipped[0]


# ---------------------------------------------------------------------------------------------- checkpoints
def _weights(net):
    return {k: v.clone() for k, v in net.state_dict().items()}


def test_resume_is_bit_exact(tmp_path):
    recs, _ = prepare_recordings(_sources(2), fs=FS)
    cfg = TrainConfig.for_ablation("full", epochs=2, batch_size=4, lr=1e-3, seed=7)
    straight = train(cfg, recs, run_dir=tmp_path / "a")
    part = train(cfg, recs, run_dir=tmp_path / "b", stop_after=1)
    assert len(part.history) == 1
    resumed = train(cfg, recs, run_dir=tmp_path / "b", resume=True)
    for n1, n2 in zip(straight.nets, resumed.nets):
        w1, w2 = _weights(n1), _weights(n2)
        assert all(torch.equal(w1[k], w2[k]) for k in w1)
    assert straight.history[1]["loss"] == resumed.history[1]["loss"]
    assert straight.history[1]["lambda"] == 4  # floor(1/2 · 8): co-rectification ran in epoch 1
    assert straight.history[1]["rectified"] > 0
    rect = (tmp_path / "a" / "rectified.csv").read_text().splitlines()
    assert rect[0] == "epoch,step,clip,eps_bpm" and len(rect) - 1 == straight.history[1]["rectified"]
    log = (tmp_path / "a" / "log.csv").read_text().splitlines()
    assert log[0].startswith("epoch,net,loss") and len(log) == 3
    assert (tmp_path / "a" / "model.pt").is_file() and not any(p.name.startswith(".") for p in (tmp_path / "a").iterdir())


def test_resume_refuses_missing_or_foreign_checkpoint(tmp_path):
    recs, _ = prepare_recordings(_sources(1, duration_s=12), fs=FS)
    cfg = TrainConfig.for_ablation("plain-ssl", epochs=1, batch_size=2)
    with pytest.raises(ModelError, match="no checkpoint"):
        train(cfg, recs, run_dir=tmp_path / "none", resume=True)
    train(cfg, recs, run_dir=tmp_path / "r")
    with pytest.raises(ValueError, match="different config"):
        train(TrainConfig.for_ablation("full", epochs=1, batch_size=2), recs, run_dir=tmp_path / "r", resume=True)


@pytest.mark.slow
def test_label_free_training_learns_the_pulse_on_toy_maps(tmp_path):
    """Full objective, no GT: after 16 epochs the exported model reads held-out toy pulses within 3 bpm."""
    from pseudopulse.model import load_predictor
    from pseudopulse.signal import estimate_hr

    rng = np.random.default_rng(0)
    srcs = []
    for i in range(12):
        hr = float(rng.uniform(50, 140))
        srcs.append(TrainSource(f"t{i}", f"learn{i}", lambda hr=hr, i=i: toy_stmap(hr, duration_s=60, seed=i, noise=2.0)[0],
                                load_gt=_forbidden_gt))  # fmt: skip
    recs, _ = prepare_recordings(srcs, fs=FS)
    res = train(TrainConfig.for_ablation("full", epochs=16, lr=1e-3), recs, run_dir=tmp_path)
    pred = load_predictor(res.model_path)
    errs = []
    for j, hr in enumerate((58.0, 77.0, 95.0, 123.0)):
        st, _ = toy_stmap(hr, duration_s=30, seed=100 + j, noise=2.0)
        errs.append(abs(estimate_hr(pred.apply(st), FS).hr_bpm - hr))
    assert max(errs) < 3.0, errs


def test_synth_sources_render_each_size_to_its_own_file(tmp_path):
    import av

    from pseudopulse.train.data import synth_sources

    sizes = {}
    for w, h in ((320, 240), (256, 192)):
        (src,) = synth_sources(1, seed=0, cache_dir=tmp_path, duration_s=2.0, width=w, height=h)
        st = src.load_stmap()
        assert 1.5 < st.timestamps_s[-1] - st.timestamps_s[0] < 2.5
    for f in sorted((tmp_path / "synth").glob("*.mp4")):
        with av.open(str(f)) as c:
            s = c.streams.video[0]
            sizes[f.name] = (s.codec_context.width, s.codec_context.height)
    assert sorted(sizes.values()) == [(256, 192), (320, 240)], sizes


def test_consensus_mask_drops_clips_whose_pseudo_label_the_rgb_methods_contradict():
    from dataclasses import replace

    from pseudopulse.train.data import consensus_mask

    recs, _ = prepare_recordings(_sources(n=1, duration_s=30.0), fs=FS)  # 60 bpm, 2SR label agrees
    rec = recs[0]
    t = 300
    assert consensus_mask(rec, [0, 300, 600], t, ("pos", "chrom"), 6.0).tolist() == [True, True, True]
    assert consensus_mask(rec, [0, 300], t, (), 6.0).tolist() == [True, True]  # no methods: every label counts
    wrong = rec.pseudo.copy()  # the middle clip's label at 96 bpm: POS and CHROM still read 60
    wrong[300:600] = np.sin(2 * np.pi * 1.6 * np.arange(300) / FS)
    assert consensus_mask(replace(rec, pseudo=wrong), [0, 300, 600], t, ("pos", "chrom"), 6.0).tolist() == [True, False, True]
    lost = rec.values.copy()  # face lost in the last clip: no method can confirm its label
    lost[700:720] = np.nan
    assert consensus_mask(replace(rec, values=lost), [0, 300, 600], t, ("pos",), 6.0).tolist() == [True, True, False]
    ds = ClipDataset([replace(rec, pseudo=wrong)], clip_frames=t, shift_max=150, speed_max=1 / 0.6, consensus=("pos",))
    assert ds.batch([2, 1, 0])["pseudo_mask"].tolist() == [1.0, 0.0, 1.0]
    with pytest.raises(ValueError, match="rgb methods only"):
        TrainConfig.for_ablation("ranking", pseudo_consensus=("2sr",))


def test_masked_pseudo_labels_do_not_pull_the_network():
    """L_pseudo is the mean over the confident rows only: a doubted row's label, however wrong, changes nothing."""
    from pseudopulse.train.trainer import init_nets, train_step

    recs, _ = prepare_recordings(_sources(n=2, duration_s=20.0), fs=FS)
    ds = ClipDataset(recs, clip_frames=300, shift_max=0, speed_max=1.0)
    cfg = TrainConfig.for_ablation("pseudo-only", epochs=2, batch_size=4, shift_max_frac=0.0, down_ratios=(0.9,),
                                   pseudo_consensus=("pos",))  # fmt: skip
    net = init_nets(cfg)[0].eval()
    batch = ds.batch([0, 1, 2, 3])
    batch["pseudo_mask"] = np.array([1, 0, 1, 0], np.float32)
    loss, stats = train_step(cfg, net, None, batch, a=ds.a, epoch=0, rng=np.random.default_rng(0))
    scrambled = dict(batch, pseudo=batch["pseudo"].copy())
    scrambled["pseudo"][[1, 3]] = np.random.default_rng(1).normal(size=(2, 300))
    loss2, _ = train_step(cfg, net, None, scrambled, a=ds.a, epoch=0, rng=np.random.default_rng(0))
    assert float(loss2.detach()) == pytest.approx(float(loss.detach()), rel=1e-6)
    only = dict(batch, pseudo_mask=np.ones(4, np.float32))
    loss_all, _ = train_step(cfg, net, None, only, a=ds.a, epoch=0, rng=np.random.default_rng(0))
    assert float(loss_all.detach()) != pytest.approx(float(loss.detach()), rel=1e-3)


def test_harmonic_guard_acts_only_on_clips_with_slow_pseudo_labels():
    """L_harm counts a clip only when its pseudo label is below harmonic_guard_below_bpm (and its label is trusted)."""
    from pseudopulse.train.trainer import init_nets, train_step

    with pytest.raises(ValueError, match="harmonic_guard needs pseudo labels"):
        TrainConfig.for_ablation("plain-ssl", harmonic_guard=1.0)
    recs, _ = prepare_recordings(_sources(n=2, duration_s=20.0), fs=FS)  # toy pulses at 60 and 85 bpm
    ds = ClipDataset(recs, clip_frames=300, shift_max=0, speed_max=1.0)
    batch = ds.batch([0, 0])  # one clip twice: each row's output is the same, only the labels differ
    t = np.arange(300) / FS
    # a wave with a strong second harmonic as a label the network cannot match: 50 bpm (guarded) or 100 bpm (not)
    slow = np.sin(2 * np.pi * 50 / 60 * t) + 0.4 * np.sin(2 * np.pi * 100 / 60 * t)
    fast = np.sin(2 * np.pi * 100 / 60 * t)

    def l_harm(labels, below=65.0, mask=(1, 1)):
        cfg = TrainConfig.for_ablation("pseudo-only", batch_size=2, harmonic_guard=1.0, harmonic_guard_below_bpm=below,
                                       pseudo_consensus=("pos",) if mask != (1, 1) else ())  # fmt: skip
        torch.manual_seed(3)
        net = init_nets(cfg)[0].eval()
        b = dict(batch, pseudo=np.stack(labels).astype(np.float32), pseudo_mask=np.asarray(mask, np.float32))
        return train_step(cfg, net, None, b, a=ds.a, epoch=0, rng=np.random.default_rng(0))[1]["l_harm"]

    assert l_harm([fast, fast]) == 0.0  # no slow label: nothing guarded
    both = l_harm([slow, slow])
    assert both > 0.0  # an untrained network's output does not hold a 50-bpm fundamental at 2× its harmonics
    assert l_harm([slow, slow], below=45.0) == 0.0
    assert l_harm([slow, fast]) == pytest.approx(both / 2)  # the mean over the batch, the fast row adding 0
    assert l_harm([slow, slow], mask=(0, 0)) == 0.0  # labels the consensus doubts are not guarded either
