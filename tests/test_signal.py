"""Signal processing: round trips on signals with known rates."""

import numpy as np
import pytest

from pseudopulse.errors import SignalError
from pseudopulse.signal import (
    bandpass,
    clean_wave,
    detect_beats,
    detrend,
    estimate_hr,
    heart_rate,
    irrelevant_power_ratio,
    psd,
    snr_db,
)


def sine(hr_bpm, fs, duration_s=10.0, phase=0.3):
    t = np.arange(int(duration_s * fs)) / fs
    return np.sin(2 * np.pi * hr_bpm / 60 * t + phase)


@pytest.mark.parametrize("fs", [25.0, 30.0, 60.0])
@pytest.mark.parametrize("hr", [54.0, 72.0, 110.0, 151.3])
def test_heart_rate_recovers_known_rate(fs, hr):
    assert heart_rate(sine(hr, fs), fs=fs, band_hz=(0.7, 3.0)) == pytest.approx(hr, abs=0.2)


def test_psd_resolution_is_finer_than_requested():
    freqs, _ = psd(sine(72, 30.0), fs=30.0, resolution_bpm=0.1)
    assert 60 * (freqs[1] - freqs[0]) <= 0.1


def test_bandpass_removes_out_of_band_power():
    fs = 30.0
    t = np.arange(600) / fs
    inband = np.sin(2 * np.pi * 1.2 * t)
    x = inband + 2 * np.sin(2 * np.pi * 0.1 * t) + np.sin(2 * np.pi * 8.0 * t)
    y = bandpass(x, fs=fs, band_hz=(0.7, 3.0))
    residual = y[60:-60] - inband[60:-60]
    assert np.std(residual) < 0.1 * np.std(x)


def test_detrend_removes_slow_drift_but_keeps_pulse():
    fs = 30.0
    t = np.arange(900) / fs
    pulse = 0.5 * np.sin(2 * np.pi * 1.1 * t)
    x = pulse + 0.2 * t + 3.0
    y = detrend(x, 100)
    assert abs(np.polyfit(t, y, 1)[0]) < 0.01
    assert np.corrcoef(y, pulse)[0, 1] > 0.99


def test_estimate_hr_same_routine_for_any_rate():
    rng = np.random.default_rng(1)
    for fs in (25.0, 30.0, 60.0):
        x = sine(80.0, fs, 12) + 0.3 * rng.standard_normal(int(12 * fs)) + np.linspace(0, 5, int(12 * fs))
        est = estimate_hr(x, fs=fs)
        assert est.hr_bpm == pytest.approx(80.0, abs=1.0)
        assert est.wave.shape == x.shape
        assert est.snr_db > 0


def test_snr_high_for_clean_pulse_low_for_noise():
    fs = 30.0
    rng = np.random.default_rng(0)
    clean = sine(75, fs, 20)
    noise = rng.standard_normal(len(clean))
    assert snr_db(clean, fs=fs, hr_bpm=75) > 10
    assert snr_db(clean_wave(noise, fs), fs=fs, hr_bpm=75) < 0


def test_irrelevant_power_ratio():
    fs = 30.0
    assert irrelevant_power_ratio(sine(72, fs), fs=fs) < 0.05
    assert irrelevant_power_ratio(sine(6 * 60, fs), fs=fs) > 0.9


def test_detect_beats_recovers_intervals():
    fs = 60.0
    rng = np.random.default_rng(3)
    ibi_s = 0.8 + 0.05 * rng.standard_normal(20)  # ~75 bpm with variability
    beat_times = np.cumsum(ibi_s)
    t = np.arange(int((beat_times[-1] + 1) * fs)) / fs
    x = sum(np.exp(-0.5 * ((t - bt) / 0.08) ** 2) for bt in beat_times)
    beats = detect_beats(x, fs=fs)
    assert len(beats.peak_times_s) == len(beat_times)
    np.testing.assert_allclose(beats.peak_times_s, beat_times, atol=0.01)
    assert beats.sdnn_ms == pytest.approx(np.std(np.diff(beat_times), ddof=1) * 1000, rel=0.1)


@pytest.mark.parametrize("fs", [0, -30, float("nan"), None])
def test_bad_sampling_rate_is_refused(fs):
    with pytest.raises(SignalError, match="fs"):
        heart_rate(sine(72, 30.0), fs=fs)


def test_band_above_nyquist_is_refused():
    with pytest.raises(SignalError, match="fs/2"):
        bandpass(sine(72, 10.0), fs=10.0, band_hz=(0.7, 6.0))


def test_non_finite_wave_is_refused():
    x = sine(72, 30.0)
    x[10] = np.nan
    with pytest.raises(SignalError, match="non-finite"):
        psd(x, fs=30.0)


def test_harmonic_check_prefers_the_fundamental():
    fs = 30.0
    t = np.arange(300) / fs
    f0 = 52 / 60
    x = 0.8 * np.sin(2 * np.pi * f0 * t) + 1.0 * np.sin(2 * np.pi * 2 * f0 * t + 0.4)  # harmonic dominates
    assert heart_rate(x, fs=fs) == pytest.approx(104, abs=0.5)  # off by default: the highest peak
    assert heart_rate(x, fs=fs, subharmonic_ratio=0.3) == pytest.approx(52, abs=0.5)
    # a genuinely fast pulse with a weak component at half its rate keeps its own rate
    y = 0.2 * np.sin(2 * np.pi * f0 * t) + 1.0 * np.sin(2 * np.pi * 2 * f0 * t + 0.4)
    assert heart_rate(y, fs=fs, subharmonic_ratio=0.3) == pytest.approx(104, abs=0.5)
    # an unrelated second peak (not at half the top) changes nothing
    z = 0.9 * np.sin(2 * np.pi * 1.5 * t) + 1.0 * np.sin(2 * np.pi * 2.0 * t)
    assert heart_rate(z, fs=fs, subharmonic_ratio=0.3) == pytest.approx(120, abs=0.5)


def test_long_wave_reads_the_welch_spectrum_so_a_drifting_rate_beats_a_steady_artefact():
    fs = 30.0
    t = np.arange(int(60 * fs)) / fs
    hr = 108 + 6 * np.sin(2 * np.pi * t / 40)  # the rate drifts over 102-114 bpm within the minute
    pulse = np.sin(2 * np.pi * np.cumsum(hr / 60) / fs)
    x = pulse + 0.55 * np.sin(2 * np.pi * 1.0 * t + 1) + 0.3 * np.random.default_rng(0).standard_normal(len(t))
    assert heart_rate(x, fs=fs, segment_s=None) == pytest.approx(60, abs=0.5)  # one periodogram: the 60-bpm tone wins
    assert 102 <= heart_rate(x, fs=fs) <= 114  # Welch average of 10-s spectra: the pulse


def test_a_ten_second_clip_is_one_periodogram():
    fs = 30.0
    x = np.random.default_rng(1).standard_normal(300)
    f1, p1 = psd(x, fs=fs)
    f2, p2 = psd(x, fs=fs, segment_s=10.0)
    np.testing.assert_allclose(p1, p2)
    assert len(f1) == len(f2)
