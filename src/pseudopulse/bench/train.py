"""Training and inference speed on a UBFC-sized set (42 subjects × 1 min = 252 ten-second clips) on CPU.

The STMaps are synthetic (``train.toy``), built in memory: this times the training loop and the network, not
video decoding or face tracking (``benchmark preprocess`` covers those). Results: ``train.md`` + ``train.json``.
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from pseudopulse.io import atomic_write_text


@dataclass
class TrainBenchConfig:
    subjects: int = 42
    minutes: float = 1.0
    epochs: int = 3  # epochs timed (the per-epoch mean is extrapolated to ``target_epochs``)
    target_epochs: int = 80
    ablation: str = "full"
    threads: int = 2
    batch_size: int = 16
    inference_minutes: float = 1.0
    inference_repeats: int = 5
    seed: int = 0


def _recordings(cfg: TrainBenchConfig):
    from pseudopulse.train.data import TrainRecording
    from pseudopulse.train.toy import toy_stmap

    rng = np.random.default_rng(cfg.seed)
    out = []
    for i in range(cfg.subjects):
        st, _ = toy_stmap(float(rng.uniform(50, 140)), duration_s=cfg.minutes * 60, seed=i, noise=1.0)
        # the 2SR pseudo label is irrelevant to speed: use the clean green trace as a stand-in target
        out.append(TrainRecording(name=f"s{i}", fs=30.0, values=st.values, pseudo=st.values[:, :, 1].mean(1)))
    return out


def _time_inference(pred, stmap, repeats: int) -> tuple[float, float]:
    """(median wall seconds, CPU seconds of one run) of ``pred.apply(stmap)`` after a warm-up run."""
    pred.apply(stmap)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        pred.apply(stmap)
        times.append(time.perf_counter() - t0)
    c0 = time.process_time()
    pred.apply(stmap)
    return float(np.median(times)), time.process_time() - c0


def run_train_benchmark(cfg: TrainBenchConfig, progress: Callable[[str], None] | None = None) -> dict:
    from pseudopulse.model.net import count_parameters
    from pseudopulse.model.predictor import SHIPPED_WEIGHTS, ModelPredictor, load_predictor
    from pseudopulse.train.config import TrainConfig
    from pseudopulse.train.toy import toy_stmap
    from pseudopulse.train.trainer import train

    torch.set_num_threads(cfg.threads)
    recs = _recordings(cfg)
    tcfg = TrainConfig.for_ablation(cfg.ablation, epochs=cfg.target_epochs, batch_size=cfg.batch_size, threads=cfg.threads, seed=cfg.seed)
    load0 = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    cpu_marks = [time.process_time()]

    def on_epoch(row):
        cpu_marks.append(time.process_time())  # CPU seconds of this process (all threads): robust to other load
        if progress:
            progress(f"epoch {row['epoch'] + 1}: {row['seconds']:.1f} s wall, {cpu_marks[-1] - cpu_marks[-2]:.1f} s CPU")

    with tempfile.TemporaryDirectory() as tmp:
        res = train(tcfg, recs, run_dir=tmp, stop_after=cfg.epochs, on_epoch=on_epoch)
    secs = [float(r["seconds"]) for r in res.history]
    cpu = list(np.diff(cpu_marks))
    n_clips = sum(r.n_frames // tcfg.clip_frames for r in recs)
    net = res.nets[res.final_net].eval()
    st, _ = toy_stmap(72.0, duration_s=cfg.inference_minutes * 60, seed=123)
    infer_s, infer_cpu = _time_inference(ModelPredictor(net, fs=30.0, window_s=tcfg.clip_s), st, cfg.inference_repeats)
    shipped = {}
    if SHIPPED_WEIGHTS.is_file():  # the file `predict` uses (an ensemble runs each member)
        shipped_pred = load_predictor()
        shipped_s, _ = _time_inference(shipped_pred, st, cfg.inference_repeats)
        shipped = {"shipped_inference_x_real_time": cfg.inference_minutes * 60.0 / shipped_s,
                   "shipped_networks": len(getattr(shipped_pred.net, "members", [shipped_pred.net]))}  # fmt: skip
    load1 = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    per_epoch = float(np.median(secs))
    return {
        "config": asdict(cfg),
        "clips": n_clips,
        "parameters": count_parameters(net),
        "seconds_per_epoch": per_epoch,
        "seconds_per_epoch_all": secs,
        "cpu_seconds_per_epoch": float(np.median(cpu)),
        "cpu_seconds_per_epoch_all": [float(c) for c in cpu],
        "uncontended_seconds_per_epoch": float(np.median(cpu)) / cfg.threads,
        "uncontended_extrapolated_minutes": float(np.median(cpu)) / cfg.threads * cfg.target_epochs / 60.0,
        "inference_cpu_x_real_time": cfg.inference_minutes * 60.0 / max(infer_cpu / cfg.threads, 1e-9),
        "extrapolated_minutes": per_epoch * cfg.target_epochs / 60.0,
        "goal_minutes": 20.0,
        "inference_seconds_per_minute_of_video": infer_s / cfg.inference_minutes,
        "inference_x_real_time": cfg.inference_minutes * 60.0 / infer_s,
        "goal_x_real_time": 200.0,
        **shipped,
        "threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "load_average_start_end": [load0, load1],
        "platform": platform.platform(),
        "torch": torch.__version__,
    }


def write_results(res: dict, out_dir: str | Path) -> tuple[Path, Path]:
    out = Path(out_dir)
    js, md = out / "train.json", out / "train.md"
    atomic_write_text(js, json.dumps(res, indent=2))
    c = res["config"]
    ok_t = "yes" if res["extrapolated_minutes"] < res["goal_minutes"] else "NO"
    ok_i = "yes" if res["inference_x_real_time"] >= res["goal_x_real_time"] else "NO"
    lines = [
        "# Training / inference speed",
        "",
        f"{c['subjects']} subjects × {c['minutes']:g} min = {res['clips']} ten-second clips, ablation `{c['ablation']}`, "
        f"batch {c['batch_size']}, {res['threads']} torch threads ({res['cpu_count']} CPUs visible, load average "
        f"{res['load_average_start_end'][0]:.1f} → {res['load_average_start_end'][1]:.1f}), network {res['parameters']:,} parameters.",
        "",
        "| measure | value | goal | met |",
        "|---|---|---|---|",
        f"| seconds per epoch, wall clock (median of {len(res['seconds_per_epoch_all'])}) | {res['seconds_per_epoch']:.1f} | | |",
        f"| CPU seconds per epoch (all threads) | {res['cpu_seconds_per_epoch']:.1f} | | |",
        f"| {c['target_epochs']} epochs if the {c['threads']} cores were not shared (CPU s / threads) | {res['uncontended_extrapolated_minutes']:.1f} min | < {res['goal_minutes']:.0f} min | {'yes' if res['uncontended_extrapolated_minutes'] < res['goal_minutes'] else 'NO'} |",
        f"| {c['target_epochs']} epochs, wall clock (extrapolated) | {res['extrapolated_minutes']:.1f} min | < {res['goal_minutes']:.0f} min | {ok_t} |",
        f"| inference, × real time, wall clock ({c['inference_minutes']:g}-min recording) | {res['inference_x_real_time']:.0f}× | ≥ {res['goal_x_real_time']:.0f}× | {ok_i} |",
        f"| inference, × real time from CPU time / threads | {res['inference_cpu_x_real_time']:.0f}× | ≥ {res['goal_x_real_time']:.0f}× | {'yes' if res['inference_cpu_x_real_time'] >= res['goal_x_real_time'] else 'NO'} |",
        *([f"| inference of the shipped model file ({res['shipped_networks']} network(s)), × real time, wall clock | {res['shipped_inference_x_real_time']:.0f}× | ≥ {res['goal_x_real_time']:.0f}× | {'yes' if res['shipped_inference_x_real_time'] >= res['goal_x_real_time'] else 'NO'} |"]
          if "shipped_inference_x_real_time" in res else []),
        "",
        "Wall-clock numbers depend on what else the machine runs (see the load average); CPU-time numbers divide this",
        "process's CPU seconds by the thread count, i.e. the wall time the run would take on its own 2 cores.",
        "",
        f"Per-epoch seconds: {', '.join(f'{s:.1f}' for s in res['seconds_per_epoch_all'])}. {res['platform']}, torch {res['torch']}.",
        "",
    ]
    atomic_write_text(md, "\n".join(lines))
    return md, js
