"""signal.confidence: calibration is monotone on a generated set, a pulse-free wave gets low confidence, and the
HRV gate refuses a noisy beat series."""

import numpy as np
import pytest

from pseudopulse.signal import estimate_hr
from pseudopulse.signal.confidence import (
    CONFIDENCE_MEANING, DEFAULT_THRESHOLD, PBV_SIGNATURE, colour_match, colour_ratio, confidence_from_features, double_share,
    estimator_agreement, hrv_quality, reading_features, roi_coherence, trim_agreement, window_confidence,
    window_phasors,
)
from pseudopulse.signal.track import hr_track

FS = 30.0


def pulse(hr_bpm, seconds, amp, rng, fs=FS):
    t = np.arange(int(seconds * fs)) / fs
    f = hr_bpm / 60.0
    return amp * (np.sin(2 * np.pi * f * t) + 0.3 * np.sin(4 * np.pi * f * t)) + rng.standard_normal(len(t))


def reading_confidence(wave, *, others, rois=None):
    """Confidence of ``wave``'s reading with the rates of ``others`` (waves) and of ``rois`` (waves) as evidence."""
    track = hr_track(wave, fs=FS, window_s=10.0)
    rate = lambda w: estimate_hr(w, FS).hr_bpm  # noqa: E731
    roi_bpm = None if rois is None else [rate(w) for w in rois]
    feats = reading_features(track, hr_bpm=rate(wave), others_bpm=[rate(w) for w in others.values()], roi_bpm=roi_bpm)
    return confidence_from_features(feats)


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
        c = reading_confidence(w, others=others)
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
        rois = [rng.standard_normal(300) for _ in range(9)]
        vals.append(reading_confidence(noise, others=others, rois=rois).value)
    assert np.mean(np.array(vals) < DEFAULT_THRESHOLD) >= 0.95
    clean = reading_confidence(pulse(80, 10.0, 3.0, rng), others={"pos": pulse(80, 10.0, 3.0, rng)},
                               rois=[pulse(80, 10.0, 1.0, rng) for _ in range(9)])
    assert clean.reliable and clean.value > max(vals)


def test_estimator_agreement():
    assert estimator_agreement(72.0, [71.0, 74.0, 140.0]) == pytest.approx(2 / 3)
    assert np.isnan(estimator_agreement(72.0, []))


def test_no_face_caps_confidence_and_window_confidence_shape():
    rng = np.random.default_rng(3)
    tr = hr_track(pulse(90, 20.0, 3.0, rng), fs=FS, window_s=10.0)
    f = reading_features(tr, valid=np.r_[np.ones(100, bool), np.zeros(500, bool)])
    assert confidence_from_features(f).value == 0.0
    agree = np.ones(tr.n_windows)
    wc = window_confidence(tr, estimator_agreement=agree, roi_agreement=agree)
    assert wc.shape == (tr.n_windows,) and np.all((wc >= 0) & (wc <= 1))
    blind = window_confidence(tr, estimator_agreement=np.full(tr.n_windows, np.nan), roi_agreement=agree)
    assert np.all(blind < wc)  # evidence that cannot be measured counts as no support
    no_face = window_confidence(tr, estimator_agreement=agree, roi_agreement=agree, face_valid=np.zeros(tr.n_windows))
    assert np.all(no_face == 0)


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


def test_colour_match_tells_blood_from_a_change_of_light():
    rng = np.random.default_rng(5)
    t = np.arange(300) / FS
    wave = np.sin(2 * np.pi * 1.2 * t)  # 72 bpm
    base = np.array([150.0, 110.0, 90.0])
    noise = lambda: 0.02 * rng.standard_normal((300, 3))  # noqa: E731
    blood = base * (1 + 0.01 * np.outer(wave, PBV_SIGNATURE)) + noise()
    light = base * (1 + 0.01 * np.outer(wave, np.ones(3))) + noise()
    tr = hr_track(wave + 0.1 * rng.standard_normal(300), fs=FS, window_s=10.0)
    assert colour_match(blood, tr, 72.0)[0] > 0.9
    assert colour_match(light, tr, 72.0)[0] < 0.1
    assert np.isnan(colour_match(np.zeros((300, 3)), tr, 72.0)[0])  # a black trace cannot be read
    # the raw ratio behind it: ~2.3 for blood, ~1 for light, and red-led changes under 1
    assert abs(colour_ratio(blood, tr, 72.0)[0] - PBV_SIGNATURE[1] / PBV_SIGNATURE[0]) < 0.2
    assert abs(colour_ratio(light, tr, 72.0)[0] - 1.0) < 0.1
    red = base * (1 + 0.01 * np.outer(wave, [1.0, 0.5, 0.5])) + noise()
    assert colour_ratio(red, tr, 72.0)[0] < 0.6 and colour_match(red, tr, 72.0)[0] == 0.0


def test_double_share_and_trim_agreement():
    rng = np.random.default_rng(6)
    t = np.arange(300) / FS
    lone = hr_track(np.sin(2 * np.pi * 1.0 * t) + 0.1 * rng.standard_normal(300), fs=FS, window_s=10.0)
    both = hr_track(np.sin(2 * np.pi * 1.0 * t) + 0.9 * np.sin(2 * np.pi * 2.0 * t), fs=FS, window_s=10.0)
    assert double_share(lone, 60.0)[0] < 0.1 < 0.3 < double_share(both, 60.0)[0]
    assert np.isnan(double_share(lone, 150.0)[0])  # twice 150 bpm is above the band
    assert trim_agreement(np.sin(2 * np.pi * 1.0 * t), lone, 60.0)[0] == 1.0
    assert trim_agreement(np.sin(2 * np.pi * 1.0 * t), lone, 120.0)[0] == 0.0


def _coherence(waves, track, rate_bpm):
    rates = np.full((track.n_windows, 1), rate_bpm)
    c = np.stack([window_phasors(w, track, rates)[:, 0] for w in waves])  # (R, K)
    return roi_coherence(c.sum(axis=0), np.abs(c).sum(axis=0))


def test_roi_coherence_tells_one_pulse_under_the_skin_from_unrelated_blocks():
    rng = np.random.default_rng(7)
    t = np.arange(600) / FS  # 20 s: 11 windows of 10 s, 1-s hop
    track = hr_track(np.sin(2 * np.pi * 1.2 * t), fs=FS, window_s=10.0)
    # 25 blocks pulsing at 72 bpm with small delays (pulse transit) and their own noise, as scaled as a real face's
    delays = rng.uniform(0, 0.05, 25)
    pulsing = [rng.uniform(0.5, 2) * (np.sin(2 * np.pi * 1.2 * (t - d)) + 0.8 * rng.standard_normal(len(t))) for d in delays]
    # 25 blocks with a 72-bpm component of random phase each (e.g. motion, one side of the face against the other)
    unrelated = [np.sin(2 * np.pi * 1.2 * t + rng.uniform(0, 2 * np.pi)) + 0.8 * rng.standard_normal(len(t))
                 for _ in range(25)]  # fmt: skip
    coh_pulse, coh_free = _coherence(pulsing, track, 72.0), _coherence(unrelated, track, 72.0)
    assert coh_pulse.shape == coh_free.shape == (track.n_windows,)
    assert np.all(coh_pulse > 0.9) and np.all(coh_free < 0.5)
    # the scale of a block does not matter (each window is z-scored), and a time shift of all blocks does not either
    assert np.allclose(_coherence([3.0 * w for w in pulsing], track, 72.0), coh_pulse)
    assert np.allclose(_coherence([np.roll(w, 7) for w in pulsing], track, 72.0)[1:-1], coh_pulse[1:-1], atol=0.05)
    # nothing readable: no support
    assert np.isnan(roi_coherence(np.zeros(3, complex), np.zeros(3))).all()


def test_pulse_presence_gate_caps_a_reading_whose_skin_does_not_pulse_together():
    """Everything else agreeing, a reading whose skin blocks do not pulse in phase is capped (and so abstains at the
    default threshold); a coherent one is not; coherence that could not be measured caps nothing."""
    from pseudopulse.signal.confidence import LOW_COHERENCE_MAX_CONFIDENCE, MIN_ROI_COHERENCE, ReadingFeatures

    agree = dict(peak_share=0.7, estimator_agreement=1.0, roi_agreement=0.8, face_valid=1.0)
    assert 0 < MIN_ROI_COHERENCE < 1 and LOW_COHERENCE_MAX_CONFIDENCE < DEFAULT_THRESHOLD
    low = confidence_from_features(ReadingFeatures(**agree, roi_coherence=MIN_ROI_COHERENCE - 0.1))
    high = confidence_from_features(ReadingFeatures(**agree, roi_coherence=0.9))
    unknown = confidence_from_features(ReadingFeatures(**agree))
    assert low.value == LOW_COHERENCE_MAX_CONFIDENCE and not low.reliable
    assert high.reliable and unknown.value == high.value


def test_half_rate_gate_caps_a_reading_that_may_be_the_second_harmonic():
    """A 51-bpm pulse with a strong second harmonic reads 102 bpm by its plain peak: the spectrum holds much of that
    peak's power at half the rate, so the window is flagged and its confidence capped; a clean 102-bpm pulse and a
    50-bpm reading (half its rate is below the band: not measurable) are not."""
    from pseudopulse.signal.confidence import (HALF_RATE_MAX_CONFIDENCE, ReadingFeatures, harmonic_ambiguity,
                                               window_half_rate)  # fmt: skip

    rng = np.random.default_rng(8)
    t = np.arange(600) / FS
    slow = 0.8 * np.sin(2 * np.pi * 0.85 * t) + np.sin(2 * np.pi * 1.7 * t + 0.4) + 0.05 * rng.standard_normal(600)
    clean = np.sin(2 * np.pi * 1.7 * t) + 0.05 * rng.standard_normal(600)
    tr_slow, tr_clean = hr_track(slow, fs=FS, window_s=10.0), hr_track(clean, fs=FS, window_s=10.0)
    assert np.allclose(tr_slow.hr_bpm, 102.0, atol=1.0)
    assert np.all(window_half_rate(tr_slow) == 1.0) and harmonic_ambiguity(tr_slow, 102.0) == 1.0
    assert np.all(window_half_rate(tr_clean) == 0.0) and harmonic_ambiguity(tr_clean, 102.0) == 0.0
    assert np.isnan(harmonic_ambiguity(tr_clean, 50.0))  # 25 bpm lies below the band
    agree = dict(peak_share=0.7, estimator_agreement=1.0, roi_agreement=0.8, face_valid=1.0, roi_coherence=0.9)
    assert 0 <= HALF_RATE_MAX_CONFIDENCE < DEFAULT_THRESHOLD
    flagged = confidence_from_features(ReadingFeatures(**agree, harmonic_ambiguity=1.0))
    assert flagged.value == HALF_RATE_MAX_CONFIDENCE and not flagged.reliable
    for ok in (0.0, float("nan")):
        assert confidence_from_features(ReadingFeatures(**agree, harmonic_ambiguity=ok)).reliable
    ones = np.ones(tr_slow.n_windows)
    windows = window_confidence(tr_slow, estimator_agreement=ones, roi_agreement=ones, roi_coherence=0.9 * ones,
                                harmonic_ambiguity=window_half_rate(tr_slow))  # fmt: skip
    assert np.all(windows <= HALF_RATE_MAX_CONFIDENCE)


def test_split_change_sees_a_rate_that_changes_inside_the_window():
    """A pulse climbing from 80 to 110 bpm over a 10-s window peaks far apart in its first and last 6 s; a steady
    pulse does not (a candidate feature: as a gate it failed its declared rule, LOG.md eighteenth round)."""
    from pseudopulse.signal.confidence import split_change

    rng = np.random.default_rng(9)
    t = np.arange(300) / FS
    steady = np.sin(2 * np.pi * 1.2 * t) + 0.05 * rng.standard_normal(300)
    f_hz = (80.0 + 30.0 * t / t[-1]) / 60.0
    climbing = np.sin(2 * np.pi * np.cumsum(f_hz) / FS) + 0.05 * rng.standard_normal(300)
    assert split_change(steady, hr_track(steady, fs=FS, window_s=10.0))[0] <= 2.0
    assert split_change(climbing, hr_track(climbing, fs=FS, window_s=10.0))[0] > 10.0


def test_window_vote_lets_a_steady_long_reading_stand_on_its_best_agreeing_window():
    """30 s of a steady 72-bpm pulse: three non-overlapping windows; the reading takes the best confidence among those
    that read its rate. One window, a rate that changes, or no agreeing window: no vote (NaN). The caps still apply
    to a reading that votes."""
    from pseudopulse.signal.confidence import HALF_RATE_MAX_CONFIDENCE, ReadingFeatures, window_vote

    rng = np.random.default_rng(10)
    t = np.arange(900) / FS
    steady = hr_track(np.sin(2 * np.pi * 1.2 * t) + 0.1 * rng.standard_normal(900), fs=FS, window_s=10.0, hop_s=1.0)
    conf = np.full(steady.n_windows, 0.5)
    conf[10], conf[15] = 0.9, 0.99  # window 15 overlaps the independent ones: not counted
    assert window_vote(steady, conf, 72.0) == 0.9
    assert np.isnan(window_vote(steady, conf, 90.0))  # no window reads 90
    one = hr_track(np.sin(2 * np.pi * 1.2 * t[:300]), fs=FS, window_s=10.0)
    assert np.isnan(window_vote(one, np.ones(one.n_windows), 72.0))
    f_hz = (70.0 + 40.0 * t / t[-1]) / 60.0  # 70 -> 110 bpm: the rate changes
    ramp = hr_track(np.sin(2 * np.pi * np.cumsum(f_hz) / FS), fs=FS, window_s=10.0, hop_s=1.0)
    assert np.isnan(window_vote(ramp, np.ones(ramp.n_windows), float(np.median(ramp.hr_bpm))))
    weak = dict(peak_share=0.3, estimator_agreement=0.34, roi_agreement=0.3, face_valid=1.0, roi_coherence=0.9)
    assert not confidence_from_features(ReadingFeatures(**weak)).reliable
    assert confidence_from_features(ReadingFeatures(**weak, window_vote=0.9)).value == 0.9
    capped = confidence_from_features(ReadingFeatures(**weak, window_vote=0.9, harmonic_ambiguity=1.0))
    assert capped.value == HALF_RATE_MAX_CONFIDENCE
