"""extract_stmap: file input, full-frame ROI, YUV, caching (hits, corruption, keys), errors."""

import numpy as np
import pytest

from pseudopulse.errors import FaceError, VideoError
from pseudopulse.face import rgb_to_yuv
from pseudopulse.signal import bandpass
from pseudopulse.stmap import STMap, extract_stmap, extract_stmap_from_frames
from pseudopulse.stmap import cache as stmap_cache
from pseudopulse.synth import SynthConfig, render

FPS = 30.0


@pytest.fixture(scope="module")
def face_clip(tmp_path_factory):
    cfg = SynthConfig(duration_s=4.0, fps=FPS, width=320, height=240, hr_bpm=90.0, pulse_amplitude=0.03, crf=12,
                      motion_px=12.0, rotation_deg=8.0, scale_amp=0.06, motion_hz=0.25)  # fmt: skip
    path = tmp_path_factory.mktemp("clip") / "hopper.mp4"
    return path, render(cfg, path)


def _arrays_equal(a: STMap, b: STMap):
    for k, v in a.to_npz_dict().items():
        np.testing.assert_array_equal(v, b.to_npz_dict()[k], err_msg=k)


def test_extract_from_an_h264_file_recovers_the_pulse(face_clip):
    path, spec = face_clip
    st = extract_stmap(path)
    assert st.n_frames == spec.n_frames and st.valid.all()
    np.testing.assert_allclose(st.timestamps_s, spec.timestamps_s, atol=1e-6)
    assert abs(st.fs - FPS) < 1e-6
    g = bandpass(st.skin_mean[:, 1].astype(np.float64), FPS, band_hz=(0.7, 3.0))
    assert np.corrcoef(g, bandpass(spec.ppg, FPS, band_hz=(0.7, 3.0)))[0, 1] > 0.9
    assert st.meta["source"] == str(path) and st.meta["detector"].startswith("mediapipe")


def test_cache_hit_is_identical_and_a_corrupt_entry_is_rebuilt(face_clip, tmp_path):
    path, _ = face_clip
    calls = []
    first = extract_stmap(path, cache_dir=tmp_path, progress=lambda d, t: calls.append((d, t)))
    assert first.meta["cache"] == "miss" and calls and calls[-1][0] == first.n_frames
    (entry,) = tmp_path.glob("stmap-*.npz")
    hit = extract_stmap(path, cache_dir=tmp_path)
    assert hit.meta["cache"] == "hit" and hit.meta["n_keyframes"] == first.meta["n_keyframes"]
    _arrays_equal(first, hit)
    # truncate the entry: it must be detected and rebuilt, not crash
    entry.write_bytes(entry.read_bytes()[:200])
    rebuilt = extract_stmap(path, cache_dir=tmp_path)
    assert rebuilt.meta["cache"] == "miss"
    _arrays_equal(first, rebuilt)
    assert extract_stmap(path, cache_dir=tmp_path).meta["cache"] == "hit"
    # garbage bytes too
    entry.write_bytes(b"not a zip file at all")
    assert extract_stmap(path, cache_dir=tmp_path).meta["cache"] == "miss"


def test_cache_key_changes_with_parameters_content_and_code_version(face_clip, tmp_path, monkeypatch):
    path, _ = face_clip
    base = {"roi": "face", "grid": [5, 5]}
    k = stmap_cache.cache_key(path, base)
    assert k == stmap_cache.cache_key(path, dict(base))
    assert k != stmap_cache.cache_key(path, {**base, "grid": [4, 4]})
    copy = tmp_path / "copy.mp4"
    copy.write_bytes(path.read_bytes() + b"\0")
    assert k != stmap_cache.cache_key(copy, base)
    monkeypatch.setattr(stmap_cache, "STMAP_CODE_VERSION", "other")
    assert k != stmap_cache.cache_key(path, base)


def test_cache_keeps_face_backends_apart(face_clip, tmp_path, monkeypatch):
    """An STMap made with one face runtime is not served for another ($PSEUDOPULSE_FACE_BACKEND switched between
    runs): their maps differ slightly, enough to flip ambiguous 10-s clips."""
    from pseudopulse.face.runtime import ENV_VAR, litert_available

    if not litert_available():
        pytest.skip("needs the litert face backend beside torch")
    path, _ = face_clip
    monkeypatch.setenv(ENV_VAR, "torch")
    torch_map = extract_stmap(path, cache_dir=tmp_path)
    monkeypatch.setenv(ENV_VAR, "litert")
    litert_map = extract_stmap(path, cache_dir=tmp_path)
    assert litert_map.meta["cache"] == "miss" and len(list(tmp_path.glob("stmap-*.npz"))) == 2
    assert torch_map.meta["detector"].endswith("-torch") and litert_map.meta["detector"].endswith("-litert")
    monkeypatch.setenv(ENV_VAR, "torch")
    assert extract_stmap(path, cache_dir=tmp_path).meta["detector"].endswith("-torch")


def test_cache_entry_with_inconsistent_shapes_is_a_miss(tmp_path):
    st = extract_stmap_from_frames([np.full((8, 8, 3), 50, np.uint8)] * 4, fps=FPS, roi="full-frame")
    entry = tmp_path / "x.npz"
    stmap_cache.save_cached(entry, "key", st)
    assert stmap_cache.load_cached(entry, "key") is not None
    assert stmap_cache.load_cached(entry, "other-key") is None
    d = dict(np.load(entry))
    d["skin_mean"] = d["skin_mean"][:2]  # T mismatch
    np.savez(entry, **d)
    assert stmap_cache.load_cached(entry, "key") is None


def test_full_frame_roi_gives_exact_block_means_of_synthetic_frames():
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (12, 20, 30, 3), dtype=np.uint8)
    st = extract_stmap_from_frames(list(frames), fps=15.0, roi="full-frame", grid=(2, 3))
    assert st.values.shape == (12, 6, 3) and st.valid.all() and st.meta["detector"] is None
    want = frames.reshape(12, 2, 10, 3, 10, 3).astype(np.float64).mean(axis=(2, 4)).reshape(12, 6, 3)
    np.testing.assert_allclose(st.values, want, rtol=1e-6)
    np.testing.assert_allclose(st.skin_mean, frames.reshape(12, -1, 3).mean(1), rtol=1e-6)
    assert (st.skin_count == 600).all()
    np.testing.assert_allclose(st.timestamps_s, np.arange(12) / 15.0)


def test_full_frame_roi_from_a_lossless_file(tmp_path):
    import av

    rng = np.random.default_rng(1)
    frames = rng.integers(0, 256, (10, 40, 50, 3), dtype=np.uint8)
    path = tmp_path / "skin.mkv"
    with av.open(str(path), "w") as out:
        s = out.add_stream("ffv1", rate=15)
        s.width, s.height, s.pix_fmt = 50, 40, "bgr0"
        for f in frames:
            out.mux(s.encode(av.VideoFrame.from_ndarray(f, format="rgb24")))
        out.mux(s.encode())
    st = extract_stmap(path, roi="full-frame", grid=(1, 1))
    np.testing.assert_allclose(st.values[:, 0], frames.reshape(10, -1, 3).mean(1), rtol=1e-6)


def test_yuv_converts_block_means_only():
    frames = [np.full((10, 10, 3), (200, 120, 90), np.uint8)] * 3
    rgb = extract_stmap_from_frames(frames, fps=FPS, roi="full-frame")
    yuv = extract_stmap_from_frames(frames, fps=FPS, roi="full-frame", colorspace="yuv")
    assert yuv.colorspace == "yuv"
    np.testing.assert_allclose(yuv.values, rgb_to_yuv(rgb.values), rtol=1e-6)
    np.testing.assert_array_equal(yuv.skin_mean, rgb.skin_mean)
    r, g, b = 200.0, 120.0, 90.0
    y = 0.299 * r + 0.587 * g + 0.114 * b  # BT.601 luma; U, V = scaled colour differences + 128
    np.testing.assert_allclose(yuv.values[0, 0], [y, 0.492 * (b - y) + 128, 0.877 * (r - y) + 128], atol=0.05)


def test_faceless_video_file_raises_face_error_naming_the_path(tmp_path):
    path = tmp_path / "empty.mp4"
    render(SynthConfig(duration_s=1.0, fps=FPS, width=160, height=120, hide_spans_s=((0.0, 5.0),)), path)
    with pytest.raises(FaceError) as e:
        extract_stmap(path)
    assert str(path) in str(e.value) and "--roi full-frame" in str(e.value)


def test_bad_arguments_are_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="roi must be one of"):
        extract_stmap_from_frames([], roi="forehead")
    with pytest.raises(ValueError, match="colorspace"):
        extract_stmap_from_frames([], colorspace="hsv")
    with pytest.raises(VideoError, match="fps"):
        extract_stmap_from_frames([np.zeros((8, 8, 3), np.uint8)], roi="full-frame")
    with pytest.raises(VideoError, match="no such file"):
        extract_stmap(tmp_path / "missing.mp4")
    with pytest.raises(VideoError, match="no frames"):
        extract_stmap_from_frames([], fps=FPS, roi="full-frame")


def test_preprocess_benchmark_writes_markdown_and_json(face_clip, tmp_path):
    import json

    from pseudopulse.bench.preprocess import run_preprocess_benchmark

    path, spec = face_clip
    res = run_preprocess_benchmark(path, tmp_path, repeats=1, variants=((10, 64),))
    assert res.n_frames == spec.n_frames and res.decode_fps > 0 and res.main.fps > 0
    assert abs(res.main.ratio - res.main.fps / res.decode_fps) < 1e-9 and res.main.valid_fraction == 1.0
    data = json.loads((tmp_path / "preprocess.json").read_text())
    assert data["extract"][0]["detect_every"] == 10 and data["clip_source"] == "given"
    assert "frames/s" in (tmp_path / "preprocess.md").read_text()


def test_benchmark_preprocess_cli_rejects_a_missing_video(tmp_path):
    from typer.testing import CliRunner

    from pseudopulse.cli import app

    r = CliRunner().invoke(app, ["benchmark", "preprocess", "--video", str(tmp_path / "nope.mp4"), "--out", str(tmp_path)])
    assert r.exit_code == 2 and "no such file" in r.output


@pytest.mark.parametrize("n, hint", [(50, 50), (50, None), (5000, 100), (5000, 4900), (30, 200), (9000, 20000)])
def test_columns_keep_every_frame_whatever_the_declared_count(n, hint):
    """The per-frame columns hold every frame in order whether the container's frame count is right, too low, too
    high or missing; a video that keeps its word is handed over without a second copy."""
    from types import SimpleNamespace

    from pseudopulse.stmap.extract import _Columns

    cols = _Columns(2, frames_hint=hint)
    for i in range(n):
        st = None if i % 7 == 3 else SimpleNamespace(values=np.full((2, 3), i, np.float32), skin_mean=np.full(3, i),
                                                      skin_corr=np.eye(3), skin_count=i)  # fmt: skip
        cols.add(i / 30.0, st)
    m = cols.to_stmap((1, 2), "rgb", {})
    assert m.n_frames == n and np.allclose(m.timestamps_s, np.arange(n) / 30.0)
    ok = np.arange(n) % 7 != 3
    assert np.array_equal(m.valid, ok) and np.all(np.isnan(m.values[~ok]))
    assert np.array_equal(m.values[ok, 0, 0], np.arange(n)[ok]) and np.array_equal(m.skin_count[ok], np.arange(n)[ok])
