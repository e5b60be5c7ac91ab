"""`pseudopulse preprocess`: the cache train reads, built locally or on Ray; re-runs skip, broken videos are reported,
concurrent writers of one entry cannot tear it, and training after preprocessing decodes nothing."""

import json
import subprocess
import sys
import threading

import numpy as np
import pytest
from fixtures_layouts import write_pulse_video
from typer.testing import CliRunner

from pseudopulse.cli import app
from pseudopulse.scale.preprocess import plan_jobs, preprocess

FS = 30.0


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """Three 15-s pulse clips (32x24, lossless) and a text file named like a video."""
    folder = tmp_path_factory.mktemp("corpus")
    for i, hr in enumerate((66.0, 84.0, 102.0)):
        write_pulse_video(folder / f"clip{i}.mkv", np.arange(450) / FS, hr, fps=FS, seed=i)
    (folder / "broken.mp4").write_text("this is not a video\n")
    return folder


def _entries(cache):
    return {f.name: f.read_bytes() for f in sorted(cache.glob("*.npz"))}


def _jobs(corpus, cache):
    return plan_jobs([corpus], cache_dir=cache, roi="full-frame", fs=FS)


def test_preprocess_builds_skips_on_rerun_and_reports_the_broken_video(corpus, tmp_path):
    cache = tmp_path / "cache"
    first = preprocess(_jobs(corpus, cache), engine="local", workers=2)  # a pool of 2 spawned processes
    by_name = {r.name: r for r in first.results}
    assert first.counts == {"done": 3, "skipped": 0, "failed": 1}
    assert by_name["broken"].attempts == 2 and "broken.mp4" in by_name["broken"].error and "\n" not in by_name["broken"].error
    assert all(abs(by_name[f"clip{i}"].video_s - 15.0) < 0.1 for i in range(3))
    assert abs(first.video_h - 45.0 / 3600) < 1e-3 and first.videos_per_s > 0 and first.video_s_per_s > 0
    built = _entries(cache)
    assert len([n for n in built if n.startswith("stmap-")]) == 3 and len([n for n in built if n.startswith("train-")]) == 3
    again = preprocess(_jobs(corpus, cache), engine="local", workers=1)
    assert again.counts == {"done": 0, "skipped": 3, "failed": 1} and _entries(cache) == built
    # a damaged pseudo-label entry is rebuilt, not counted as finished
    victim = next(cache.glob("train-*.npz"))
    victim.write_bytes(b"torn")
    third = preprocess(_jobs(corpus, cache), engine="local")
    assert third.counts == {"done": 1, "skipped": 2, "failed": 1} and _entries(cache) == built


def test_preprocess_command_summary_and_exit_codes(corpus, tmp_path):
    cache = tmp_path / "cache"
    res = CliRunner().invoke(app, ["preprocess", str(corpus), "--cache-dir", str(cache), "--roi", "full-frame", "--json"])
    assert res.exit_code == 1  # one video failed
    summary = json.loads(res.stdout.strip().splitlines()[-1])
    assert (summary["done"], summary["skipped"], summary["failed"]) == (3, 0, 1)
    good = CliRunner().invoke(app, ["preprocess", str(corpus / "clip0.mkv"), "--cache-dir", str(cache), "--roi", "full-frame"])
    assert good.exit_code == 0 and "1 skipped" in good.stdout


@pytest.mark.parametrize(
    "args, says",
    [
        (["/no/such/folder"], "no such video or folder"),
        (["{corpus}", "--engine", "spark"], "unknown engine"),
        (["{corpus}", "--ray-address", "auto"], "needs --engine ray"),
        (["{corpus}", "--workers", "0"], "--workers"),
        (["{corpus}", "--cache-dir", "{corpus}/clip0.mkv"], "is a file"),
    ],
)
def test_preprocess_refuses_bad_input_in_one_line(corpus, args, says):
    argv = [a.format(corpus=corpus) for a in args]
    proc = subprocess.run([sys.executable, "-m", "pseudopulse", "preprocess", *argv], capture_output=True, text=True)
    assert proc.returncode == 2 and says in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_ray_engine_builds_the_same_cache_as_local(corpus, tmp_path):
    pytest.importorskip("ray")
    local = preprocess(_jobs(corpus, tmp_path / "local"), engine="local")
    ray_run = preprocess(_jobs(corpus, tmp_path / "ray"), engine="ray", workers=2)  # a local cluster, num_cpus=2
    assert [(r.name, r.status, r.video_s) for r in ray_run.results] == [(r.name, r.status, r.video_s) for r in local.results]
    assert ray_run.counts["failed"] == 1 and ray_run.workers == 2
    assert _entries(tmp_path / "ray") == _entries(tmp_path / "local")  # byte-identical entries


def test_training_after_preprocess_decodes_nothing(corpus, tmp_path, monkeypatch):
    import pseudopulse.stmap.extract as extract
    import pseudopulse.train.data as data
    from pseudopulse.train.config import TrainConfig
    from pseudopulse.train.run import run_training

    cache = tmp_path / "cache"
    clips = [corpus / f"clip{i}.mkv" for i in range(3)]
    assert preprocess(plan_jobs(clips, cache_dir=cache, roi="full-frame", fs=FS)).counts["done"] == 3

    def forbidden(*a, **k):
        raise AssertionError("decoded or rebuilt after preprocess")

    monkeypatch.setattr(extract, "open_video", forbidden)  # decoding
    monkeypatch.setattr(data, "pseudo_label", forbidden)  # 2SR labels
    sources = data.video_sources(clips, cache_dir=cache, roi="full-frame")
    cfg = TrainConfig.for_ablation("pseudo-only", epochs=1, batch_size=2, threads=1)
    res = run_training(cfg, sources, out=tmp_path / "run", cache_dir=cache)
    assert len(res.history) == 1 and res.model_path.is_file()


def test_concurrent_writers_of_one_entry_never_tear_it(tmp_path):
    """Many writers replacing the same cache entry while a reader reads it: every read is a whole, valid entry and
    no temporary file is left (write to a unique temporary name, then an atomic rename)."""
    from pseudopulse.stmap.cache import cache_file, load_cached, save_cached
    from pseudopulse.train.toy import toy_stmap

    st, _ = toy_stmap(72.0, duration_s=20.0)
    st.meta["read_loss"] = None
    key = "k" * 64
    entry = cache_file(tmp_path, key)
    save_cached(entry, key, st)
    bad = []

    def write():
        for _ in range(15):
            save_cached(entry, key, st)

    def read():
        for _ in range(60):
            hit = load_cached(entry, key)
            if hit is None or not np.array_equal(hit.values, st.values):
                bad.append(hit)

    threads = [threading.Thread(target=write) for _ in range(4)] + [threading.Thread(target=read)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert bad == [] and sorted(p.name for p in tmp_path.iterdir()) == [entry.name]


def _toy_sources(n=4, duration_s=20.0):
    from pseudopulse.train.data import TrainSource
    from pseudopulse.train.toy import toy_stmap

    return [TrainSource(f"toy{i}", f"toy{i}-{duration_s}", lambda i=i: toy_stmap(60.0 + 12 * i, duration_s=duration_s, seed=i)[0])
            for i in range(n)]  # fmt: skip


def test_streamed_training_data_is_the_in_memory_data_with_few_recordings_held(tmp_path):
    import torch

    from pseudopulse.train.config import TrainConfig
    from pseudopulse.train.data import CachedRecording, ClipDataset, prepare_recordings
    from pseudopulse.train.trainer import train

    sources = _toy_sources()
    held, _ = prepare_recordings(sources, fs=FS, cache_dir=tmp_path / "cache")
    streamed, _ = prepare_recordings(sources, fs=FS, cache_dir=tmp_path / "cache", stream=True)
    assert all(isinstance(r, CachedRecording) and not hasattr(r, "values") for r in streamed)
    cfg = TrainConfig.for_ablation("full", epochs=2, batch_size=4, lr=1e-3, seed=1, threads=1)
    kw = dict(clip_frames=cfg.clip_frames, shift_max=cfg.shift_max, speed_max=cfg.speed_max)
    a, b = ClipDataset(held, **kw), ClipDataset(streamed, **kw, max_loaded=2)
    for idx in np.array_split(np.random.default_rng(0).permutation(len(a)), 3):  # batches across recordings
        x, y = a.batch(idx), b.batch(idx)
        assert x["ids"] == y["ids"] and all(np.array_equal(x[k], y[k]) for k in ("raw", "pseudo", "pseudo_mask"))
        assert b._loaded.cache_info().currsize <= 2  # memory bound: at most max_loaded recordings held
    one = train(cfg, held, run_dir=tmp_path / "held")
    two = train(cfg, streamed, run_dir=tmp_path / "streamed")
    assert [r["loss"] for r in one.history] == [r["loss"] for r in two.history]
    assert all(torch.equal(p, q) for n1, n2 in zip(one.nets, two.nets) for p, q in zip(n1.parameters(), n2.parameters()))


def test_training_streams_above_the_size_threshold(tmp_path, monkeypatch):
    import pseudopulse.train.run as run
    from pseudopulse.train.config import TrainConfig

    cfg = TrainConfig.for_ablation("pseudo-only", epochs=1, batch_size=2, threads=1)
    notes = []
    run.run_training(cfg, _toy_sources(2, 12.0), out=tmp_path / "a", cache_dir=tmp_path / "c", callbacks=run.TrainCallbacks(note=notes.append))
    assert "streamed" not in notes[-1]
    monkeypatch.setattr(run, "STREAM_ABOVE_BYTES", 0)
    run.run_training(cfg, _toy_sources(2, 12.0), out=tmp_path / "b", cache_dir=tmp_path / "c", callbacks=run.TrainCallbacks(note=notes.append))
    assert notes[-1].endswith("streamed from the cache")
