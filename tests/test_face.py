"""Face detection, keyframe tracking and skin-ROI statistics."""

import itertools

import numpy as np
import pytest

from pseudopulse.errors import FaceError
from pseudopulse.face import FaceMeshDetector, FaceSkinSampler, FaceTracker, full_frame_stats
from pseudopulse.face.landmarks import N_LANDMARKS, anchor_arrays, mesh_index_sets
from pseudopulse.synth import SynthConfig, ground_truth
from pseudopulse.synth.render import iter_frames
from pseudopulse.io import Frame, open_video
from pseudopulse.signal import bandpass
from pseudopulse.stmap import extract_stmap_from_frames

FPS = 30.0


def _corr(a, b):
    return float(np.corrcoef(a, b)[0, 1])


def _pulse_corr(x, cfg):
    """Correlation of a colour trace with the clip's rendered pulse, both band-passed 0.7-3 Hz."""
    ppg = ground_truth(cfg).ppg
    return _corr(bandpass(np.asarray(x, np.float64), FPS, band_hz=(0.7, 3.0)), bandpass(ppg, FPS, band_hz=(0.7, 3.0)))


# a head that sways, turns and zooms (~1 px/frame at 320x240), as the tracking tests need
MOVING = dict(motion_px=12.0, rotation_deg=8.0, scale_amp=0.06, motion_hz=0.25)


# ---------------------------------------------------------------- index sets
def test_mesh_index_sets_are_closed_polygons_within_the_mesh():
    sets = mesh_index_sets()
    oval = sets["face_oval"]
    assert len(oval) == 36 and len(set(oval.tolist())) == 36
    for idx in sets.values():
        assert idx.min() >= 0 and idx.max() < N_LANDMARKS
    idx, tmpl = anchor_arrays()
    assert tmpl.shape == (len(idx), 2) and tmpl.min() >= 0 and tmpl.max() <= 1
    assert set(oval.tolist()) <= set(idx.tolist())


# ---------------------------------------------------------------- tracker with a scripted detector
class _ScriptedDetector:
    """Landmarks that move linearly in time (x += 2 px/frame, y -= 1 px/frame); None on chosen frames."""

    name = "scripted"

    def __init__(self, missing=()):
        self.base = np.random.default_rng(0).uniform(50, 150, (N_LANDMARKS, 2)).astype(np.float32)
        self.missing = set(missing)
        self.calls = []

    def at(self, i):
        return self.base + np.float32([2.0 * i, -1.0 * i])

    def detect(self, rgb):
        i = int(rgb[0, 0, 0])  # the frame index is written into the first pixel
        self.calls.append(i)
        return None if i in self.missing else self.at(i)


def _index_frames(n, fps=FPS):
    for i in range(n):
        rgb = np.zeros((4, 4, 3), np.uint8)
        rgb[0, 0, 0] = i
        yield Frame(rgb, i / fps, i)


def test_tracker_detects_on_keyframes_only_and_interpolates_linear_motion_exactly():
    det = _ScriptedDetector()
    tr = FaceTracker(det, detect_every=10)
    out = list(tr.track(_index_frames(95)))
    assert [t.frame.index for t in out] == list(range(95))  # order kept, nothing dropped
    assert det.calls == list(range(0, 95, 10)) + [94]  # every 10th frame, plus the last one
    for t in out:  # between keyframes: exact linear interpolation
        np.testing.assert_allclose(t.landmarks, det.at(t.frame.index), atol=1e-3)
    assert tr.stats.n_keyframes == 11 and tr.stats.n_detected == 11 and tr.stats.no_face_spans_s == []


def test_tracker_marks_exactly_the_faceless_frames_lost_and_holds_nothing():
    # frames 60..119 (2.0 s .. 3.97 s) show no face; keyframes every 10 frames; the face is back at frame 120
    det = _ScriptedDetector(missing=range(60, 120))
    tr = FaceTracker(det, detect_every=10, hold_s=1.0)
    out = list(tr.track(_index_frames(150)))
    lost = np.array([t.landmarks is None for t in out])
    # the boundaries are found frame-exactly by running the detector between the face / no-face keyframes
    np.testing.assert_array_equal(np.flatnonzero(lost), np.arange(60, 120))
    assert all(np.allclose(t.landmarks, det.at(t.frame.index), atol=1e-3) for t in out if t.landmarks is not None)
    assert tr.stats.no_face_spans_s == [[2.0, 4.0]]
    assert tr.stats.n_boundary_detections > 0


# ---------------------------------------------------------------- statistics of one frame
def test_full_frame_stats_are_exact_block_means_and_correlation():
    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 256, (31, 41, 3), dtype=np.uint8)
    st = full_frame_stats(rgb, grid=(3, 4))
    ys, xs = (np.arange(4) * 31) // 3, (np.arange(5) * 41) // 4
    for r in range(3):
        for c in range(4):
            block = rgb[ys[r] : ys[r + 1], xs[c] : xs[c + 1]].reshape(-1, 3).astype(np.float64)
            np.testing.assert_allclose(st.values[r * 4 + c], block.mean(0), rtol=1e-6)
    v = rgb.reshape(-1, 3).astype(np.float64) / 255
    np.testing.assert_allclose(st.skin_corr, v.T @ v / len(v), rtol=1e-5)
    np.testing.assert_allclose(st.skin_mean, rgb.reshape(-1, 3).mean(0), rtol=1e-6)
    assert st.skin_count == 31 * 41


@pytest.fixture(scope="module")
def hopper_frame():
    rgb = next(iter_frames(SynthConfig(duration_s=0.5, width=320, height=240)))
    with FaceMeshDetector(tracking=False) as det:
        lm = det.detect(rgb)
    assert lm is not None and lm.shape == (N_LANDMARKS, 2)
    return rgb, lm


def test_face_sample_matches_brute_force_on_the_aligned_skin_pixels(hopper_frame):
    rgb, lm = hopper_frame
    sampler = FaceSkinSampler(grid=(5, 5), size_px=64)
    st = sampler.sample(rgb, lm)
    face = sampler.aligned_face(rgb, lm).astype(np.float64)
    mask = sampler.skin_mask(lm).astype(bool)
    # the face fills the canonical square: skin is most of it but eyes/mouth/corners are cut out
    assert 0.45 < mask.mean() < 0.9
    v = face[mask] / 255.0
    assert st.skin_count == mask.sum()
    np.testing.assert_allclose(st.skin_corr, v.T @ v / len(v), rtol=1e-5)
    np.testing.assert_allclose(st.skin_mean, face[mask].mean(0), rtol=1e-5)
    edges = (np.arange(6) * 64) // 5
    for r, c in itertools.product(range(5), range(5)):
        blk = np.s_[edges[r] : edges[r + 1], edges[c] : edges[c + 1]]
        m = mask[blk]
        want = face[blk][m].mean(0) if m.any() else face[blk].reshape(-1, 3).mean(0)
        np.testing.assert_allclose(st.values[r * 5 + c], want, rtol=1e-5)


def rotation_about(cx: float, cy: float, angle_deg: float, scale: float) -> np.ndarray:
    """(2, 3) forward affine map: rotate by ``angle_deg`` (counter-clockwise on screen) and scale about (cx, cy) px."""
    a, b = scale * np.cos(np.radians(angle_deg)), scale * np.sin(np.radians(angle_deg))
    return np.array([[a, b, (1 - a) * cx - b * cy], [-b, a, b * cx + (1 - a) * cy]])


def test_aligned_face_is_invariant_to_moving_the_head(hopper_frame):
    """Rotating/shifting/scaling the frame leaves the aligned skin statistics nearly unchanged."""
    from pseudopulse.face.warp import invert_affine, warp_affine

    rgb, _ = hopper_frame
    sampler = FaceSkinSampler()
    m = rotation_about(160, 120, 15, 0.85)
    m[:, 2] += (20, -10)
    moved = warp_affine(rgb, invert_affine(m), (240, 320), "reflect101")
    with FaceMeshDetector(tracking=False) as det:
        a, b = sampler.sample(rgb, det.detect(rgb)), sampler.sample(moved, det.detect(moved))
    assert np.abs(a.skin_mean - b.skin_mean).max() < 4.0  # grey levels (0..255)
    assert np.median(np.abs(a.values - b.values)) < 6.0


# ---------------------------------------------------------------- whole clips
def test_moving_face_is_tracked_and_block_means_recover_the_pulse():
    spec = SynthConfig(duration_s=8.0, fps=FPS, width=320, height=240, hr_bpm=72.0, pulse_amplitude=0.03, **MOVING)
    stmap = extract_stmap_from_frames(iter_frames(spec), fps=FPS)
    assert stmap.valid.all() and stmap.values.shape == (spec.n_frames, 25, 3)
    assert stmap.meta["n_keyframes"] == 25 and stmap.meta["n_keyframes_with_face"] == 25  # 24 + the last frame
    assert _pulse_corr(stmap.skin_mean[:, 1], spec) > 0.95
    per_block = [_pulse_corr(stmap.values[:, r, 1], spec) for r in range(25)]
    assert np.median(per_block) > 0.8
    assert _pulse_corr(stmap.values[:, :, 1].mean(axis=1), spec) > 0.9


def test_keyframe_interpolation_follows_the_head_like_per_frame_detection():
    spec = SynthConfig(duration_s=3.0, fps=FPS, width=320, height=240, **MOVING)
    frames = [Frame(f, i / FPS, i) for i, f in enumerate(iter_frames(spec))]
    with FaceMeshDetector() as d1, FaceMeshDetector() as d10:
        every = [t.landmarks for t in FaceTracker(d1, detect_every=1).track(frames)]
        keyed = [t.landmarks for t in FaceTracker(d10, detect_every=10).track(frames)]
    nose = 1
    err = np.array([np.linalg.norm(a[nose] - b[nose]) for a, b in zip(every, keyed)])
    assert np.median(err) < 2.0 and err.max() < 6.0  # px, face ~95 px tall, moving ~1 px/frame


def test_face_hidden_for_two_seconds_is_reported_and_marked_invalid():
    spec = SynthConfig(duration_s=6.0, fps=FPS, width=320, height=240, hide_spans_s=((2.0, 4.0),), **MOVING)
    frames = list(iter_frames(spec))
    ts = np.arange(spec.n_frames) / FPS
    st = extract_stmap_from_frames(frames, fps=FPS, detect_every=5)
    (lost,) = st.meta["no_face_spans_s"]
    assert abs(lost[0] - 2.0) <= 5 / FPS and abs(lost[1] - 4.0) <= 5 / FPS
    assert np.isnan(st.values[~st.valid]).all() and (st.skin_count[~st.valid] == 0).all()
    # no landmarks are held: every face-less frame is invalid (to a frame or two at the edges, where the face leaves)
    assert not st.valid[(ts >= 2.0 + 2 / FPS) & (ts < 4.0 - 2 / FPS)].any()
    assert st.valid[ts < 2.0 - 2 / FPS].all() and st.valid[ts >= 4.0 + 2 / FPS].all()
    (span,) = st.meta["invalid_spans_s"]
    assert abs(span[0] - 2.0) <= 2 / FPS and abs(span[1] - 4.0) <= 2 / FPS


def test_no_face_anywhere_raises_face_error_with_the_full_frame_hint():
    rng = np.random.default_rng(3)
    noise = (rng.integers(0, 256, (240, 320, 3), dtype=np.uint8) for _ in range(40))
    with pytest.raises(FaceError, match="full-frame") as e:
        extract_stmap_from_frames(noise, fps=FPS, source="noise.mp4")
    assert "noise.mp4" in str(e.value)


@pytest.mark.shared_data
def test_real_ubfc_subject_has_a_face_in_almost_every_frame(shared_data):
    vid = shared_data / "real" / "ubfc_rppg_h264" / "subject10" / "vid.mp4"
    if not vid.exists():
        pytest.skip(f"{vid} absent")
    with open_video(vid) as reader:
        first = itertools.takewhile(lambda f: f.t_s < 10.0, reader)
        st = extract_stmap_from_frames(first, source=str(vid))
    assert st.n_frames > 250
    assert st.valid.mean() > 0.95
    assert st.meta["n_keyframes_with_face"] / st.meta["n_keyframes"] > 0.95
    assert np.isfinite(st.values[st.valid]).all()


def test_smoothed_mask_damps_keyframe_landmark_noise(hopper_frame):
    from pseudopulse.face import SmoothedSkinMask

    _, lm = hopper_frame
    sampler = FaceSkinSampler()
    smooth = SmoothedSkinMask(sampler, tau_s=2.0)
    rng = np.random.default_rng(0)
    raw_changes, smooth_changes, prev_raw, prev_smooth = [], [], None, None
    for i in range(30):  # keyframes 1/3 s apart, landmarks with 1.5-px noise
        noisy = lm + rng.normal(0, 1.5, lm.shape).astype(np.float32)
        smooth.update(i / 3.0, noisy)
        raw = sampler.skin_mask(noisy)
        if prev_raw is not None:
            raw_changes.append((raw != prev_raw).sum())
            smooth_changes.append((smooth.mask != prev_smooth).sum())
        prev_raw, prev_smooth = raw, smooth.mask.copy()
    assert np.mean(smooth_changes[10:]) < 0.3 * np.mean(raw_changes[10:])
