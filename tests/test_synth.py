"""Semi-synthetic clips: the pulse has the configured rate, it is in the skin of the decoded video and nowhere else,
the UBFC files round-trip, and everything is reproducible by seed."""

from __future__ import annotations

import re

import numpy as np
import pytest
from scipy import ndimage

from pseudopulse.face.warp import invert_affine, warp_affine
from pseudopulse.io import open_video
from pseudopulse.signal import detect_beats, estimate_hr, heart_rate
from pseudopulse.synth import (
    SynthConfig,
    SynthConfigError,
    beat_template,
    demo_config,
    ground_truth,
    iter_frames,
    make_scene,
    make_suite,
    pulse_wave,
    render,
    skin_mask,
    write_ubfc_dataset,
    write_ubfc_subject,
)
from pseudopulse.synth.skin import resize
from pseudopulse.synth.warp import FrameWarper

SMALL = dict(width=320, height=240)


def _decode(path):
    with open_video(path) as video:
        frames = [(f.rgb.copy(), f.t_s) for f in video]
    return np.stack([f for f, _ in frames]), np.array([t for _, t in frames])


# ------------------------------------------------------------------ pulse wave


@pytest.mark.parametrize("fps", [25.0, 30.0])
@pytest.mark.parametrize("hr_bpm", [54.0, 72.0, 110.0])
def test_pulse_psd_peak_is_the_configured_rate(hr_bpm, fps):
    t = np.arange(int(10 * fps)) / fps
    for seed in range(5):
        wave = pulse_wave(t, hr_bpm=hr_bpm, rng=np.random.default_rng(seed))
        assert abs(estimate_hr(wave.ppg, fs=fps).hr_bpm - hr_bpm) <= 1.0
        assert abs(heart_rate(wave.ppg, fs=fps) - hr_bpm) <= 1.0
        assert abs(np.mean(wave.hr_bpm) - hr_bpm) < 0.5
        assert np.ptp(wave.hr_bpm) > 0.5  # the rate does vary (HRV)


def test_pulse_hrv_matches_the_requested_sdnn():
    t = np.arange(0, 120, 1 / 30)
    for sdnn in (30.0, 50.0):
        wave = pulse_wave(t, hr_bpm=60.0, rng=np.random.default_rng(3), hrv_sdnn_ms=sdnn)
        ibi_ms = np.diff(wave.beat_times_s) * 1000
        assert abs(ibi_ms.mean() - 1000) < 15
        assert 0.75 * sdnn < ibi_ms.std() < 1.25 * sdnn
        beats = detect_beats(estimate_hr(wave.ppg, fs=30.0).wave, fs=30.0)  # the project's detector agrees
        assert abs(len(beats.peak_times_s) - len(wave.beat_times_s)) <= 2
    flat = pulse_wave(t, hr_bpm=60.0, rng=np.random.default_rng(3), hrv_sdnn_ms=0.0, resp_rate_hz=0.0)
    assert np.std(np.diff(flat.beat_times_s)) < 1e-3
    assert np.allclose(flat.hr_bpm, 60.0)


def test_beat_template_has_systolic_peak_and_dicrotic_notch():
    u = np.linspace(0, 1, 1000, endpoint=False)
    y = beat_template(u)
    peaks = np.flatnonzero((y[1:-1] > y[:-2]) & (y[1:-1] > y[2:])) + 1
    troughs = np.flatnonzero((y[1:-1] < y[:-2]) & (y[1:-1] < y[2:])) + 1
    assert len(peaks) == 2  # systolic + diastolic wave
    notch = troughs[(troughs > peaks[0]) & (troughs < peaks[1])]
    assert len(notch) == 1 and y[peaks[0]] > y[peaks[1]] > y[notch[0]]
    assert np.isclose(beat_template(np.array([0.0])), beat_template(np.array([1.0])))  # periodic


def test_respiration_modulates_the_wave():
    t = np.arange(0, 60, 1 / 30)
    wave = pulse_wave(t, hr_bpm=70.0, rng=np.random.default_rng(0), resp_rate_hz=0.25, resp_amp=0.3)
    f = np.fft.rfftfreq(len(t), 1 / 30)
    p = np.abs(np.fft.rfft(wave.ppg - wave.ppg.mean())) ** 2
    low = (f > 0.05) & (f < 0.6)
    assert abs(f[low][np.argmax(p[low])] - 0.25) < 0.03  # baseline wander at the breathing rate


# ------------------------------------------------------------------ config


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"hr_bpm": 0.0}, "hr_bpm"),
        ({"hr_bpm": -60.0}, "hr_bpm"),
        ({"fps": 0.0}, "fps"),
        ({"fps": -30.0}, "fps"),
        ({"duration_s": 0.02}, "duration_s"),  # shorter than one frame at 30 fps
        ({"duration_s": 0.0}, "duration_s"),
        ({"width": 321}, "width"),
        ({"crf": 60}, "crf"),
        ({"codec": "ffv1", "crf": 23}, "crf"),
        ({"skin_tone": 2.0}, "skin_tone"),
        ({"noise_sigma": -1.0}, "noise_sigma"),
        ({"hr_bpm": 1000.0}, "hr_bpm"),  # above Nyquist at 30 fps
    ],
)
def test_invalid_config_is_a_clear_value_error(changes, field):
    with pytest.raises(ValueError, match=rf"SynthConfig\.{field}=") as info:
        SynthConfig(**changes)
    assert isinstance(info.value, SynthConfigError)
    assert ";" in str(info.value)  # rule; fix


def test_codec_must_fit_the_container(tmp_path):
    with pytest.raises(ValueError, match=r"ffv1.*\.mp4"):
        render(SynthConfig(codec="ffv1", duration_s=0.2, **SMALL), tmp_path / "x.mp4")
    with pytest.raises(ValueError, match="suffix"):
        render(SynthConfig(duration_s=0.2, **SMALL), tmp_path / "x.gif")
    assert not list(tmp_path.iterdir())  # nothing half-written


# ------------------------------------------------------------------ determinism


def test_same_seed_same_clip_different_seed_different_clip():
    cfg = SynthConfig(duration_s=1.0, motion_px=4, rotation_deg=2, specular=0.3, illumination_amp=0.1,
                      frame_jitter_ms=2.0, **SMALL)
    a, b, c = (ground_truth(cfg.replace(seed=s)) for s in (7, 7, 8))
    for name in ("timestamps_s", "ppg", "hr_bpm", "affine"):
        assert np.array_equal(getattr(a, name), getattr(b, name))
        assert not np.array_equal(getattr(a, name), getattr(c, name))
    fa = [f.copy() for f in iter_frames(cfg.replace(seed=7))]
    fb = [f.copy() for f in iter_frames(cfg.replace(seed=7))]
    fc = [f.copy() for f in iter_frames(cfg.replace(seed=8))]
    assert len(fa) == cfg.n_frames == 30
    assert all(np.array_equal(x, y) for x, y in zip(fa, fb))
    assert not any(np.array_equal(x, y) for x, y in zip(fa, fc))


def test_rendered_files_are_reproducible(tmp_path):
    cfg = SynthConfig(duration_s=1.0, crf=23, seed=3, **SMALL)
    render(cfg, tmp_path / "a.mp4")
    render(cfg, tmp_path / "b.mp4")
    fa, ta = _decode(tmp_path / "a.mp4")
    fb, tb = _decode(tmp_path / "b.mp4")
    assert np.array_equal(fa, fb) and np.array_equal(ta, tb)


# ------------------------------------------------------------------ the pulse in the video


@pytest.fixture(scope="module")
def clean_subject(tmp_path_factory):
    """A 10-s 320x240 lossless UBFC subject (no motion, steady light), with its truth."""
    cfg = SynthConfig(hr_bpm=66.0, duration_s=10.0, seed=5, **SMALL)
    root = tmp_path_factory.mktemp("ubfc")
    folder = write_ubfc_subject(root, "subject1", cfg)
    return cfg, folder, ground_truth(cfg)


def test_pulse_is_in_the_skin_of_the_decoded_video_and_nowhere_else(clean_subject):
    cfg, folder, truth = clean_subject
    frames, t = _decode(folder / "vid.avi")
    assert len(frames) == cfg.n_frames
    assert np.allclose(t, np.arange(cfg.n_frames) / cfg.fps, atol=1e-6)  # sane AVI timestamps
    mask = skin_mask(cfg.width, cfg.height)
    skin = mask > 0.5
    far = ~ndimage.binary_dilation(mask > 0, np.ones((25, 25), bool))
    green_skin = frames[:, skin, 1].mean(axis=1)
    green_far = frames[:, far, 1].mean(axis=1)
    assert np.corrcoef(green_skin, truth.ppg)[0, 1] > 0.8
    assert abs(np.corrcoef(green_far, truth.ppg)[0, 1]) < 0.3
    assert abs(estimate_hr(green_skin, fs=cfg.fps).hr_bpm - cfg.hr_bpm) <= 1.0  # HR round trip through pixels
    # strength: about pulse_amplitude peak-to-peak (relative) in green, green strongest, red weakest
    rel = [np.ptp(np.convolve(frames[:, skin, c].mean(axis=1), np.ones(3) / 3, "valid")) / frames[:, skin, c].mean()
           for c in range(3)]
    assert 0.6 * cfg.pulse_amplitude < rel[1] < 1.6 * cfg.pulse_amplitude
    assert rel[1] > rel[2] > rel[0]


def test_ground_truth_txt_round_trips_in_ubfc_format(clean_subject):
    from pseudopulse.datasets.ubfc import UBFCDataset, read_ubfc_ground_truth

    cfg, folder, truth = clean_subject
    text = (folder / "ground_truth.txt").read_text()
    lines = text.split("\n")
    assert len(lines) == 4 and lines[3] == ""  # 3 lines, newline-terminated
    token = re.compile(r"^(?: {2}-| {3})\d\.\d{7}e[+-]\d{2}$")
    for line in lines[:3]:
        assert len(line) == 16 * cfg.n_frames
        assert all(token.match(line[i:i + 16]) for i in range(0, len(line), 16))
    gt = read_ubfc_ground_truth(folder / "ground_truth.txt")
    assert len(gt.ppg) == len(gt.hr_bpm) == len(gt.timestamps_s) == cfg.n_frames
    with open_video(folder / "vid.avi") as video:
        assert sum(1 for _ in video) == len(gt.ppg)
    assert np.allclose(gt.ppg, truth.ppg, rtol=1e-6, atol=1e-7)
    assert np.allclose(gt.hr_bpm, truth.hr_bpm, rtol=1e-6)
    assert np.allclose(gt.timestamps_s, truth.timestamps_s, atol=1e-6)
    assert abs(estimate_hr(gt.ppg, fs=cfg.fps).hr_bpm - cfg.hr_bpm) <= 1.0
    recs = UBFCDataset(folder.parent).recordings()
    assert [r.name for r in recs] == ["subject1"] and recs[0].video_path.name == "vid.avi"


def test_format_matches_the_real_ubfc_files(shared_data, tmp_path):
    real = (shared_data / "real/ubfc_rppg_h264/subject3/ground_truth.txt").read_text().split("\n")
    ours = write_ubfc_dataset(tmp_path, [SynthConfig(duration_s=0.5, **SMALL)])[0]
    mine = (ours / "ground_truth.txt").read_text().split("\n")
    assert len(real) == len(mine) == 4
    for r, m in zip(real[:3], mine[:3]):
        assert len(r) % 16 == 0 and len(m) % 16 == 0
        assert [len(x) for x in re.findall(r" +\S+", r[:160])] == [16] * 10
        assert [len(x) for x in re.findall(r" +\S+", m[:160])] == [16] * 10


def test_area_shrink_is_the_mean_of_the_covered_area():
    """The photo's shrink (600 -> 480 rows, 512 -> 410 columns at 640 x 480): every output pixel is the mean of the
    input area it covers, edge pixels weighted by their overlap; a factor-2 shrink is the 2 x 2 block mean."""
    rng = np.random.default_rng(5)
    img = rng.integers(0, 256, (600, 512, 3)).astype(np.uint8)
    out = resize(img, 410, 480, "area")
    f = img.astype(np.float64)
    for i, j in ((0, 0), (70, 246), (479, 409), (123, 77)):
        y0, y1, x0, x1 = i * 1.25, (i + 1) * 1.25, j * 512 / 410, (j + 1) * 512 / 410
        wy = np.clip(np.minimum(y1, np.arange(600) + 1) - np.maximum(y0, np.arange(600)), 0, None)
        wx = np.clip(np.minimum(x1, np.arange(512) + 1) - np.maximum(x0, np.arange(512)), 0, None)
        expected = np.einsum("y,x,yxc->c", wy, wx, f) / (wy.sum() * wx.sum())
        np.testing.assert_allclose(out[i, j], expected, atol=1e-3)
    half = resize(img, 256, 300, "area")
    np.testing.assert_allclose(half, f.reshape(300, 2, 256, 2, 3).mean(axis=(1, 3)), atol=1e-3)
    with pytest.raises(ValueError, match="only shrinks"):
        resize(img, 600, 700, "area")


def test_frame_warp_shifts_whole_pixels_exactly_and_reflects_at_the_border():
    """A whole-pixel head shift moves the frame by exactly that many pixels; what comes in at the edges is the
    frame mirrored about its edge pixels (reflect-101, as OpenCV's BORDER_REFLECT_101 and NumPy's 'reflect')."""
    rng = np.random.default_rng(3)
    frame = (rng.random((48, 64, 3)) * 255).astype(np.float32)
    warp = FrameWarper(48, 64)
    for dx, dy in ((3, -2), (-7, 5), (0, 0)):
        out = warp(frame, np.array([[1.0, 0.0, dx], [0.0, 1.0, dy]]))
        pad = np.pad(frame, ((10, 10), (10, 10), (0, 0)), mode="reflect")
        expected = pad[10 - dy:10 - dy + 48, 10 - dx:10 - dx + 64]
        np.testing.assert_allclose(out, expected, atol=0.02)


def test_frame_warp_matches_opencv_arithmetic_up_to_its_position_rounding():
    """Rotation + scale + shift of a smooth image: the float warp and face.warp (OpenCV's 1/32-px fixed point)
    differ by at most the local gradient times the ~1/64-px rounding of OpenCV's source positions."""
    yy, xx = np.mgrid[:120, :160].astype(np.float32)
    frame = np.stack([100 + 60 * np.sin(xx / 9.0) * np.cos(yy / 7.0), 80 + xx / 2, 200 - yy], axis=-1).astype(np.float32)
    ang, s = np.deg2rad(5.0), 1.04
    forward = np.array([[s * np.cos(ang), -s * np.sin(ang), 12.3], [s * np.sin(ang), s * np.cos(ang), -8.6]])
    out = FrameWarper(120, 160)(frame, forward)
    ref = warp_affine(frame, invert_affine(forward), (120, 160), "reflect101")
    grad = 60 * (1 / 9 + 1 / 7) + 1  # max |d frame / d px|, any channel
    assert np.abs(out - ref).max() <= grad / 32
    assert np.abs(out - ref).mean() < 0.05


def test_frame_warp_rejects_a_frame_of_another_size():
    with pytest.raises(ValueError, match="FrameWarper"):
        FrameWarper(48, 64)(np.zeros((48, 66, 3), np.float32), np.eye(2, 3))


def test_motion_moves_the_skin_with_the_reported_affine(tmp_path):
    cfg = SynthConfig(hr_bpm=90.0, duration_s=6.0, motion_px=8.0, rotation_deg=4.0, scale_amp=0.03, noise_sigma=1.0,
                      **SMALL)
    truth = render(cfg, tmp_path / "m.mkv")
    frames, _ = _decode(tmp_path / "m.mkv")
    mask = skin_mask(cfg.width, cfg.height)
    moved = np.array([frames[i, warp_affine(mask, invert_affine(truth.affine[i]), (cfg.height, cfg.width)) > 0.9, 1].mean()
                      for i in range(len(frames))])
    fixed = frames[:, mask > 0.5, 1].mean(axis=1)
    assert np.ptp(truth.affine[:, :, 2]) > 4  # it really moves
    assert np.corrcoef(moved, truth.ppg)[0, 1] > 0.8
    assert np.corrcoef(moved, truth.ppg)[0, 1] > np.corrcoef(fixed, truth.ppg)[0, 1] + 0.1


def test_illumination_flicker_and_skin_tone():
    base = SynthConfig(duration_s=8.0, noise_sigma=0.0, pulse_amplitude=0.0, **SMALL)
    mask = skin_mask(base.width, base.height)
    wall = np.zeros(mask.shape, bool)
    wall[5:40, 5:40] = True
    flick = [f[wall, 1].mean() for f in iter_frames(base.replace(flicker_hz=0.8, flicker_amp=0.05))]
    assert abs(heart_rate(np.array(flick), fs=base.fps, band_hz=(0.3, 3.0)) / 60 - 0.8) < 0.02
    steady = [f[wall, 1].mean() for f in iter_frames(base)]
    assert np.ptp(steady) == 0
    first = {tone: next(iter(iter_frames(base.replace(skin_tone=tone, duration_s=0.1)))) for tone in (-1.0, 0.0, 0.5)}
    skin = mask > 0.5
    means = {tone: f[skin].mean() for tone, f in first.items()}
    assert means[-1.0] < 0.6 * means[0.0] < 0.6 * means[0.5]
    assert np.array_equal(first[-1.0][wall], first[0.0][wall])  # the wall is untouched


def test_specular_highlight_brightens_the_face_only_where_it_moves():
    cfg = SynthConfig(duration_s=2.0, noise_sigma=0.0, pulse_amplitude=0.0, **SMALL)
    plain = next(iter(iter_frames(cfg))).astype(np.int16)
    frames = [f.astype(np.int16) for f in iter_frames(cfg.replace(specular=0.4))]
    diff = frames[0] - plain
    assert diff.min() >= 0 and diff.max() > 40
    x0, y0, x1, y1 = make_scene(cfg.width, cfg.height).face_box
    ys, xs = np.nonzero(diff.sum(axis=2) > 30)
    assert x0 - 10 <= xs.mean() <= x1 + 10 and y0 - 10 <= ys.mean() <= y1 + 10
    assert not np.array_equal(frames[0], frames[-1])


# ------------------------------------------------------------------ compression


def test_higher_crf_gives_a_smaller_file(tmp_path):
    sizes = []
    for crf in (None, 10, 23, 35):
        path = tmp_path / f"c{crf}.mp4"
        render(SynthConfig(duration_s=2.0, crf=crf, noise_sigma=2.0, **SMALL), path)
        sizes.append(path.stat().st_size)
    assert all(a > b for a, b in zip(sizes, sizes[1:])), sizes


# ------------------------------------------------------------------ suite


def test_suite_is_seeded_and_spans_the_benchmark_conditions():
    a, b, c = make_suite(30, seed=0), make_suite(30, seed=0), make_suite(30, seed=1)
    assert a == b and a != c
    hr = np.array([x.hr_bpm for x in a])
    assert hr.min() < 50 and hr.max() > 145 and np.all((hr >= 45) & (hr <= 150))
    assert len(np.unique(np.round(hr))) == 30
    assert {x.crf for x in a} >= {0, 18, 23, 28}
    assert sum(x.motion_px == 0 for x in a) >= 5 and sum(x.motion_px > 5 for x in a) >= 5
    assert sum(x.illumination_amp > 0 for x in a) >= 10 and sum(x.flicker_amp > 0 for x in a) >= 5
    assert min(x.skin_tone for x in a) < -0.6 and max(x.skin_tone for x in a) > 0.2
    assert len({x.seed for x in a}) == 30
    demo = demo_config()
    assert demo.hr_bpm == 74.0 and (demo.width, demo.height) == (640, 480) and demo.duration_s >= 10


def test_hidden_spans_show_the_bare_wall_and_bad_spans_are_refused():
    cfg = SynthConfig(duration_s=2.0, fps=30.0, width=160, height=120, noise_sigma=0.0, hide_spans_s=((0.5, 1.0),))
    frames = np.stack(list(iter_frames(cfg))).astype(np.float64)
    t = np.arange(cfg.n_frames) / 30.0
    hidden = (t >= 0.5) & (t < 1.0)
    assert np.abs(frames[hidden] - frames[hidden][0]).max() <= 1  # a still wall, no pulsing face
    assert np.abs(frames[~hidden].mean(axis=0) - frames[hidden][0]).mean() > 10  # the face covers part of it
    for bad in (((3.0, 1.0),), ((0.0, float("nan")),), ("x",)):
        with pytest.raises(SynthConfigError, match="hide_spans_s"):
            SynthConfig(hide_spans_s=bad)


def test_i420_of_the_primaries_is_the_bt601_table():
    """RGB -> I420 (limited-range BT.601, OpenCV's fixed point): black, white and the primaries land on the
    textbook Y'CbCr values (Y 16..235, chroma 16..240 around 128)."""
    from pseudopulse.synth.encode import rgb_to_i420

    colours = {(0, 0, 0): (16, 128, 128), (255, 255, 255): (235, 128, 128), (255, 0, 0): (82, 90, 240),
               (0, 255, 0): (145, 54, 34), (0, 0, 255): (41, 240, 110)}
    for rgb, yuv in colours.items():
        out = rgb_to_i420(np.full((4, 6, 3), rgb, np.uint8))
        assert (out[:4] == yuv[0]).all() and (out[4:5] == yuv[1]).all() and (out[5:] == yuv[2]).all(), (rgb, out[:, 0])
