"""Video input: frames + timestamps from files and frame folders; clear errors on bad input."""

import warnings

import av
import numpy as np
import pytest
from PIL import Image

from fixtures_layouts import encode_frames

from pseudopulse.errors import VideoError
from pseudopulse.io import open_video


def write_video(path, n=30, fps=30, size=(64, 48), codec="libx264", times_s=None, options=None):
    """Write ``n`` frames whose mean brightness encodes the frame index; ``times_s`` gives VFR timestamps."""
    w, h = size
    frames = (np.full((h, w, 3), 20 + 4 * (i % 50), np.uint8) for i in range(n))
    pix_fmt = {"ffv1": "yuv444p", "mjpeg": "yuvj420p"}.get(codec, "yuv420p")
    return encode_frames(path, frames, fps=fps, size=size, codec=codec, pix_fmt=pix_fmt, times_s=times_s, options=options)


@pytest.mark.parametrize("suffix,codec", [(".mp4", "libx264"), (".avi", "mjpeg"), (".mkv", "ffv1")])
def test_reads_frames_and_timestamps(tmp_path, suffix, codec):
    path = write_video(tmp_path / f"v{suffix}", n=45, fps=30, codec=codec)
    with open_video(path) as r:
        frames = list(r)
        assert r.info.width == 64 and r.info.height == 48
        assert r.info.fps_nominal == pytest.approx(30)
    assert len(frames) == 45
    ts = np.array([f.t_s for f in frames])
    assert ts[0] == 0.0
    np.testing.assert_allclose(np.diff(ts), 1 / 30, atol=2e-3)
    assert frames[0].rgb.dtype == np.uint8 and frames[0].rgb.shape == (48, 64, 3)
    assert frames[0].rgb.flags["C_CONTIGUOUS"]
    means = np.array([f.rgb.mean() for f in frames])
    np.testing.assert_allclose(means, 20 + 4 * (np.arange(45) % 50), atol=3)


def test_variable_frame_rate_keeps_real_timestamps(tmp_path):
    rng = np.random.default_rng(0)
    times = np.cumsum(rng.uniform(0.02, 0.06, 40))
    times -= times[0]
    path = write_video(tmp_path / "vfr.mkv", n=40, fps=30, times_s=times, codec="ffv1")
    with open_video(path) as r:
        ts = np.array([f.t_s for f in r])
    np.testing.assert_allclose(ts, times, atol=2e-3)


def test_frame_folder_with_nanosecond_names(tmp_path):
    t0 = 1392643993642815000
    step = 33_333_333
    for i in range(10):
        Image.fromarray(np.full((8, 8, 3), i * 10, np.uint8)).save(tmp_path / f"Image{t0 + i * step}.png")
    with open_video(tmp_path) as r:
        frames = list(r)
    assert len(frames) == 10
    np.testing.assert_allclose([f.t_s for f in frames], np.arange(10) * step / 1e9, atol=1e-6)
    assert frames[3].rgb[0, 0, 0] == 30


def test_frame_folder_without_timestamps_needs_fps(tmp_path):
    for i in range(5):
        Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / f"frame_{i:03d}.png")
    with pytest.raises(VideoError, match="fps"):
        open_video(tmp_path)
    with open_video(tmp_path, fps=25) as r:
        assert [round(f.t_s, 3) for f in r] == [0.0, 0.04, 0.08, 0.12, 0.16]


def test_missing_file(tmp_path):
    with pytest.raises(VideoError, match="no such file"):
        open_video(tmp_path / "nope.mp4")


def test_not_a_video(tmp_path):
    p = tmp_path / "notes.mp4"
    p.write_text("this is not a video\n" * 50)
    with pytest.raises(VideoError, match="notes.mp4"):
        with open_video(p) as r:
            list(r)


def test_audio_only_file(tmp_path):
    p = tmp_path / "sound.wav"
    with av.open(str(p), "w") as c:
        s = c.add_stream("pcm_s16le", rate=8000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 800), np.int16), format="s16", layout="mono")
        frame.sample_rate = 8000
        for pkt in s.encode(frame):
            c.mux(pkt)
    with pytest.raises(VideoError, match="no video stream"):
        open_video(p)


def test_empty_folder(tmp_path):
    with pytest.raises(VideoError, match="no image frames"):
        open_video(tmp_path)


def test_truncated_file_decodes_what_it_can(tmp_path):
    path = write_video(tmp_path / "full.avi", n=60, fps=30, size=(160, 120), codec="mjpeg")
    data = path.read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[: len(data) // 2])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with open_video(cut) as r:
            n = sum(1 for _ in r)
    assert 10 < n < 60
    messages = [str(w.message) for w in caught]
    assert any("cut.avi" in m and f"after {n} frames" in m and "lost" in m for m in messages), messages


def test_atomic_write_gives_normal_file_mode(tmp_path):
    import os

    from pseudopulse.io import atomic_write_text

    atomic_write_text(tmp_path / "a.txt", "x")
    mask = os.umask(0)
    os.umask(mask)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o666 & ~mask
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]  # no temporary file left behind


def test_frames_equal_pyav_conversion_when_two_videos_are_read_in_turn(tmp_path):
    """One libswscale set-up is kept per thread and reused: reading videos of other sizes, pixel formats and colour
    ranges in turn still gives each frame exactly PyAV's own RGB conversion."""
    rng = np.random.default_rng(0)
    specs = [("a.mp4", "libx264", "yuv420p", (64, 48)), ("b.avi", "mjpeg", "yuvj420p", (80, 64)), ("c.mkv", "ffv1", "yuv444p", (48, 32))]
    paths = []
    for name, codec, pix_fmt, (w, h) in specs:
        frames = [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for _ in range(4)]
        paths.append(encode_frames(tmp_path / name, frames, fps=30, size=(w, h), codec=codec, pix_fmt=pix_fmt))
    want = []
    for p in paths:
        with av.open(str(p)) as c:
            want.append([f.to_ndarray(format="rgb24") for f in c.decode(video=0)])
    readers = [open_video(p) for p in paths]
    try:
        for got in zip(*readers):  # interleaved: a, b, c, a, b, c, ...
            for k, fr in enumerate(got):
                np.testing.assert_array_equal(fr.rgb, want[k][fr.index])
                assert fr.rgb.flags.c_contiguous
    finally:
        for r in readers:
            r.close()
