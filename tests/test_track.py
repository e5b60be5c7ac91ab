"""Round trips for signal.track.hr_track: known-rate waves over a grid of fs and HR; Viterbi removes an isolated
half-rate window and follows a genuine step change."""

import warnings

import numpy as np
import pytest

from pseudopulse.errors import SignalError
from pseudopulse.signal.track import hr_track


def pulse(hr_bpm, fs, seconds, rng, noise=0.3):
    t = np.arange(int(round(seconds * fs))) / fs
    f = hr_bpm / 60.0
    return np.sin(2 * np.pi * f * t) + 0.3 * np.sin(4 * np.pi * f * t + 1.0) + noise * rng.standard_normal(len(t))


@pytest.mark.parametrize("fs", [5.0, 12.5, 25.0, 30.0, 60.0, 240.0])
@pytest.mark.parametrize("hr_bpm", [45.0, 72.0, 110.0, 170.0])
def test_known_rate_round_trip(fs, hr_bpm):
    if hr_bpm / 60.0 > 0.9 * fs / 2:
        pytest.skip("rate above the usable band at this fs")
    rng = np.random.default_rng(int(fs * 10 + hr_bpm))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # fs = 5 Hz lowers the band's top edge, with a warning
        tr = hr_track(pulse(hr_bpm, fs, 25.0, rng), fs=fs, window_s=10.0, hop_s=1.0)
    assert tr.n_windows == 16
    assert np.all(np.abs(tr.hr_bpm - hr_bpm) <= 1.0)
    assert tr.spectra.shape == (16, len(tr.freqs_hz))
    np.testing.assert_allclose(tr.spectra.sum(axis=1), 1.0)
    assert np.all(tr.peak_share > 0.3)


def test_low_fs_warns_and_lowers_band():
    with pytest.warns(UserWarning, match="0.9·fs/2"):
        tr = hr_track(pulse(60.0, 5.0, 12.0, np.random.default_rng(0)), fs=5.0)
    assert tr.band_hz[1] == pytest.approx(2.25)


def test_short_wave_gives_one_window():
    tr = hr_track(pulse(80.0, 30.0, 6.0, np.random.default_rng(1), noise=0.0), fs=30.0, window_s=10.0)
    assert tr.n_windows == 1 and tr.window_s == pytest.approx(6.0)
    assert abs(tr.hr_bpm[0] - 80.0) <= 1.0


def test_bad_inputs_raise():
    with pytest.raises(SignalError, match="fs"):
        hr_track(np.zeros(100), fs=2.0)
    with pytest.raises(SignalError, match="8 finite samples"):
        hr_track(np.zeros(5), fs=30.0)


def test_viterbi_removes_isolated_half_rate_window():
    fs = 30.0
    rng = np.random.default_rng(2)
    x = pulse(90.0, fs, 40.0, rng, noise=0.2)
    t = np.arange(len(x)) / fs
    a, b = int(16 * fs), int(20 * fs)
    x[a:b] = 3.0 * np.sin(2 * np.pi * 0.75 * t[a:b])  # 4 s of a strong 45-bpm artefact
    raw = hr_track(x, fs=fs, window_s=4.0, hop_s=2.0)
    tracked = hr_track(x, fs=fs, window_s=4.0, hop_s=2.0, tracked=True)
    assert np.any(np.abs(raw.hr_bpm - 90.0) > 20)  # the artefact wins some windows' periodogram
    assert np.all(np.abs(tracked.hr_bpm - 90.0) <= 2.0)
    assert tracked.overridden.any()


def test_viterbi_follows_genuine_step_change():
    fs = 30.0
    rng = np.random.default_rng(3)
    t = np.arange(int(40 * fs)) / fs
    x = np.where(t < 20, np.sin(2 * np.pi * 1.0 * t), np.sin(2 * np.pi * 2.0 * t)) + 0.2 * rng.standard_normal(len(t))
    tr = hr_track(x, fs=fs, window_s=4.0, hop_s=1.0, tracked=True)
    assert np.all(np.abs(tr.hr_bpm[tr.t_s < 17] - 60.0) <= 2.0)
    assert np.all(np.abs(tr.hr_bpm[tr.t_s > 23] - 120.0) <= 2.0)


def test_noise_has_poor_quality_features():
    rng = np.random.default_rng(4)
    noise = hr_track(rng.standard_normal(600), fs=30.0)
    clean = hr_track(pulse(75.0, 30.0, 20.0, rng, noise=0.2), fs=30.0)
    assert noise.peak_share.mean() < clean.peak_share.mean() - 0.3
    assert noise.entropy.mean() > clean.entropy.mean()
    assert noise.autocorr.mean() < clean.autocorr.mean()
