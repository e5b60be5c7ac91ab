"""Shared loaders for the trust experiments (not part of the package).

UBFC: the STMap of each whole video is extracted once (cached in /tmp/trust_cache), put on the evaluation grid
exactly as ``pseudopulse.eval.runner.evaluate_recording`` does, and cut to the ground-truth overlap; clips are the
runner's non-overlapping 10-s clips (``cut_clips``); GT HR per clip = ``true_clip_hr`` (PSD peak of the GT PPG via
``estimate_hr``), the same read-out as the prediction.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np

# ../shared/data beside the checkout; PSEUDOPULSE_SHARED_DATA overrides it (a worktree lives elsewhere)
SHARED = Path(os.environ.get("PSEUDOPULSE_SHARED_DATA", Path(__file__).resolve().parents[3] / "shared" / "data"))
UBFC_ROOT = SHARED / "real" / "ubfc_rppg_h264"
BIAS_ROOT = SHARED / "real" / "bias_eval_rppg"
CACHE = os.environ.get("TRUST_CACHE", "/tmp/trust_cache")  # STMaps of whole videos and of generated clips
WORK = Path("/tmp/trust_work")
CLIP_S = 10.0


def score(err) -> dict:
    """Clip errors (bpm) summarised: MAE, share within 5 bpm, clips > 10 bpm off (gross), count."""
    err = np.abs(np.asarray(err))
    return {"mae": round(float(err.mean()), 2), "within5": round(float(np.mean(err <= 5)), 3),
            "n_gross": int(np.sum(err > 10)), "n": int(len(err))}  # fmt: skip


def ubfc_recordings(detect_every: int = 10):
    """[(name, grid_stmap_cut_to_gt, fs, aligned_gt, clips)] for the 11 UBFC subjects (landmarks every
    ``detect_every`` frames; the product's 10 by default)."""
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
            st = extract_stmap(rec.video_path, roi="face", grid=(5, 5), detect_every=detect_every, cache_dir=CACHE,
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


def ubfc_clips():
    """Yield ("ubfc", "<subject>/<k>", clip STMap, GT HR bpm) for the 63 10-s clips (each clip's STMap on its own)."""
    from pseudopulse.eval.clips import true_clip_hr

    for name, grid_map, fs, aligned, first, clips in ubfc_recordings():
        for c in clips:
            a, b = c.start - first, c.stop - first
            gt = true_clip_hr(ppg=aligned.ppg[a:b], hr_bpm=None, fs=fs, source="ppg")
            yield "ubfc", f"{name}/{c.index}", grid_map.slice(c.start, c.stop), gt


def synth_configs(seed: int = 7, n_free: int = 24, n_pulsed: int = 12, n_low: int = 12, rate_seed: int = 11,
                  drift_bpm: tuple[float, float] | None = None, duration_s: float = 10.0):
    """[(kind, SynthConfig)] of generated 10-s clips (``make_suite(seed=...)``, 320x240): ``n_free`` pulse-free
    (``pulse_amplitude=0``, motion/light/noise kept), ``n_pulsed`` as drawn (with ``drift_bpm`` = (lo, hi): each
    "drifting", its rate changing by a drawn lo-hi bpm over the clip), ``n_low`` re-rated to 45-60 bpm.
    ``duration_s``: clip length (s). Default: the 48 10-s clips the map is fitted on; ``FRESH`` is a suite no fit or
    threshold has seen."""
    from dataclasses import replace

    from pseudopulse.synth import make_suite

    cfgs = []
    base = make_suite(n_free + n_pulsed + n_low, seed=seed, duration_s=duration_s, width=320, height=240)
    rng = np.random.default_rng(rate_seed)
    drift_rng = np.random.default_rng(rate_seed + 1)
    for i, c in enumerate(base):
        if i < n_free:
            cfgs.append(("pulse_free", replace(c, pulse_amplitude=0.0)))
        elif i < n_free + n_pulsed and drift_bpm is not None:
            cfgs.append(("drifting", replace(c, hr_drift_bpm=round(float(drift_rng.uniform(*drift_bpm)), 1))))
        elif i < n_free + n_pulsed:
            cfgs.append(("pulsed", c))
        else:
            cfgs.append(("low_rate", replace(c, hr_bpm=round(float(rng.uniform(45, 60)), 1))))
    return cfgs


# declared 2026-11-29 before it was generated: a fresh suite for abstention and low-rate checks only (never fitted)
FRESH = dict(seed=23, n_free=24, n_pulsed=0, n_low=12, rate_seed=29)  # looked at in the twelfth round: now fitted on
FRESH2 = dict(seed=41, n_free=24, n_pulsed=0, n_low=12, rate_seed=43)  # twelfth round's fresh suite (LOG.md)
FRESH3 = dict(seed=53, n_free=24, n_pulsed=0, n_low=12, rate_seed=59)  # the pulse-presence gate's fresh suite
FRESH4 = dict(seed=67, n_free=24, n_pulsed=12, n_low=12, rate_seed=71)  # the colour gate's fresh suite (LOG.md, 15th round)
FRESH5 = dict(seed=79, n_free=24, n_pulsed=12, n_low=24, rate_seed=83)  # colour + half-rate gates (LOG.md, 16th round)
FRESH6 = dict(seed=89, n_free=24, n_pulsed=12, n_low=24, rate_seed=97)  # the half-rate gate alone (LOG.md, 17th round)
FRESH7 = dict(seed=101, n_free=24, n_pulsed=24, n_low=12, rate_seed=103, drift_bpm=(10.0, 30.0))  # rate-change gate (18th)
FRESH8 = dict(seed=113, n_free=24, n_pulsed=24, n_low=12, rate_seed=127, duration_s=30.0)  # long readings (19th)


def synth_clips(configs=None, prefix: str = "synth"):
    """Yield ("<prefix>-<kind>", "<prefix>NN", STMap, GT HR bpm (NaN when pulse-free)) for ``configs`` (default
    ``synth_configs()``); each clip's STMap is extracted once and kept in ``CACHE``/synth (keyed by the config)."""
    import hashlib
    import pickle

    from pseudopulse.signal import estimate_hr
    from pseudopulse.stmap.extract import extract_stmap_from_frames
    from pseudopulse.synth import ground_truth, iter_frames

    folder = Path(CACHE) / "synth"
    folder.mkdir(parents=True, exist_ok=True)
    for i, (kind, cfg) in enumerate(synth_configs() if configs is None else configs):
        gt = ground_truth(cfg)
        key = hashlib.sha1(repr(cfg).encode()).hexdigest()[:16]
        file = folder / f"{prefix}{i:02d}-{key}.pkl"
        if file.exists():
            st = pickle.loads(file.read_bytes())
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                st = extract_stmap_from_frames(iter_frames(cfg, gt), fps=cfg.fps, timestamps_s=gt.timestamps_s)
            file.write_bytes(pickle.dumps(st))
        truth = float("nan") if kind == "pulse_free" else float(estimate_hr(gt.ppg, float(st.fs)).hr_bpm)
        yield f"{prefix}-{kind}", f"{prefix}{i:02d}", st, truth


def bias_clips():
    """Yield ("skin-crops", "<video>/<k>", clip STMap, the video's mean HR) for the bias_eval_rppg skin crops."""
    from pseudopulse.stmap.extract import extract_stmap

    gts = bias_ground_truth()
    for d in sorted(p for p in BIAS_ROOT.iterdir() if p.is_dir()):
        country, vid = d.name.rsplit("_", 1)
        for video in sorted(d.glob("*.avi")):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                st = extract_stmap(video, roi="full-frame", cache_dir=CACHE)
            n = int(round(CLIP_S * st.fs))
            for k, s in enumerate(range(0, st.n_frames - n + 1, n)):
                yield "skin-crops", f"{video.stem}/{k}", st.slice(s, s + n), gts[(country, vid)]
