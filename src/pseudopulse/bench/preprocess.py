"""Preprocessing speed: decode-only frames/s vs full STMap extraction frames/s on one clip.

Decode-only = ``open_video`` iteration (PyAV decode + RGB conversion, frames discarded). Extraction =
``extract_stmap`` (decode in a background thread + face mesh every ``detect_every`` frames + alignment,
mask, block statistics), no cache. ``repeats`` interleaved rounds time every configuration once each; the
best run of each counts (least disturbed by other processes on a shared machine). Goal: extraction >= 0.5 x decode-only on a 60-s 640x480 clip.
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Sequence

from pseudopulse.io import atomic_write_text, open_video

GOAL_RATIO = 0.5
DEFAULT_VARIANTS: tuple[tuple[int, int], ...] = ((10, 64), (10, 128), (5, 64))  # (detect_every, canonical_px)


@dataclass(frozen=True)
class ExtractTiming:
    detect_every: int
    canonical_px: int
    fps: float  # frames per second of wall time
    ratio: float  # fps / decode-only fps
    valid_fraction: float
    cpu_fps: float  # frames per CPU-second of the whole process (all threads): insensitive to other load
    cpu_ratio: float  # cpu_fps / decode-only cpu_fps


@dataclass
class PreprocessResult:
    video: str
    clip_source: str  # "given" or "synth.render"
    width: int
    height: int
    n_frames: int
    duration_s: float
    decode_fps: float
    decode_cpu_fps: float
    extract: list[ExtractTiming] = field(default_factory=list)
    cpus: int = 1
    machine: str = ""

    @property
    def main(self) -> ExtractTiming:
        return self.extract[0]


def make_benchmark_clip(path: str | Path, *, duration_s: float = 60.0, width: int = 640, height: int = 480, fps: float = 30.0) -> tuple[Path, str]:
    """Write a semi-synthetic face clip (``synth.render``: head motion, x264 CRF 23) for the benchmark; returns
    (path, source)."""
    from pseudopulse.synth import SynthConfig, render

    path = Path(path)
    cfg = SynthConfig(duration_s=duration_s, fps=fps, width=width, height=height, crf=23, motion_px=10.0, rotation_deg=3.0)
    render(cfg, path)
    return path, "synth.render"


def decode_fps(path: str | Path) -> tuple[float, float, int]:
    """(frames per wall second, frames per CPU second, frames) of decode + RGB conversion only."""
    t0, c0 = time.perf_counter(), time.process_time()
    n = 0
    with open_video(path) as reader:
        for _ in reader:
            n += 1
    return n / (time.perf_counter() - t0), n / max(time.process_time() - c0, 1e-9), n


def extract_fps(path: str | Path, *, detect_every: int = 10, canonical_px: int = 64) -> tuple[float, float, float]:
    """(frames per wall second, frames per CPU second, valid fraction) of a full uncached ``extract_stmap``."""
    from pseudopulse.stmap.extract import extract_stmap

    t0, c0 = time.perf_counter(), time.process_time()
    st = extract_stmap(path, detect_every=detect_every, canonical_px=canonical_px)
    wall, cpu = time.perf_counter() - t0, max(time.process_time() - c0, 1e-9)
    return st.n_frames / wall, st.n_frames / cpu, float(st.valid.mean())


def run_preprocess_benchmark(
    video: str | Path | None = None,
    out_dir: str | Path = "results",
    *,
    repeats: int = 3,
    variants: Sequence[tuple[int, int]] = DEFAULT_VARIANTS,
    work_dir: str | Path | None = None,
) -> PreprocessResult:
    """Measure decode vs extraction speed and write ``out_dir``/preprocess.md and .json atomically.

    ``video`` None: a 60-s 640x480 30-fps clip is generated in ``work_dir`` (default: a temporary folder,
    removed afterwards).
    ``variants``: (detect_every, canonical_px) pairs; the first is the default configuration.
    """
    out = Path(out_dir)
    with tempfile.TemporaryDirectory(prefix="pseudopulse-bench-") as tmp:
        if video is None:
            video, source = make_benchmark_clip(Path(work_dir if work_dir is not None else tmp) / "preprocess_clip.mp4")
        else:
            source = "given"
        res = _measure(Path(video), source, repeats, variants)
    atomic_write_text(out / "preprocess.md", preprocess_markdown(res))
    atomic_write_text(out / "preprocess.json", json.dumps({**asdict(res), "goal_ratio": GOAL_RATIO}, indent=2))
    return res


def _measure(video: Path, source: str, repeats: int, variants: Sequence[tuple[int, int]]) -> PreprocessResult:
    with open_video(video) as reader:
        info = reader.info
    dec: list[tuple[float, float, int]] = []
    runs: dict[tuple[int, int], list[tuple[float, float, float]]] = {tuple(v): [] for v in variants}
    for _ in range(max(1, repeats)):  # interleaved rounds: every configuration sees the same machine load
        dec.append(decode_fps(video))
        for k, px in runs:
            runs[(k, px)].append(extract_fps(video, detect_every=k, canonical_px=px))
    best_dec, best_dec_cpu, n = max(d[0] for d in dec), max(d[1] for d in dec), dec[0][2]
    timings = []
    for (k, px), rs in runs.items():
        fps, cpu_fps = max(r[0] for r in rs), max(r[1] for r in rs)
        timings.append(ExtractTiming(int(k), int(px), fps, fps / best_dec, rs[0][2], cpu_fps, cpu_fps / best_dec_cpu))
    return PreprocessResult(
        video=str(video), clip_source=source, width=info.width, height=info.height, n_frames=n,
        duration_s=float(info.duration_s or 0.0), decode_fps=best_dec, decode_cpu_fps=best_dec_cpu, extract=timings,
        cpus=len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1),
        machine=f"{platform.machine()} {platform.python_implementation()} {platform.python_version()}",
    )  # fmt: skip


def preprocess_markdown(res: PreprocessResult) -> str:
    ok = "meets" if res.main.ratio >= GOAL_RATIO else "misses"
    lines = [
        "# Preprocessing speed (video -> STMap)",
        "",
        f"Clip: {Path(res.video).name} ({res.clip_source}), {res.width}x{res.height}, {res.n_frames} frames, "
        f"{res.duration_s:.1f} s. Machine: {res.machine}, {res.cpus} CPU(s). Best of the repeats.",
        "",
        f"Decode only (PyAV decode + RGB): **{res.decode_fps:.0f} frames/s** wall, {res.decode_cpu_fps:.0f} frames per "
        "CPU-second (process CPU time, all threads; less sensitive to other load on the machine).",
        "",
        "| detect_every | canonical face (px) | extraction frames/s | ratio to decode | frames / CPU-s | CPU ratio | valid frames |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for t in res.extract:
        lines.append(
            f"| {t.detect_every} | {t.canonical_px} | {t.fps:.0f} | {t.ratio:.2f} | {t.cpu_fps:.0f} | {t.cpu_ratio:.2f} "
            f"| {100 * t.valid_fraction:.1f} % |"
        )
    lines += ["", f"Default configuration (first row) {ok} the goal ratio >= {GOAL_RATIO}."]
    return "\n".join(lines) + "\n"
