"""The bad-input zoo: odd, damaged and hostile inputs to ``pseudopulse predict``, each generated here.

Every case ends one of two ways, never with a traceback or a silently wrong number:
- refused: exit code 2 and exactly one stderr line naming the input and the problem;
- read with its loss stated: exit 0, a warning line on stderr naming the input and ``frames_lost`` / ``gaps_s`` /
  ``face_lost_s`` in ``--json`` — from a fresh run and again from a cache hit;
or, for sound inputs, exit 0 with nothing lost and the known heart rate.

``PSEUDOPULSE_ZOO_TABLE=docs/reliability.md pytest tests/test_zoo.py`` rewrites the table in docs/reliability.md.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

import zoo_inputs as z
from pseudopulse.cli import app

FAST = ["--roi", "full-frame", "--method", "pos", "--json", "--no-progress"]
RESULTS: dict[str, tuple[str, str]] = {}  # case id -> (expected, observed), for docs/reliability.md


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str
    exception: BaseException | None

    @property
    def lines(self) -> list[str]:
        return [ln for ln in self.stderr.splitlines() if ln.strip()]

    @property
    def json(self) -> dict:
        return json.loads(self.stdout)


def cli(*args) -> Run:
    r = CliRunner().invoke(app, ["predict", *map(str, args)])
    return Run(r.exit_code, r.stdout, r.stderr, r.exception)


def no_traceback(run: Run) -> None:
    assert "Traceback" not in run.stderr + run.stdout, run.stderr
    assert run.exception is None or isinstance(run.exception, SystemExit), repr(run.exception)


def assert_refused(case: str, run: Run, name: str, *words: str) -> None:
    no_traceback(run)
    assert run.code == 2, (run.code, run.stdout[:300], run.stderr)
    assert len(run.lines) == 1, run.lines
    line = run.lines[0]
    assert line.startswith("error:") and name in line, line
    for w in words:
        assert re.search(w, line, re.I), (w, line)
    assert run.stdout.strip() == ""
    RESULTS[case] = ("refused", line)


def assert_loss_stated(case: str, path: Path, *args, cache: Path, face: bool = False) -> dict:
    """Fresh run, then a cache hit: both succeed, both warn naming the file and report the same loss in JSON."""
    seen = []
    for run_no in (1, 2):
        run = cli(path, *args, "--cache-dir", cache)
        no_traceback(run)
        assert run.code == 0, run.stderr
        d = run.json
        warn = [ln for ln in run.lines if ln.startswith("warning:") and path.name in ln]
        if face:
            assert d["face_lost_s"] > 0
            assert warn and "no face" in warn[0], run.lines
        else:
            assert d["frames_lost"] and d["frames_lost"] > 0, d
            assert warn and "lost" in warn[0], run.lines
            assert d["read_warning"] and path.name in d["read_warning"]
        seen.append((d["frames_lost"], d["gaps_s"], d["face_lost_s"], warn, d["hr_bpm"]))
    assert seen[0] == seen[1], seen  # the cache hit states the same loss
    lost, gaps, face_lost, warn, hr = seen[0]
    RESULTS[case] = ("loss stated", f"hr {hr} bpm; frames_lost {lost}; gaps_s {gaps}; face_lost_s {face_lost}"
                     + (f"; {warn[0][:150]}" if warn else ""))  # fmt: skip
    return d


def assert_ok(case: str, path: Path, *args, fps: float | None = None, hr_tol: float | None = 3.0,
              fps_tol: float = 0.01) -> dict:  # fmt: skip
    run = cli(path, *args)
    no_traceback(run)
    assert run.code == 0, run.stderr
    d = run.json
    assert d["frames_lost"] == 0 and d["gaps_s"] == [] and not d["read_warning"], d
    assert not [ln for ln in run.lines if ln.startswith("warning:")], run.lines
    if fps is not None:
        assert d["fps"] == pytest.approx(fps, abs=fps_tol), d["fps"]  # ms time bases (mkv, webm) give 29.998
    if hr_tol is not None:
        assert abs(d["hr_bpm"] - z.HR_BPM) <= hr_tol, d["hr_bpm"]
    RESULTS[case] = ("ok", f"hr {d['hr_bpm']} bpm, fps {d['fps']}, {d['n_frames']} frames, nothing lost")
    return d


def refused_or_loss(case: str, path: Path, cache: Path, *args, n_frames: int | None = None) -> str:
    """Damaged input: either refused in one line or read with the loss stated (fresh and cached). Never silent: a
    run that states no loss must have every one of the ``n_frames`` frames (a cut that only took the index)."""
    run = cli(path, *FAST, *args, "--cache-dir", cache)
    no_traceback(run)
    if run.code == 2:
        assert_refused(case, run, path.name)
        return "refused"
    assert run.code == 0, run.stderr
    if not run.json["frames_lost"] and n_frames is not None and run.json["n_frames"] == n_frames:
        RESULTS[case] = ("complete", f"all {n_frames} frames decoded (only the index was cut); nothing lost")
        return "complete"
    assert_loss_stated(case, path, *FAST, *args, cache=cache)
    return "loss"


@pytest.fixture(scope="module", autouse=True)
def _zoo_table():
    yield
    target = os.environ.get("PSEUDOPULSE_ZOO_TABLE")
    if target and RESULTS:
        write_table(Path(target))


def write_table(path: Path) -> None:
    begin, end = "<!-- zoo-table:begin -->", "<!-- zoo-table:end -->"
    rows = ["| case | outcome | what pseudopulse said |", "| --- | --- | --- |"]
    for case in sorted(RESULTS):
        kind, text = RESULTS[case]
        text = text.replace("|", "/").replace(str(Path.cwd()), ".")
        text = re.sub(r"/tmp/\S*/", "", text)
        rows.append(f"| `{case}` | {kind} | {text} |")
    table = "\n".join(rows)
    doc = path.read_text() if path.exists() else f"{begin}\n{end}\n"
    a, b = doc.index(begin) + len(begin), doc.index(end)
    path.write_text(doc[:a] + "\n" + table + "\n" + doc[b:])


# ------------------------------------------------------------------------------------------ sound inputs
CONTAINERS = {
    "mp4-index-last": ("a.mp4", dict(codec="libx264", pix_fmt="yuv444p", options={"qp": "0"})),
    "mp4-index-first": ("a.mp4", dict(codec="libx264", pix_fmt="yuv444p", options={"qp": "0"},
                                      container_options={"movflags": "+faststart"})),
    "mkv-ffv1": ("a.mkv", dict()),
    "avi-mjpeg": ("a.avi", dict(codec="mjpeg", pix_fmt="yuvj444p", options={"q:v": "1"})),
    "webm-vp9": ("a.webm", dict(codec="libvpx-vp9", pix_fmt="yuv444p", options={"lossless": "1"})),
    "mov-h264": ("a.mov", dict(codec="libx264", pix_fmt="yuv444p", options={"qp": "0"})),
    "avi-rawvideo-bgr24": ("a.avi", dict(codec="rawvideo", pix_fmt="bgr24")),
    "mov-png-rgb24": ("a.mov", dict(codec="png", pix_fmt="rgb24")),
    "mkv-10bit": ("a.mkv", dict(pix_fmt="yuv444p10le")),
    "mkv-yuv420p": ("a.mkv", dict(pix_fmt="yuv420p")),
    "mp4-hevc": ("a.mp4", dict(codec="libx265", pix_fmt="yuv444p", options={"x265-params": "lossless=1:log-level=none"})),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(CONTAINERS))
def test_sound_containers_and_pixel_formats_read_right(case, tmp_path):
    name, kw = CONTAINERS[case]
    path = z.clip(tmp_path / name, seconds=6, **kw)
    assert_ok(f"container/{case}", path, *FAST, fps=30.0)


@pytest.mark.parametrize("fps", [5, 15, 60, 240])
def test_frame_rates_5_to_240(fps, tmp_path):
    path = z.clip(tmp_path / f"r{fps}.mkv", seconds=6 if fps < 200 else 5.5, fps=fps)
    if fps == 5:  # the default band reaches 3 Hz, above 5 fps's Nyquist rate: refused, and fine with a lower band
        assert_refused("rate/5-fps-default-band", cli(path, *FAST), path.name, "fs/2", "band")
        assert_ok("rate/5-fps-band-0.7-2.4", path, *FAST, "--band", "0.7", "2.4", fps=5.0)
    else:
        assert_ok(f"rate/{fps}-fps", path, *FAST, fps=float(fps))


@pytest.mark.parametrize("size", [(16, 12), (63, 47), (1280, 720)])
def test_tiny_odd_and_large_frames(size, tmp_path):
    if size[0] < 1000:
        assert_ok(f"size/{size[0]}x{size[1]}", z.clip(tmp_path / "s.mkv", seconds=6, size=size), *FAST)
    else:  # large frames kept cheap: 6 fps, a band below its Nyquist rate
        path = z.clip(tmp_path / "s.mkv", seconds=5.5, fps=6, size=size, pix_fmt="yuv420p")
        assert_ok(f"size/{size[0]}x{size[1]}", path, *FAST, "--band", "0.7", "2.9")


def test_variable_frame_rate_keeps_its_times(tmp_path):
    rng = np.random.default_rng(3)
    times = np.cumsum(rng.uniform(0.025, 0.045, 200))
    path = z.clip_with_times(tmp_path / "vfr.mkv", times - times[0])
    d = assert_ok("timing/variable-frame-rate", path, *FAST)
    assert d["fps"] == pytest.approx(199 / (times[-1] - times[0]), rel=0.01)


def test_avi_with_b_frames_reads_exactly_30_fps(tmp_path):
    path = z.clip(tmp_path / "b.avi", seconds=8, codec="mpeg4", pix_fmt="yuv420p", options={"bf": "2", "qscale": "2", "flags": "+qscale"})
    import av

    with av.open(str(path)) as c:  # the file really has reordered frames
        pts = [p.pts for p in c.demux(c.streams.video[0]) if p.pts is not None]
    assert any(b < a for a, b in zip(pts, pts[1:]))
    assert_ok("timing/avi-b-frames", path, *FAST, fps=30.0, fps_tol=5e-4, hr_tol=None)


def test_rotation_metadata_is_applied(tmp_path):
    path = z.face_clip(tmp_path / "rot.mp4", seconds=6, rotate=90)
    assert_ok("face/rotated-90-with-metadata", path, "--method", "pos", "--json", "--no-progress")


def test_palette_frames_in_a_folder(tmp_path):
    folder = z.frame_folder(tmp_path / "pal", n=90, fps=15)
    for p in folder.iterdir():
        Image.open(p).convert("P", palette=Image.ADAPTIVE, colors=256).save(p)
    assert_ok("folder/palette-png", folder, *FAST, "--fps", "15", hr_tol=None)


# ------------------------------------------------------------------------------------------ damaged files
@pytest.mark.parametrize("fraction", [0.45, 0.6, 0.73, 0.88, 0.97])
@pytest.mark.parametrize("kind", ["avi-mjpeg", "mkv-ffv1", "mp4-index-first", "webm-vp9"])
def test_truncated_files_say_what_was_lost(kind, fraction, tmp_path):
    name, kw = {"avi-mjpeg": ("t.avi", dict(codec="mjpeg", pix_fmt="yuvj444p")), "mkv-ffv1": ("t.mkv", {}),
                "mp4-index-first": ("t.mp4", CONTAINERS["mp4-index-first"][1]),
                "webm-vp9": ("t.webm", CONTAINERS["webm-vp9"][1])}[kind]  # fmt: skip
    full = z.clip(tmp_path / f"full_{name}", seconds=12, **kw)
    cut = z.truncate(full, tmp_path / name, fraction)
    refused_or_loss(f"truncated/{kind}@{int(fraction * 100)}%", cut, tmp_path / "cache", n_frames=360)


@pytest.mark.slow
def test_avi_truncated_at_many_points_never_crashes(tmp_path):
    full = z.clip(tmp_path / "full.avi", seconds=8, codec="mjpeg", pix_fmt="yuvj444p")
    outcomes = set()
    for i, fraction in enumerate(np.linspace(0.05, 0.99, 14)):
        cut = z.truncate(full, tmp_path / f"cut{i}.avi", fraction)
        outcomes.add(refused_or_loss(f"truncated/avi-sweep-{i:02d}", cut, tmp_path / "cache", n_frames=240))
        RESULTS.pop(f"truncated/avi-sweep-{i:02d}")
    RESULTS["truncated/avi-mjpeg-14-points"] = ("refused or loss stated", " / ".join(sorted(outcomes)))


def test_mp4_with_index_last_cut_is_refused(tmp_path):
    full = z.clip(tmp_path / "full.mp4", seconds=6, codec="libx264", pix_fmt="yuv420p")
    assert_refused("truncated/mp4-index-last@50%", cli(z.truncate(full, tmp_path / "cut.mp4", 0.5), *FAST), "cut.mp4",
                   "readable|decoded|moov")  # fmt: skip


@pytest.mark.parametrize("container", ["mkv", "avi"])
def test_64kb_of_garbage_mid_file_is_found(container, tmp_path):
    kw = {} if container == "mkv" else dict(codec="mjpeg", pix_fmt="yuvj444p")
    full = z.clip(tmp_path / f"full.{container}", seconds=12, size=(160, 120), **kw)
    bad = z.insert_garbage(full, tmp_path / f"junk.{container}", 0.5, 64 * 1024)
    refused_or_loss(f"corrupt/{container}-64KB-garbage-inserted", bad, tmp_path / "cache")


def test_overwritten_bytes_mid_mkv_are_found(tmp_path):
    full = z.clip(tmp_path / "full.mkv", seconds=12, size=(160, 120))
    bad = z.insert_garbage(full, tmp_path / "over.mkv", 0.4, 20000, replace=True)
    refused_or_loss("corrupt/mkv-20KB-overwritten", bad, tmp_path / "cache")


def test_mkv_cut_in_half_states_the_loss(tmp_path):
    full = z.clip(tmp_path / "full.mkv", seconds=12)
    cut = z.truncate(full, tmp_path / "half.mkv", 0.5)
    d = assert_loss_stated("truncated/mkv-cut-in-half", cut, *FAST, cache=tmp_path / "cache")
    assert d["missing_end_s"] > 4.0 and d["fps"] == pytest.approx(30.0, abs=0.05)


@pytest.mark.parametrize("what,data", [("empty", b""), ("text", b"this is not a video\n" * 50),
                                       ("header-zeroed", None)])  # fmt: skip
def test_not_a_video_is_refused(what, data, tmp_path):
    path = tmp_path / f"{what}.mp4"
    if data is None:
        full = z.clip(tmp_path / "full.mkv", seconds=6)
        raw = bytearray(full.read_bytes())
        raw[:4096] = bytes(4096)
        path = tmp_path / f"{what}.mkv"
        path.write_bytes(bytes(raw))
    else:
        path.write_bytes(data)
    assert_refused(f"corrupt/{what}", cli(path, *FAST), path.name)


# ------------------------------------------------------------------------------------------ timing damage
def test_3s_timestamp_jump_in_mkv_is_refused_with_the_gap(tmp_path):
    t = np.arange(600) / 30
    t[300:] += 3.0
    path = z.clip_with_times(tmp_path / "jump.mkv", t)
    assert_refused("timing/mkv-3s-timestamp-jump", cli(path, *FAST), "jump.mkv", r"3\.0 s .*missing", "9.97")


def test_short_gap_of_dropped_frames_is_stated(tmp_path):
    t = np.delete(np.arange(330) / 30, np.arange(150, 165))  # 15 frames (0.5 s) dropped
    path = z.clip_with_times(tmp_path / "drop.mkv", t)
    d = assert_loss_stated("timing/mkv-0.5s-dropped", path, *FAST, cache=tmp_path / "cache")
    assert d["frames_lost"] == 15 and len(d["gaps_s"]) == 1 and d["fps"] == pytest.approx(30.0, abs=0.05)


def test_scattered_dropped_frames_keep_the_right_rate(tmp_path):
    keep = np.ones(330, bool)
    keep[np.arange(20, 320, 25)] = False  # 12 single frames dropped
    path = z.clip_with_times(tmp_path / "holes.mkv", (np.arange(330) / 30)[keep])
    d = assert_loss_stated("timing/mkv-12-single-drops", path, *FAST, cache=tmp_path / "cache")
    assert d["frames_lost"] == 12 and d["fps"] == pytest.approx(30.0, abs=0.05)


def test_duplicate_timestamps_are_dropped_and_counted(tmp_path):
    t = np.arange(300) / 30
    t[100:106] = t[99]  # the muxer wrote one time six more times
    t[106:] -= 0  # (the rest keep their times)
    path = z.clip_with_times(tmp_path / "dup.mkv", t, codec="ffv1")
    d = assert_loss_stated("timing/mkv-duplicate-timestamps", path, *FAST, cache=tmp_path / "cache")
    assert d["duplicate_timestamps"] == 6 and d["frames_lost"] == 6  # the dropped frames open one gap: counted once


# ------------------------------------------------------------------------------------------ faces
def test_face_hidden_briefly_is_marked_lost_not_bridged(tmp_path):
    path = z.face_clip(tmp_path / "hide.mp4", seconds=8, hide=((3.0, 3.8),))
    d = assert_loss_stated("face/hidden-0.8s", path, "--method", "pos", "--json", "--no-progress", cache=tmp_path / "c",
                           face=True)  # fmt: skip
    assert 0.6 <= d["face_lost_s"] <= 1.0 and abs(d["hr_bpm"] - z.HR_BPM) <= 3


def test_face_hidden_long_is_refused(tmp_path):
    path = z.face_clip(tmp_path / "long.mp4", seconds=8, hide=((2.0, 4.5),))
    assert_refused("face/hidden-2.5s", cli(path, "--method", "pos", "--json", "--no-progress"), "long.mp4", "face lost")


def test_no_face_is_refused_with_the_full_frame_hint(tmp_path):
    path = z.clip(tmp_path / "wall.mkv", seconds=6, size=(160, 120))
    assert_refused("face/none", cli(path, "--method", "pos", "--json", "--no-progress"), "wall.mkv", "no face", "full-frame")


def test_grayscale_video_is_refused(tmp_path):
    path = z.clip(tmp_path / "gray.mkv", seconds=6, pix_fmt="gray", gray=True)
    assert_refused("pixels/grayscale", cli(path, *FAST), "gray.mkv", "no colour")


# ------------------------------------------------------------------------------------------ frame folders
def test_folder_with_mixed_frame_sizes_is_refused(tmp_path):
    folder = z.frame_folder(tmp_path / "mixed", n=90, sizes={40: (80, 60)})
    assert_refused("folder/mixed-sizes", cli(folder, *FAST, "--fps", "15"), "frame_00040.png", "80x60", "64x48")


def test_folder_with_a_corrupt_image_states_the_loss(tmp_path):
    folder = z.frame_folder(tmp_path / "corrupt", n=120, corrupt={60})
    d = assert_loss_stated("folder/corrupt-frame", folder, *FAST, "--fps", "15", cache=tmp_path / "c")
    assert d["frames_lost"] == 1


def test_folder_without_timestamps_is_refused(tmp_path):
    folder = z.frame_folder(tmp_path / "plain", n=90)
    assert_refused("folder/no-timestamps", cli(folder, *FAST), "plain", "timestamps", "--fps")


def test_folder_with_nanosecond_names_and_a_gap(tmp_path):
    folder = z.frame_folder(tmp_path / "pure", n=120, ns_names=True, skip=set(range(50, 56)))
    d = assert_loss_stated("folder/ns-names-6-missing", folder, *FAST, cache=tmp_path / "c")
    assert d["frames_lost"] == 6


def test_empty_folder_is_refused(tmp_path):
    (tmp_path / "empty").mkdir()
    assert_refused("folder/empty", cli(tmp_path / "empty", *FAST), "empty", "no image frames")


# ------------------------------------------------------------------------------------------ non-files
def test_fifo_is_refused_without_hanging(tmp_path):
    fifo = tmp_path / "pipe.mp4"
    os.mkfifo(fifo)
    assert_refused("input/fifo", cli(fifo, *FAST), "pipe.mp4", "FIFO")


def test_missing_input_is_refused(tmp_path):
    assert_refused("input/missing", cli(tmp_path / "nope.mp4", *FAST), "nope.mp4", "no such file")


# ------------------------------------------------------------------------------------------ options
@pytest.fixture(scope="module")
def good_clip(tmp_path_factory) -> Path:
    return z.clip(tmp_path_factory.mktemp("good") / "good.mkv", seconds=6)


@pytest.mark.parametrize("args,words", [
    (["--fps", "0"], ["--fps", "> 0"]),
    (["--fps", "nan"], ["--fps"]),
    (["--fps", "-30"], ["--fps"]),
    (["--band", "3", "0.7"], ["--band", "low < high"]),
    (["--band", "0", "3"], ["--band"]),
    (["--roi", "chin"], ["--roi", "full-frame"]),
    (["--method", "magic"], ["magic"]),
])  # fmt: skip
def test_bad_option_values_are_refused_in_one_line(args, words, good_clip):
    run = cli(good_clip, "--json", "--no-progress", *args)
    no_traceback(run)
    assert run.code == 2 and len(run.lines) == 1, run.lines
    for w in words:
        assert w in run.lines[0], run.lines
    RESULTS[f"option/{' '.join(args)}"] = ("refused", run.lines[0])


def test_out_of_range_option_is_a_usage_error_not_a_traceback(good_clip):
    run = cli(good_clip, "--min-confidence", "2")
    no_traceback(run)
    assert run.code == 2 and "min-confidence" in run.stderr
    RESULTS["option/--min-confidence 2"] = ("refused (usage error)", "exit 2, option named, no traceback")


@pytest.mark.parametrize("kind", ["text", "folder", "torch-dict-missing-keys", "torch-wrong-shapes", "zero-bytes"])
def test_bad_model_files_are_refused_in_one_line(kind, good_clip, tmp_path):
    import torch

    model = tmp_path / "m.pt"
    if kind == "text":
        model.write_text("not a model\n")
    elif kind == "folder":
        model.mkdir()
    elif kind == "zero-bytes":
        model.write_bytes(b"")
    elif kind == "torch-dict-missing-keys":
        torch.save({"format": "pseudopulse-model", "fs": 30.0}, model)
    else:
        from pseudopulse.model.file import load_model_file
        from pseudopulse.model.predictor import SHIPPED_WEIGHTS

        payload = torch.load(SHIPPED_WEIGHTS, map_location="cpu", weights_only=False)
        state = payload.get("state_dict") or payload.get("model") or payload
        if isinstance(state, dict):
            for k in list(state)[:1]:
                if hasattr(state[k], "shape"):
                    state[k] = torch.zeros(3, 3)
        torch.save(payload, model)
        del load_model_file
    run = cli(good_clip, *FAST[:2], "--method", "model", "--model", model, "--json", "--no-progress")
    assert_refused(f"model/{kind}", run, "m.pt")


# ------------------------------------------------------------------------------------------ outputs and caches
def test_out_pointing_at_a_file_is_refused_before_any_work(good_clip, tmp_path):
    f = tmp_path / "out.txt"
    f.write_text("x")
    assert_refused("output/--out-is-a-file", cli(good_clip, *FAST, "--out", f, "--cache-dir", tmp_path / "c"), "out.txt",
                   "is a file")  # fmt: skip
    assert not (tmp_path / "c").exists()  # refused before decoding (nothing cached)


def test_out_below_a_file_is_refused(good_clip, tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    assert_refused("output/--out-below-a-file", cli(good_clip, *FAST, "--out", f / "sub"), "file", "cannot be created")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_out_unwritable_is_refused(good_clip, tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        assert_refused("output/--out-unwritable", cli(good_clip, *FAST, "--out", ro / "x"), "ro", "not writable")
    finally:
        ro.chmod(0o755)


def test_cache_dir_pointing_at_a_file_is_refused(good_clip, tmp_path):
    f = tmp_path / "cachefile"
    f.write_text("x")
    assert_refused("output/--cache-dir-is-a-file", cli(good_clip, *FAST, "--cache-dir", f), "cachefile", "is a file")


def test_two_inputs_with_one_name_do_not_overwrite_each_other(tmp_path):
    a = z.clip(tmp_path / "a" / "clip.mkv", seconds=6) if (tmp_path / "a").mkdir() is None else None
    b = z.clip(tmp_path / "b" / "clip.mkv", seconds=6) if (tmp_path / "b").mkdir() is None else None
    first = cli(a, *FAST, "--out", tmp_path / "out")
    assert first.code == 0, first.stderr
    assert_refused("output/same-name-inputs", cli(b, *FAST, "--out", tmp_path / "out"), "clip", "another input")
    again = cli(a, *FAST, "--out", tmp_path / "out")  # the same input may overwrite its own results
    assert again.code == 0, again.stderr


def test_damaged_and_edited_cache_entries_are_rebuilt(good_clip, tmp_path):
    cache = tmp_path / "cache"
    first = cli(good_clip, *FAST, "--cache-dir", cache)
    assert first.code == 0
    (entry,) = cache.glob("stmap-*.npz")
    # an edited but self-consistent entry (same key, arrays changed): must not be served
    with np.load(entry, allow_pickle=False) as d:
        arrays = {k: d[k] for k in d.files}
    arrays["values"] = arrays["values"] * 0 + 100
    arrays["skin_mean"] = arrays["skin_mean"] * 0 + 100
    np.savez(entry.with_suffix(".tmp.npz"), **arrays)
    entry.with_suffix(".tmp.npz").replace(entry)
    from pseudopulse.stmap import extract_stmap

    st = extract_stmap(good_clip, roi="full-frame", cache_dir=cache)
    assert st.meta["cache"] == "miss" and np.nanstd(st.skin_mean[:, 1]) > 0
    for damage in (lambda b: b[:300], lambda b: b"junk" * 10, lambda b: b[:-50]):
        entry.write_bytes(damage(entry.read_bytes()))
        run = cli(good_clip, *FAST, "--cache-dir", cache)
        no_traceback(run)
        assert run.code == 0 and abs(run.json["hr_bpm"] - z.HR_BPM) <= 3
    RESULTS["cache/edited-entry"] = ("rebuilt", "digest mismatch: counted as a miss and rebuilt")
    RESULTS["cache/truncated-or-junk-entry"] = ("rebuilt", "unreadable entry: counted as a miss and rebuilt")


def test_cache_entry_of_other_parameters_is_not_served(good_clip, tmp_path):
    from pseudopulse.stmap import extract_stmap
    from pseudopulse.stmap import cache as c

    cache = tmp_path / "cache"
    extract_stmap(good_clip, roi="full-frame", cache_dir=cache)
    (entry,) = cache.glob("stmap-*.npz")
    with np.load(entry, allow_pickle=False) as d:
        arrays = {k: d[k] for k in d.files}
    params = json.loads(str(arrays["params_json"]))
    assert params["roi"] == "full-frame" and arrays["video_sha256"] == c.video_fingerprint(good_clip)
    assert c.load_cached(entry, str(arrays["cache_key"]), fingerprint="0" * 64) is None
    assert c.load_cached(entry, str(arrays["cache_key"]), params={**params, "grid": [4, 4]}) is None


# ------------------------------------------------------------------------------------------ run_cli itself
def test_any_unexpected_exception_becomes_one_line_naming_the_input(capsys):
    import typer

    from pseudopulse.cli.common import run_cli

    @run_cli
    def boom(video=None):
        raise RuntimeError("a\nmulti-line\nmessage")

    with pytest.raises(typer.Exit) as e:
        boom(video=Path("clip.mp4"))
    assert e.value.exit_code == 2
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert len(err) == 1 and "clip.mp4" in err[0] and "RuntimeError" in err[0] and "multi-line message" in err[0]
    RESULTS["cli/unexpected-exception"] = ("refused", err[0])


# ------------------------------------------------------------------------------------------ properties (hypothesis)
from hypothesis import HealthCheck, assume, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from pseudopulse.errors import SignalError  # noqa: E402
from pseudopulse.io.video import find_loss  # noqa: E402
from pseudopulse.signal import estimate_hr  # noqa: E402
from pseudopulse.stmap import STMap  # noqa: E402

PROPS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _stmap(ts: np.ndarray, hr_bpm: float, invalid=None, meta=None) -> STMap:
    n = len(ts)
    pulse = np.sin(2 * np.pi * hr_bpm / 60.0 * ts)
    mean = (np.array([180.0, 130.0, 110.0]) + 3.0 * np.outer(pulse, [0.33, 0.77, 0.53])).astype(np.float32)
    valid = np.ones(n, bool) if invalid is None else ~invalid
    mean[~valid] = np.nan
    values = np.repeat(mean[:, None, :], 4, axis=1)
    corr = np.repeat(np.eye(3, dtype=np.float32)[None], n, axis=0)
    corr[~valid] = np.nan
    return STMap(values=values, timestamps_s=ts, skin_mean=mean, skin_corr=corr, skin_count=np.where(valid, 100, 0).astype(np.int32),
                 valid=valid, grid=(2, 2), meta=meta or {})  # fmt: skip


@PROPS
@given(fs=st.floats(5, 240), hr=st.floats(45, 150), seconds=st.floats(10, 30))
def test_property_estimate_hr_finds_a_sinusoid_at_any_rate(fs, hr, seconds):
    assume(hr / 60 < 0.4 * fs)
    band = (0.7, min(3.0, 0.45 * fs))
    assume(band[0] < hr / 60 < band[1])
    t = np.arange(int(seconds * fs)) / fs
    est = estimate_hr(np.sin(2 * np.pi * hr / 60 * t), fs, band)
    assert abs(est.hr_bpm - hr) <= 2.0


@PROPS
@given(fs=st.floats(5, 240), seconds=st.floats(6, 20), jitter=st.floats(0, 0.2), new_fs=st.floats(5, 240), seed=st.integers(0, 99))
def test_property_resample_never_fails_on_any_time_grid(fs, seconds, jitter, new_fs, seed):
    rng = np.random.default_rng(seed)
    dt = (1 + jitter * rng.uniform(-1, 1, int(seconds * fs))) / fs
    ts = np.cumsum(dt) - dt[0]
    out = _stmap(ts, 72.0).resample(new_fs)
    assert np.isfinite(out.values).all() and out.timestamps_s[-1] <= ts[-1] + 1.0 / new_fs


@PROPS
@given(fs=st.floats(5, 240), gap_s=st.floats(0.05, 3.0), where=st.floats(0.1, 0.8))
def test_property_nan_runs_are_filled_up_to_one_second_and_refused_beyond(fs, gap_s, where):
    ts = np.arange(int(12 * fs)) / fs
    invalid = (ts >= where * 12) & (ts < where * 12 + gap_s)
    assume(invalid.any())
    st_ = _stmap(ts, 72.0, invalid=invalid, meta={"source": "clip.mp4"})
    i = np.flatnonzero(invalid)
    bridged = ts[min(i[-1] + 1, len(ts) - 1)] - ts[max(i[0] - 1, 0)]
    assume(abs(bridged - 1.0) > 1e-6)  # exactly 1 s is a tie decided by rounding
    if bridged > 1.0 + 1e-9:
        with pytest.raises(SignalError, match="clip.mp4: face lost"):
            st_.fill_gaps()
    else:
        filled = st_.fill_gaps()
        assert np.isfinite(filled.values).all() and filled.valid.all()


@PROPS
@given(fs=st.floats(5, 240), n=st.integers(60, 2000), drops=st.lists(st.integers(5, 1000), max_size=8, unique=True))
def test_property_dropped_frames_are_counted_from_the_timestamps(fs, n, drops):
    drops = sorted(d for d in drops if d < n - 5)
    assume(all(b - a > 2 for a, b in zip(drops, drops[1:])))
    keep = np.ones(n, bool)
    keep[drops] = False
    ts = (np.arange(n) / fs)[keep]
    loss = find_loss(ts, declared_frames=None)
    assert loss.frames_lost == len(drops) and len(loss.gaps_s) == len(drops)
    st_ = _stmap(ts, 72.0, meta={"read_loss": loss.to_dict()})
    assert st_.fs == pytest.approx(fs, rel=1e-6)  # the frame rate, not the rate diluted by the gaps


def test_variable_frame_rate_with_half_rate_stretches_is_not_called_a_loss(tmp_path):
    steps = np.where(np.arange(300) % 3 == 0, 2, 1) / 30  # every third interval doubled: a phone at variable rate
    t = np.r_[0, np.cumsum(steps)][:260]
    path = z.clip_with_times(tmp_path / "vfr2.mkv", t)
    assert_ok("timing/vfr-half-rate-stretches", path, *FAST)
    loss = find_loss(np.arange(100) / 30.0, declared_frames=100)
    assert loss.frames_lost == 0 and not loss.any
