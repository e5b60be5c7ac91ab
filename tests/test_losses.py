"""Each loss term of the label-free objective behaves as defined, on constructed inputs."""

import math

import numpy as np
import pytest
import torch

from pseudopulse.train.augment import crop, flicker, resampled_view, shifted_view, source_frames, window_layout
from pseudopulse.train.losses import (
    argmax_hr,
    gumbel_hr,
    harmonic_guard,
    norm_psd,
    overlap,
    psd_distance,
    pseudo_loss,
    rank_loss,
    views_in_band,
)

FS = 30.0
T = 300
NFFT = 4 * T


def sine_map(hr_bpm, n=800, b=2, r=4):
    """Raw STMap window (b, 3, r, n) carrying a sinusoid at hr_bpm in every ROI/channel, on a colour offset."""
    t = torch.arange(n, dtype=torch.float64) / FS
    s = 150 + 2 * torch.sin(2 * math.pi * hr_bpm / 60 * t)
    return s.float()[None, None, None, :].repeat(b, 3, r, 1)


def wave(hr_bpm, n=T, phase=0.0):
    t = torch.arange(n, dtype=torch.float64) / FS
    return torch.sin(2 * math.pi * hr_bpm / 60 * t + phase).float()[None]


def test_norm_psd_sums_to_one_and_peaks_at_the_rate():
    p, f = norm_psd(wave(72.0), fs=FS, nfft=NFFT)
    assert torch.allclose(p.sum(-1), torch.ones(1), atol=1e-5)
    assert f.min() >= 40 and f.max() <= 250
    assert float(argmax_hr(p, f)) == pytest.approx(72.0, abs=1.5)  # 1.5-bpm bins


def test_rank_loss_zero_inside_order_positive_outside():
    h = torch.tensor([80.0, 80.0, 80.0, 80.0])
    h_up = torch.tensor([60.0, 80.0, 90.0, 60.0])
    h_down = torch.tensor([100.0, 80.0, 100.0, 70.0])
    loss = rank_loss(h, h_up, h_down)
    assert loss[0] == 0 and loss[1] == 0  # h_up <= h <= h_down (equality included)
    assert loss[2] == pytest.approx(10.0)  # h_up above h by 10
    assert loss[3] == pytest.approx(10.0)  # h above h_down by 10
    assert float(rank_loss(torch.tensor([80.0]), torch.tensor([95.0]), torch.tensor([70.0]))) == pytest.approx(25.0)


def test_squeezing_125_t_source_frames_moves_peak_by_125():
    raw = sine_map(72.0)
    a = 100
    anchor = crop(raw, a, T)
    down, speed = resampled_view(raw, a, T, 1.25)
    assert source_frames(T, 1.25) == 375 and speed == pytest.approx(1.25)
    assert down.shape == anchor.shape
    p0, f = norm_psd(anchor[:, 0, 0], fs=FS, nfft=NFFT)
    p1, _ = norm_psd(down[:, 0, 0], fs=FS, nfft=NFFT)
    h0, h1 = argmax_hr(p0, f), argmax_hr(p1, f)
    assert torch.allclose(h0, torch.tensor(72.0), atol=1.5)
    assert torch.allclose(h1 / h0, torch.tensor(1.25), atol=0.03)


def test_up_sampling_lowers_the_peak_by_the_ratio():
    raw = sine_map(90.0)
    up, speed = resampled_view(raw, 100, T, 1 / 1.2)  # x_up: t/1.2 source frames stretched to t
    assert speed == pytest.approx(250 / 300)
    p, f = norm_psd(up[:, 1, 2], fs=FS, nfft=NFFT)
    assert float(argmax_hr(p, f)[0]) == pytest.approx(75.0, abs=1.5)


def test_window_layout_covers_shift_and_fastest_resampling():
    a, w = window_layout(T, shift_max=150, speed_max=1 / 0.6)
    assert a == 150 and w == 150 + 500
    raw = sine_map(60.0, n=w)
    shifted_view(raw, a, T, -150)
    shifted_view(raw, a, T, 150)
    resampled_view(raw, a, T, 1 / 0.6)
    with pytest.raises(ValueError):
        shifted_view(raw, a, T, 151 + 200)


def test_positive_pair_overlap_aligns_same_instants():
    sig = torch.randn(1, 900)
    a = 200
    for f in (37, -50, 0):
        y_a = sig[:, a : a + T]
        y_s = sig[:, a + f : a + f + T]
        p, q = overlap(y_a, y_s, f)
        assert p.shape[-1] == T - abs(f)
        assert torch.equal(p, q)


def test_positive_distance_small_negative_distance_large():
    raw = sine_map(80.0, b=1)
    a = 150
    anchor = crop(raw, a, T)[:, 0, 0]
    pos = shifted_view(raw, a, T, 60)[:, 0, 0]
    rev = shifted_view(raw, a, T, -40, reverse=True)[:, 0, 0]
    down = resampled_view(raw, a, T, 1 / 0.7)[0][:, 0, 0]
    pa, _ = norm_psd(anchor, fs=FS, nfft=NFFT)
    d_pos = psd_distance(pa, norm_psd(pos, fs=FS, nfft=NFFT)[0])
    d_rev = psd_distance(pa, norm_psd(rev, fs=FS, nfft=NFFT)[0])
    d_neg = psd_distance(pa, norm_psd(down, fs=FS, nfft=NFFT)[0])
    k = pa.shape[-1]
    assert float(d_pos) < 0.01 / k and float(d_rev) < 0.01 / k  # same rate: PSDs nearly identical
    assert float(d_neg) > 0.2 / k and float(d_neg) > 1000 * max(float(d_pos), float(d_rev))  # peak moved ×1/0.7
    assert float(d_neg) <= 2.0 / pa.shape[-1] + 1e-9  # bounded: MSE of two distributions over K bins


def test_pseudo_loss_is_scale_and_offset_invariant_but_sign_sensitive():
    y = wave(70.0)
    assert float(pseudo_loss(3 * y + 5, y)) == pytest.approx(0.0, abs=1e-6)
    assert float(pseudo_loss(-y, y)) == pytest.approx(4.0, rel=1e-3)
    other = wave(70.0, phase=math.pi / 2)
    assert 1.5 < float(pseudo_loss(other, y)) < 2.5  # quadrature: uncorrelated -> MSE ~ 2


def test_gumbel_hr_is_the_argmax_and_passes_gradient():
    torch.manual_seed(0)
    clean = torch.cat([wave(hr) for hr in (54.0, 72.0, 130.5)])  # rates on the 1.5-bpm bin grid
    noisy = torch.cat([wave(hr) + 0.3 * torch.randn(1, T) for hr in (55.0, 72.0, 130.0)])
    pc, f = norm_psd(clean, fs=FS, nfft=NFFT)
    pn, _ = norm_psd(noisy, fs=FS, nfft=NFFT)
    assert torch.equal(argmax_hr(pc, f), torch.tensor([54.0, 72.0, 130.5]))
    for _ in range(20):  # Gumbel draws: exactly the argmax for a clear peak, at worst the adjacent bin when
        assert torch.equal(gumbel_hr(pc, f), argmax_hr(pc, f))  # a neighbour holds ~95 % of the peak power
        assert torch.all((gumbel_hr(pn, f) - argmax_hr(pn, f)).abs() <= 1.5 + 1e-4)
    src = pc.clone().requires_grad_(True)
    h = gumbel_hr(src, f)
    h.sum().backward()
    assert src.grad is not None and torch.isfinite(src.grad).all() and src.grad.abs().sum() > 0


def test_rank_terms_switch_off_where_a_view_leaves_the_band():
    h = torch.tensor([45.0, 90.0, 200.0])
    up_on, down_on = views_in_band(h, speed_up=1 / 1.3, speed_down=1 / 0.6, band_bpm=(40.0, 250.0), margin_bpm=3.0)
    assert up_on.tolist() == [False, True, True]  # 45/1.3 = 34.6 bpm is below the band
    assert down_on.tolist() == [True, True, False]  # 200/0.6 = 333 bpm is above it
    # a 45-bpm anchor whose slowed view can only show its harmonic (70 bpm) is not pushed up when masked
    loss = rank_loss(torch.tensor([45.0]), torch.tensor([70.0]), torch.tensor([75.0]), up_on[:1], down_on[:1])
    assert float(loss) == 0.0
    assert float(rank_loss(torch.tensor([45.0]), torch.tensor([70.0]), torch.tensor([75.0]))) == pytest.approx(25.0)


def test_flicker_is_colour_neutral_at_the_drawn_rate_and_off_at_prob_zero():
    raw = torch.tensor([[100.0], [150.0], [60.0]])[None, :, :, None].repeat(4, 1, 5, 600)  # (B, 3, R, W), flat
    rng = np.random.default_rng(0)
    out = flicker(raw, FS, np.random.default_rng(0), prob=1.0, hz=(1.5, 1.5), amp=(0.02, 0.02))
    rel = out / raw - 1  # the same relative gain on every channel and block
    assert torch.allclose(rel, rel[:, :1, :1].expand_as(rel), atol=1e-6)
    assert float(rel.abs().max()) == pytest.approx(0.02, rel=0.02)
    p, f = norm_psd(rel[:, 0, 0, :T], fs=FS, nfft=NFFT)
    assert torch.all((argmax_hr(p, f) - 90.0).abs() <= 1.5)  # 1.5 Hz
    assert torch.equal(flicker(raw, FS, rng, prob=0.0, hz=(0.5, 3.0), amp=(0.01, 0.03)), raw)


def test_readout_weighted_psd_ranks_the_rate_the_readout_reports():
    from pseudopulse.signal import estimate_hr
    from pseudopulse.signal.postprocess import readout_power_response

    t = torch.arange(2 * T, dtype=torch.float64) / FS
    for hr, read in ((45.0, 90.0), (72.0, 72.0)):
        f0 = hr / 60
        y = (torch.sin(2 * math.pi * f0 * t) + 0.6 * torch.sin(2 * math.pi * 2 * f0 * t + 1.0)).float()[None]
        assert estimate_hr(y[0].numpy(), FS).hr_bpm == pytest.approx(read, abs=1.5)  # the shared read-out
        p, f = norm_psd(y, fs=FS, nfft=4 * y.shape[-1])
        assert float(argmax_hr(p, f)) == pytest.approx(hr, abs=1.5)  # the raw PSD ranks the fundamental
        gain = torch.from_numpy(readout_power_response(f.numpy(), FS)).float()
        assert float(argmax_hr(p * gain, f)) == pytest.approx(read, abs=1.5)  # weighted: what the read-out reports
    g = readout_power_response([45.0, 90.0, 150.0], FS)
    assert 0.2 < g[0] < 0.35 and g[1] > 0.9 and 0.5 < g[2] < 0.75


def test_harmonic_guard_is_zero_for_a_dominant_fundamental_and_grows_with_the_harmonic():
    t = torch.arange(T, dtype=torch.float64) / FS
    f0 = 48.0 / 60

    def pulse(h2, h3=0.0):  # amplitudes of the 2nd and 3rd harmonics (power ratio = amplitude²)
        y = torch.sin(2 * math.pi * f0 * t) + h2 * torch.sin(2 * math.pi * 2 * f0 * t + 0.4)
        return (y + h3 * torch.sin(2 * math.pi * 3 * f0 * t + 1.1)).float()

    y = torch.stack([pulse(0.3), pulse(1.0), pulse(2.0), pulse(0.3, h3=2.0)])
    p, f = norm_psd(y, fs=FS, nfft=NFFT)
    g = harmonic_guard(p, f, torch.full((4,), 48.0), margin=2.0)
    assert float(g[0]) == 0.0  # harmonic power 0.09 of the fundamental: inside the margin
    assert float(g[1]) == pytest.approx(math.log(2.0), abs=0.05)  # equal power: log(1) + log(margin)
    assert float(g[2]) == pytest.approx(math.log(4.0) + math.log(2.0), abs=0.05)
    assert float(g[3]) == pytest.approx(float(g[2]), abs=0.05)  # the third harmonic counts too
    # judged at the label's rate: the same wave is fine for a 96-bpm label (its "harmonic" 192 holds nothing)
    assert float(harmonic_guard(p[1:2], f, torch.tensor([96.0]))) == 0.0
    # sub-multiples: the same wave judged for a 96-bpm label with 0.5 among the multiples rivals it at 48 bpm
    sub = harmonic_guard(p[1:2], f, torch.tensor([96.0]), harmonics=(0.5, 2.0))
    assert float(sub) == pytest.approx(math.log(1.0 / 1.0) + math.log(2.0), abs=0.05)
    # its gradient moves power from the harmonic to the fundamental
    yv = y[2:3].clone().requires_grad_(True)
    pv, _ = norm_psd(yv, fs=FS, nfft=NFFT)
    harmonic_guard(pv, f, torch.tensor([48.0])).sum().backward()
    stepped, _ = norm_psd((yv - 0.5 * yv.grad).detach(), fs=FS, nfft=NFFT)
    assert float(harmonic_guard(stepped, f, torch.tensor([48.0]))) < float(g[2])
