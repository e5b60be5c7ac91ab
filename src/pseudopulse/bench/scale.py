"""Scale-out benchmark: preprocessing throughput with 1 and 2 workers, epoch time with 1 and 2 DDP processes, and
what that means for 1,000 h of video on N nodes.

Preprocessing: ``scale.preprocess`` (local engine: in-process for 1 worker, a spawned pool for 2) on the first
``n_videos`` videos under ROOT, each configuration into a fresh cache; throughput = seconds of video built per
second of wall time (pool start-up included). Training: ``pseudopulse train`` of the paper's recipe on the same
videos (their cache from the 1-worker run, so nothing is decoded), launched as a subprocess with ``python -m`` or
``torchrun --nproc-per-node 2``; epoch time = mean ``seconds`` of the epochs after the first.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from pseudopulse.errors import DatasetError
from pseudopulse.io import VIDEO_SUFFIXES, atomic_write_text

TARGET_H = 1000.0  # hours of video the table extrapolates to
CLIP_S = 10.0  # training clip length (s): 1,000 h = 360,000 clips
NODES = (1, 4, 16, 64)


def find_videos(root: str | Path, n: int) -> list[Path]:
    """The first ``n`` video files under ``root`` (recursive, sorted by path)."""
    found = sorted(p for p in Path(root).rglob("*") if p.suffix.lower() in VIDEO_SUFFIXES and p.is_file())[:n]
    if not found:
        raise DatasetError(f"{root}: no video files ({', '.join(VIDEO_SUFFIXES)}) under it; pass a folder of videos")
    return found


def time_preprocess(videos: list[Path], cache_dir: Path, workers: int) -> dict:
    """One preprocessing run of ``videos`` into the empty ``cache_dir`` (summary of ``scale.preprocess``)."""
    from pseudopulse.scale.preprocess import plan_jobs, preprocess

    summary = preprocess(plan_jobs(videos, cache_dir=cache_dir), engine="local", workers=workers)
    return {k: v for k, v in summary.to_dict().items() if k != "results"}


def time_epochs(videos: list[Path], cache_dir: Path, run_dir: Path, nproc: int, epochs: int, batch_size: int) -> dict:
    """Seconds per epoch of ``pseudopulse train`` (paper recipe, 1 torch thread per process) on ``nproc`` processes."""
    args = ["-m", "pseudopulse", "train", "--recipe", "paper", *(a for v in videos for a in ("--data", str(v))),
            "--cache-dir", str(cache_dir), "--epochs", str(epochs), "--batch-size", str(batch_size), "--threads", "1",
            "--out", str(run_dir), "--json"]  # fmt: skip
    torchrun = shutil.which("torchrun") or str(Path(sys.executable).with_name("torchrun"))
    launcher = [sys.executable] if nproc == 1 else [torchrun, "--nproc-per-node", str(nproc)]
    proc = subprocess.run([*launcher, *args], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"training on {nproc} process(es) failed: {proc.stderr.strip()[-500:]}")
    history = json.loads(proc.stdout.strip().splitlines()[-1])["history"]
    later = [r["seconds"] for r in history[1:]] or [history[0]["seconds"]]
    return {"processes": nproc, "epochs": len(history), "seconds_per_epoch": sum(later) / len(later),
            "first_epoch_s": history[0]["seconds"]}  # fmt: skip


def extrapolate(pre: dict, train: dict, clips: int, *, cores_per_node: int) -> list[dict]:
    """Wall hours for ``TARGET_H`` of video on N nodes of ``cores_per_node`` cores each, assuming throughput per
    worker as measured with 2 workers, one worker (or DDP process) per core, linear scaling across nodes (shared
    storage keeps up), and epoch time proportional to clips over processes at the measured 2-process rate."""
    per_worker = pre["video_s_per_s"] / pre["workers"]  # video-s per s per worker
    per_proc = clips / (train["seconds_per_epoch"] * train["processes"])  # clips per s per process
    target_clips = TARGET_H * 3600 / CLIP_S
    rows = []
    for n in NODES:
        workers = n * cores_per_node
        rows.append({"nodes": n, "workers": workers, "preprocess_h": TARGET_H * 3600 / (per_worker * workers) / 3600,
                     "epoch_h": target_clips / (per_proc * workers) / 3600})  # fmt: skip
    return rows


def run_scale_benchmark(root: str | Path, out_dir: str | Path = "results", *, n_videos: int = 3, epochs: int = 2,
                        batch_size: int = 8, cores_per_node: int = 32, progress=lambda msg: None) -> dict:  # fmt: skip
    """Measure, extrapolate, and write ``out_dir``/scale.json and scale.md (atomically); returns the results."""
    videos = find_videos(root, n_videos)
    with tempfile.TemporaryDirectory(prefix="pseudopulse-scale-") as tmp:
        tmp = Path(tmp)
        pre = []
        for w in (1, 2):
            progress(f"preprocessing {len(videos)} video(s) with {w} worker(s)")
            pre.append(time_preprocess(videos, tmp / f"cache{w}", w))
        train = []
        for p in (1, 2):
            progress(f"training {epochs} epoch(s) on {p} process(es)")
            train.append(time_epochs(videos, tmp / "cache1", tmp / f"run{p}", p, epochs, batch_size))
        from pseudopulse.train.data import prepare_recordings, video_sources

        recs, _ = prepare_recordings(video_sources(videos, cache_dir=tmp / "cache1"), fs=30.0, cache_dir=tmp / "cache1", stream=True)
        clips = sum(r.n_frames // int(CLIP_S * 30) for r in recs)
    res = {"root": str(root), "videos": [str(v) for v in videos], "video_h": pre[0]["video_h"], "clips": clips,
           "preprocess": pre, "train": train, "cores_per_node": cores_per_node,
           "extrapolation": extrapolate(pre[1], train[1], clips, cores_per_node=cores_per_node),
           "cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
           "machine": f"{platform.machine()} {platform.python_implementation()} {platform.python_version()}"}  # fmt: skip
    out = Path(out_dir)
    atomic_write_text(out / "scale.json", json.dumps(res, indent=2))
    atomic_write_text(out / "scale.md", scale_markdown(res))
    return res


def scale_markdown(res: dict) -> str:
    lines = ["# Scale-out benchmark", "", f"{len(res['videos'])} video(s) under {res['root']} ({res['video_h'] * 60:.1f} "
             f"min, {res['clips']} training clips); {res['machine']}, {res['cpus']} CPU(s).", "",
             "| preprocess workers | wall s | videos/s | video-s per s | speed-up |", "|---:|---:|---:|---:|---:|"]  # fmt: skip
    for p in res["preprocess"]:
        lines.append(f"| {p['workers']} | {p['wall_s']:.1f} | {p['videos_per_s']:.3f} | {p['video_s_per_s']:.1f} | "
                     f"{p['video_s_per_s'] / res['preprocess'][0]['video_s_per_s']:.2f} |")  # fmt: skip
    lines += ["", "| DDP processes | s/epoch | speed-up |", "|---:|---:|---:|"]
    for t in res["train"]:
        lines.append(f"| {t['processes']} | {t['seconds_per_epoch']:.2f} | {res['train'][0]['seconds_per_epoch'] / t['seconds_per_epoch']:.2f} |")
    lines += ["", f"{TARGET_H:.0f} h of video on N nodes of {res['cores_per_node']} cores (one worker / DDP process per "
              "core; per-worker rates as measured with 2; linear scaling, storage keeps up):", "",
              "| nodes | workers | preprocess h | h per epoch |", "|---:|---:|---:|---:|"]  # fmt: skip
    for r in res["extrapolation"]:
        lines.append(f"| {r['nodes']} | {r['workers']} | {r['preprocess_h']:.1f} | {r['epoch_h']:.2f} |")
    return "\n".join(lines) + "\n"
