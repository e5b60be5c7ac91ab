"""signal.confidence: calibration is monotone on a generated set, a pulse-free wave gets low confidence, and the
HRV gate refuses a noisy beat series."""

import numpy as np
import pytest

from pseudopulse.signal import estimate_hr
from pseudopulse.signal.confidence import (
    CONFIDENCE_MEANING, DEFAULT_THRESHOLD, confidence_from_features, estimator_agreement, hrv_quality,
    reading_confidence, reading_features, roi_agreement, window_confidence,
)
from pseudopulse.signal.track import hr_track

FS = 30.0


def pulse(hr_bpm, seconds, amp, rng, fs=FS):
    t = np.arange(int(seconds * fs)) / fs
    f = hr_bpm / 60.0
    return amp * (np.sin(2 * np.pi * f * t) + 0.3 * np.sin(4 * np.pi * f * t)) + rng.standard_normal(len(t))


def stmap_like(hr_bpm, seconds, amp, rng, rois=9):
    """(T, R, 3) raw colour means: a common pulse with the blood-volume signature plus per-ROI noise."""
    t = np.arange(int(seconds * FS)) / FS
    p = np.sin(2 * np.pi * hr_bpm / 60.0 * t)
    sig = np.array([0.33, 0.77, 0.53])
    base = np.array([150.0, 110.0, 90.0])
    return base * (1 + amp * p[:, None, None] * sig) + 0.5 * rng.standard_normal((len(t), rois, 3))


def test_meaning_is_stated():
    assert "within 5 bpm" in CONFIDENCE_MEANING


def test_calibration_monotone_on_generated_set():
    rng = np.random.default_rng(0)
    conf, err = [], []
    for i in range(60):
        hr = rng.uniform(50, 150)
        amp = rng.choice([0.0, 0.15, 0.3, 0.6, 1.2])
        w = pulse(hr, 10.0, amp, rng)
        others = {k: pulse(hr, 10.0, amp, rng) for k in ("pos", "chrom")}
        c = reading_confidence(w, fs=FS, others=others)
        conf.append(c.value)
        err.append(abs(estimate_hr(w, FS).hr_bpm - hr))
    conf, err = np.array(conf), np.array(err)
    order = np.argsort(conf)
    thirds = np.array_split(order, 3)
    within = [np.mean(err[k] <= 5) for k in thirds]
    mae = [np.mean(err[k]) for k in thirds]
    assert within[0] < within[1] <= within[2]
    assert mae[2] < mae[0]


def test_pulse_free_wave_gets_low_confidence():
    rng = np.random.default_rng(1)
    vals = []
    for _ in range(10):
        noise = rng.standard_normal(300)
        others = {k: rng.standard_normal(300) for k in ("pos", "chrom", "2sr")}
        roi = 120 + rng.standard_normal((300, 9, 3))
        vals.append(reading_confidence(noise, fs=FS, others=others, roi_values=roi).value)
    assert np.mean(np.array(vals) < DEFAULT_THRESHOLD) >= 0.95
    clean = reading_confidence(pulse(80, 10.0, 3.0, rng), fs=FS, others={"pos": pulse(80, 10.0, 3.0, rng)},
                               roi_values=stmap_like(80, 10.0, 0.02, rng))
    assert clean.reliable and clean.value > max(vals)


def test_roi_and_estimator_agreement():
    rng = np.random.default_rng(2)
    assert roi_agreement(stmap_like(72, 10.0, 0.02, rng), fs=FS, hr_bpm=72.0) > 0.8
    assert roi_agreement(120 + rng.standard_normal((300, 9, 3)), fs=FS, hr_bpm=72.0) < 0.4
    assert estimator_agreement(72.0, [71.0, 74.0, 140.0]) == pytest.approx(2 / 3)
    assert np.isnan(estimator_agreement(72.0, []))


def test_no_face_caps_confidence_and_window_confidence_shape():
    rng = np.random.default_rng(3)
    tr = hr_track(pulse(90, 20.0, 3.0, rng), fs=FS, window_s=10.0)
    f = reading_features(tr, valid=np.r_[np.ones(100, bool), np.zeros(500, bool)])
    assert confidence_from_features(f).value == 0.0
    wc = window_confidence(tr)
    assert wc.shape == (tr.n_windows,) and np.all((wc >= 0) & (wc <= 1))


def test_hrv_gate_accepts_clean_and_refuses_noisy_beats():
    rng = np.random.default_rng(4)
    ibi = 0.8 + 0.03 * rng.standard_normal(40)
    clean = np.cumsum(ibi)
    ok = hrv_quality(clean, hr_bpm=75.0, confidence=0.9, snr_db=3.0)
    assert ok.ok and ok.failed == ()
    noisy = np.sort(clean.copy())
    noisy = np.delete(noisy, [5, 12, 20, 27])  # missed beats -> doubled intervals
    noisy = np.sort(np.r_[noisy, noisy[8] + 0.25, noisy[30] + 0.2])  # extra beats -> short intervals
    bad = hrv_quality(noisy, hr_bpm=75.0, confidence=0.3)
    assert not bad.ok
    assert {"ibi_outliers", "ibi_range", "confidence"} <= set(bad.failed)
    assert "ibi_outliers" in bad.reason()
    short = hrv_quality(clean[:10])
    assert {"beats", "duration"} <= set(short.failed)
