"""Compression robustness (paper Fig. 4): re-encode the test videos with libx264 at several CRFs, evaluate each.

Re-encoding (PyAV, libx264, yuv420p, ``preset``) keeps every frame and its timestamp, so ground truth stays
aligned; it is deterministic. What a *seed* varies is the clip grid: seed 0 scores the paper's grid (first clip
at 0 s), seed k ≥ 1 starts the first clip at an offset drawn uniformly from [0, clip_s) by
``numpy.random.default_rng(k)`` — so the spread over seeds shows how much the RMSE depends on where the
10-s windows fall. (With ``--method model`` the same holds; retraining per seed is the trainer's job.)
The first seed of each CRF runs on the worker pool (it decodes and caches the STMaps); later seeds reuse the
cached STMaps in this process.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from pseudopulse.datasets.base import Dataset, Recording
from pseudopulse.errors import VideoError
from pseudopulse.eval.runner import EvalConfig, EvalResult, evaluate
from pseudopulse.io import atomic_path, open_video

TIME_BASE = Fraction(1, 90000)


def reencode(src: str | Path, dst: str | Path, *, crf: int, preset: str = "medium", timestamps_s=None) -> Path:
    """Re-encode a video file or frame folder to H.264 (libx264, ``crf``) in ``dst`` (.mp4/.mkv), keeping each
    frame's presentation time (``timestamps_s`` overrides the source's, e.g. PURE JSON times)."""
    import av

    if not 0 <= int(crf) <= 51:
        raise VideoError(f"libx264 CRF must be 0..51; got {crf}")
    dst = Path(dst)
    with open_video(src, timestamps_s=timestamps_s) as reader, atomic_path(dst) as tmp:
        fps = reader.info.fps_nominal or 30.0
        with av.open(str(tmp), mode="w", format="matroska" if dst.suffix == ".mkv" else "mp4") as out:
            stream = out.add_stream("libx264", rate=Fraction(round(fps * 1000), 1000))
            stream.width, stream.height = reader.info.width - reader.info.width % 2, reader.info.height - reader.info.height % 2
            stream.pix_fmt = "yuv420p"
            stream.time_base = TIME_BASE
            stream.codec_context.time_base = TIME_BASE
            stream.options = {"crf": str(int(crf)), "preset": preset}
            last_pts = -1
            for fr in reader:
                rgb = fr.rgb[: stream.height, : stream.width]
                frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
                pts = max(last_pts + 1, int(round(fr.t_s / TIME_BASE)))
                frame.pts, frame.time_base, last_pts = pts, TIME_BASE, pts
                for packet in stream.encode(frame):
                    out.mux(packet)
            for packet in stream.encode():
                out.mux(packet)
    return dst


def seed_offset_s(seed: int, clip_s: float) -> float:
    """Clip-grid offset (s) of a seed: 0 for seed 0, else uniform in [0, clip_s) from ``default_rng(seed)``."""
    return 0.0 if seed == 0 else float(np.random.default_rng(seed).uniform(0.0, clip_s))


@dataclass
class RobustnessResult:
    method: str
    dataset: str
    crfs: list[int]
    seeds: list[int]
    rmse: np.ndarray  # (n_crf, n_seed) bpm; NaN where nothing could be scored
    mae: np.ndarray  # (n_crf, n_seed)
    results: dict = field(default_factory=dict)  # (crf, seed) -> EvalResult

    @property
    def rmse_mean(self) -> np.ndarray:
        return np.nanmean(self.rmse, axis=1)

    @property
    def rmse_std(self) -> np.ndarray:
        return np.nanstd(self.rmse, axis=1)

    def to_dict(self) -> dict:
        def clean(a):
            return [[None if not np.isfinite(v) else float(v) for v in row] for row in a]

        return {
            "method": self.method, "dataset": self.dataset, "crfs": self.crfs, "seeds": self.seeds,
            "seed_meaning": "seed 0 = clips from 0 s; seed k>=1 = first clip at default_rng(k).uniform(0, clip_s) s",
            "rmse": clean(self.rmse), "mae": clean(self.mae),
            "rmse_mean": [float(v) for v in self.rmse_mean], "rmse_std": [float(v) for v in self.rmse_std],
            "failures": {f"crf{c}": [{"recording": n, "error": e} for n, e in self.results[(c, self.seeds[0])].failures]
                         for c in self.crfs if (c, self.seeds[0]) in self.results},
        }  # fmt: skip


def robustness(
    dataset: Dataset,
    method: str,
    recordings: Sequence[Recording],
    *,
    crfs: Sequence[int],
    seeds: int | Sequence[int],
    work_dir: str | Path,
    config: EvalConfig = EvalConfig(),
    workers: int | None = None,
    preset: str = "medium",
    progress: Callable[[str], None] | None = None,
    eval_progress=None,
) -> RobustnessResult:
    """RMSE/MAE per (CRF, seed) of ``method`` on ``recordings`` re-encoded into ``work_dir/crf<N>/``."""
    seeds = list(range(seeds)) if isinstance(seeds, int) else list(seeds)
    crfs = [int(c) for c in crfs]
    clip_s = config.clip_s or dataset.clip_s
    rmse = np.full((len(crfs), len(seeds)), np.nan)
    mae = np.full_like(rmse, np.nan)
    results = {}
    for i, crf in enumerate(crfs):
        recs = []
        for rec in recordings:
            dst = Path(work_dir) / f"crf{crf}" / f"{rec.name}.mp4"
            if not dst.is_file():
                if progress:
                    progress(f"re-encoding {rec.name} at CRF {crf}")
                reencode(rec.video_path, dst, crf=crf, preset=preset, timestamps_s=rec.frame_timestamps())
            recs.append(dataclasses.replace(rec, video_path=dst))
        for j, seed in enumerate(seeds):
            if progress:
                progress(f"CRF {crf}, seed {seed}: evaluating {method}")
            cfg = dataclasses.replace(config, clip_offset_s=seed_offset_s(seed, clip_s), keep_pseudo=False)
            res: EvalResult = evaluate(dataset, method, recordings=recs, config=cfg, protocol=f"crf{crf}",
                                       subset=f"seed {seed}", workers=workers if j == 0 else 1,
                                       progress=eval_progress)  # fmt: skip
            results[(crf, seed)] = res
            if res.metrics is not None:
                rmse[i, j], mae[i, j] = res.metrics.rmse, res.metrics.mae
    return RobustnessResult(method, dataset.name, crfs, seeds, rmse, mae, results)
