"""Shared loaders for the trust experiments (not part of the package).

UBFC: the STMap of each whole video is extracted once (cached in /tmp/trust_cache), put on the evaluation grid
exactly as ``pseudopulse.eval.runner.evaluate_recording`` does, and cut to the ground-truth overlap; clips are the
runner's non-overlapping 10-s clips (``cut_clips``); GT HR per clip = ``true_clip_hr`` (PSD peak of the GT PPG via
``estimate_hr``), the same read-out as the prediction.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"  # ../shared/data beside the checkout
UBFC_ROOT = SHARED / "real" / "ubfc_rppg_h264"
BIAS_ROOT = SHARED / "real" / "bias_eval_rppg"
CACHE = "/tmp/trust_cache"
WORK = Path("/tmp/trust_work")
CLIP_S = 10.0


def ubfc_recordings():
    """[(name, grid_stmap_cut_to_gt, fs, aligned_gt, clips)] for the 11 UBFC subjects."""
    from pseudopulse.datasets import get_dataset
    from pseudopulse.datasets.base import align_ground_truth
    from pseudopulse.eval.clips import cut_clips
    from pseudopulse.eval.recording import _eval_grid
    from pseudopulse.stmap.extract import extract_stmap

    out = []
    for rec in get_dataset("ubfc", UBFC_ROOT).recordings():
        times = rec.frame_timestamps()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            st = extract_stmap(rec.video_path, roi="face", grid=(5, 5), detect_every=10, cache_dir=CACHE,
                               fps=rec.fps, timestamps_s=times)
            grid_map, fs = _eval_grid(st, None)
            grid_t = grid_map.timestamps_s - grid_map.timestamps_s[0]
            aligned = align_ground_truth(rec.ground_truth(), grid_t, recording=rec.name)
        first = int(np.searchsorted(grid_t, aligned.t_s[0] - 1e-9))
        clips = cut_clips(rec.name, rec.subject_id, aligned.t_s, fs=fs, clip_s=CLIP_S, first=first)
        out.append((rec.name, grid_map, fs, aligned, first, clips))
    return out


_MODEL = None


def model():
    global _MODEL
    if _MODEL is None:
        import torch

        torch.set_num_threads(1)
        from pseudopulse.model import load_predictor

        _MODEL = load_predictor()
    return _MODEL


def bias_ground_truth() -> dict[tuple[str, str], float]:
    """{(country, video id): the video's mean HR (bpm)} from bias_eval_rppg's ``<country>_GT.csv`` files."""
    import csv

    gts = {}
    for country in ("India", "Sierra_Leone"):
        with open(BIAS_ROOT / f"{country}_GT.csv") as f:
            for row in list(csv.reader(f))[1:]:
                if row and row[0].strip():
                    gts[(country, row[0].strip())] = float(row[1])
    return gts
