"""Every reading carries its confidence: a clear pulse is marked reliable, a face without a pulse abstains, a video
without colour is refused, HRV is withheld unless its checks pass, and the HR track follows a changing rate."""

import dataclasses
import json
import subprocess
import sys

import numpy as np
import pytest

import pseudopulse
from pseudopulse.errors import SignalError
from pseudopulse.eval.metrics import trust_metrics
from pseudopulse.reading import read_stmap
from pseudopulse.stmap import extract_stmap
from pseudopulse.synth import SynthConfig, render


def clip(tmp_path_factory, name, **cfg):
    path = tmp_path_factory.mktemp("reading") / f"{name}.mp4"
    base = dict(duration_s=12.0, fps=30.0, width=320, height=240, seed=5, crf=18)
    return render(SynthConfig(**{**base, **cfg}), path), path


@pytest.fixture(scope="module")
def pulsed(tmp_path_factory):
    return clip(tmp_path_factory, "pulsed", hr_bpm=96.0, pulse_amplitude=0.03)


@pytest.fixture(scope="module")
def pulse_free(tmp_path_factory):
    return clip(tmp_path_factory, "pulse_free", hr_bpm=80.0, pulse_amplitude=0.0, motion_px=3.0, illumination_amp=0.1)


@pytest.mark.parametrize("method", ["model", "pos"])
def test_clear_pulse_is_reliable(pulsed, method):
    truth, path = pulsed
    r = pseudopulse.predict(path, method=method)
    assert abs(r.hr_bpm - truth.mean_hr_bpm) < 3.0
    assert r.reliable and r.confidence >= r.min_confidence and r.reasons == ()


@pytest.mark.parametrize("method", ["model", "pos", "chrom", "2sr"])
def test_face_without_a_pulse_abstains(pulse_free, method):
    _, path = pulse_free
    r = pseudopulse.predict(path, method=method)
    assert not r.reliable and r.confidence < r.min_confidence
    assert r.reasons and "below" in r.reasons[0]
    assert np.isnan(r.sdnn_ms) and np.isnan(r.rmssd_ms) and r.hrv_withheld


def test_threshold_is_the_users(pulsed):
    _, path = pulsed
    r = pseudopulse.predict(path, method="pos", min_confidence=1.0)
    assert not r.reliable and r.min_confidence == 1.0 and r.reasons


def test_grayscale_video_is_refused(pulsed):
    _, path = pulsed
    st = extract_stmap(path)
    gray = st.skin_mean.mean(axis=1, keepdims=True).repeat(3, axis=1)
    with pytest.raises(SignalError, match="no colour"):
        read_stmap(dataclasses.replace(st, skin_mean=gray), "pos", source="gray.mp4")


def test_hrv_needs_twenty_seconds_and_says_so(pulsed):
    _, path = pulsed
    r = pseudopulse.predict(path, method="pos")
    assert np.isnan(r.sdnn_ms) and "duration" in r.hrv_withheld  # 12 s of video: HRV needs >= 20 s


def test_json_carries_confidence_reliable_and_track(pulsed, tmp_path):
    _, path = pulsed
    proc = subprocess.run([sys.executable, "-m", "pseudopulse", "predict", str(path), "-m", "pos", "--json", "--no-progress",
                           "--out", str(tmp_path)], capture_output=True, text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert {"hr_bpm", "confidence", "reliable", "reasons", "hr_track", "confidence_meaning"} <= set(doc)
    assert doc["hr_track"] and {"t_s", "hr_bpm", "confidence"} == set(doc["hr_track"][0])
    assert doc["sdnn_ms"] is None and doc["hrv_withheld"]
    from pseudopulse.face.detector import detector_name
    from pseudopulse.face.runtime import resolve_backend

    assert doc["face_detector"] == detector_name(resolve_backend("auto", "cpu"))  # which runtime ran the face models
    track_csv = (tmp_path / f"{path.stem}_track.csv").read_text().splitlines()
    assert track_csv[0] == "t_s,hr_bpm,confidence" and len(track_csv) == len(doc["hr_track"]) + 1


def test_track_follows_a_changing_rate(tmp_path_factory):
    truth, path = clip(tmp_path_factory, "drift", hr_bpm=80.0, hr_drift_bpm=30.0, duration_s=40.0, pulse_amplitude=0.03)
    r = pseudopulse.predict(path, method="pos")
    true_at = np.interp(r.track_t_s, truth.timestamps_s, truth.hr_bpm)
    assert np.median(np.abs(r.track_hr_bpm - true_at)) < 3.0
    assert r.track_hr_bpm[-1] - r.track_hr_bpm[0] > 10.0  # the rate rises by 30 bpm over 40 s


def test_trust_metrics_count_coverage_and_keep_the_most_confident_first():
    err = np.array([0.5, 1.0, 20.0, 2.0, 30.0])
    conf = np.array([0.95, 0.9, 0.2, 0.85, np.nan])  # NaN: no confidence could be made -> not reliable
    t = trust_metrics(err, conf, 0.8)
    assert t.n_reliable == 3 and t.coverage == pytest.approx(0.6)
    assert t.mae_reliable == pytest.approx(3.5 / 3) and t.max_error_reliable == 2.0 and t.within5_reliable == 1.0
    assert t.curve[0] == (pytest.approx(0.2), pytest.approx(0.5)) and t.curve[-1][1] == pytest.approx(np.mean(err))


def test_tiny_skin_region_is_never_reliable(pulsed):
    _, path = pulsed
    st = extract_stmap(path)
    assert st.meta["roi_px"] > 2500  # the face of a 320x240 clip is large enough
    crop = dataclasses.replace(st, meta={**st.meta, "roi_px": 625.0})  # a 25x25-px skin crop
    r = read_stmap(crop, "pos")
    assert r.confidence.value == 0.0 and not r.reliable and np.all(r.track_confidence == 0)
    assert any("skin region is only 625 px" in reason for reason in r.reasons())


def test_skin_crop_is_never_reliable(pulsed):
    _, path = pulsed
    st = extract_stmap(path)
    crop = dataclasses.replace(st, meta={**st.meta, "roi": "full-frame"})
    r = read_stmap(crop, "pos")
    assert r.confidence.value <= 0.2 and not r.reliable and np.all(r.track_confidence <= 0.2)
    assert any("skin crop" in reason for reason in r.reasons())


def test_reading_carries_the_signature_features_when_asked(pulsed, pulse_free):
    """The candidate features are computed by ``assess`` when asked (the fit reads them from there; the shipped map
    uses none, so a plain reading skips them): a rendered blood-volume pulse changes green most and its rate survives
    trimming; a pulse-free face does not."""
    st = extract_stmap(pulsed[1])
    assert np.isnan(read_stmap(st, "pos").confidence.features.colour_match)
    f = read_stmap(st, "pos", candidates=True).confidence.features
    assert f.colour_match > 0.5 and f.trim_agreement == 1.0 and np.isnan(f.double_share)  # 2 x 96 bpm: above the band
    assert 0 <= f.split_change <= 5.0  # a steady rendered rate
    g = read_stmap(extract_stmap(pulse_free[1]), "pos", candidates=True).confidence.features
    assert np.isfinite(g.colour_match) and g.colour_match < f.colour_match


def test_a_method_reading_is_checked_against_the_model_too(pulsed):
    """A training-free method's reading is checked against the other methods AND the shipped model (another kind of
    estimator: it does not share their harmonic locks on slow pulses); the model's against the three methods."""
    st = extract_stmap(pulsed[1])
    assert set(read_stmap(st, "pos").estimator_bpm) == {"chrom", "2sr", "model"}
    assert set(read_stmap(st, "model").estimator_bpm) == {"pos", "chrom", "2sr"}
    assert abs(read_stmap(st, "pos").estimator_bpm["model"] - 96.0) < 3  # the clip's rate, read by the model


def test_skin_blocks_pulse_in_phase_only_with_a_pulse(pulsed, pulse_free):
    """``roi_coherence`` is measured on every reading (it comes from the ROI waves ``roi_agreement`` reads anyway):
    high for a rendered pulse under the skin, low for a pulse-free face with motion and light changes; the same
    feature per window feeds the HR track's confidence."""
    f = read_stmap(extract_stmap(pulsed[1]), "model").confidence.features
    g = read_stmap(extract_stmap(pulse_free[1]), "model").confidence.features
    assert f.roi_coherence > 0.8 and g.roi_coherence < 0.6


def test_a_gated_reading_says_the_skin_does_not_pulse_together():
    from pseudopulse.reading import unreliable_reasons
    from pseudopulse.signal.confidence import MIN_ROI_COHERENCE, ReadingFeatures, confidence_from_features

    feats = ReadingFeatures(peak_share=0.7, estimator_agreement=1.0, roi_agreement=0.8, face_valid=1.0,
                            roi_coherence=MIN_ROI_COHERENCE / 2)  # fmt: skip
    reasons = unreliable_reasons(confidence_from_features(feats), 72.0, {"pos": 72.0})
    assert any("do not pulse together" in r and "no pulse in view" in r for r in reasons)
    coherent = confidence_from_features(dataclasses.replace(feats, roi_coherence=0.9))
    assert unreliable_reasons(coherent, 72.0, {"pos": 72.0}) == []


def test_a_reading_that_may_be_twice_the_pulse_says_so():
    from pseudopulse.reading import unreliable_reasons
    from pseudopulse.signal.confidence import ReadingFeatures, confidence_from_features

    feats = ReadingFeatures(peak_share=0.7, estimator_agreement=1.0, roi_agreement=0.8, face_valid=1.0, roi_coherence=0.9,
                            harmonic_ambiguity=1.0)  # fmt: skip
    reasons = unreliable_reasons(confidence_from_features(feats), 90.0, {"pos": 90.0})
    assert any("half the rate (45 bpm)" in r and "second harmonic" in r for r in reasons)
