"""Traced (numpy) peak of each whole-recording estimator on a long STMap (docs/reliability.md, Memory).

    PYTHONPATH=src python experiments/memory_methods.py [--minutes 60]

Builds a face-like STMap at 30 fps (one ROI block of skin pulsing at 72 bpm with sensor noise, like
``tests/test_readout_memory.py``) and prints, for POS, CHROM and 2SR, the peak of traced allocations while ``resolve_predictor(name).uniform_wave`` runs, and what it keeps.
"""

from __future__ import annotations

import argparse
import tracemalloc

import numpy as np

FS = 30.0  # Hz


def _stmap(minutes: float):
    """A (T, 1, 3) STMap of skin pulsing at 72 bpm with sensor noise, every frame valid."""
    from pseudopulse.stmap.types import STMap

    rng = np.random.default_rng(0)
    t = np.arange(int(minutes * 60 * FS)) / FS
    skin = np.array([180.0, 130.0, 110.0]) + 0.8 * np.array([0.33, 0.77, 0.53]) * np.sin(2 * np.pi * 1.2 * t)[:, None]
    values = skin[:, None, :] + rng.normal(0, 0.5, (len(t), 1, 3))
    mean = values.mean(axis=1)
    v = mean / 255.0
    corr = v[:, :, None] * v[:, None, :] + 1e-3 * np.eye(3)
    return STMap(values=values.astype(np.float32), timestamps_s=t, skin_mean=mean.astype(np.float32),
                 skin_corr=corr.astype(np.float32), skin_count=np.full(len(t), 10000, np.int32),
                 valid=np.ones(len(t), bool), grid=(1, 1), meta={"roi": "face"})  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=60.0)
    args = ap.parse_args()
    from pseudopulse.predictors import resolve_predictor

    stmap = _stmap(args.minutes)
    for name in ("pos", "chrom", "2sr"):
        predictor = resolve_predictor(name)
        tracemalloc.start()
        start, _ = tracemalloc.get_traced_memory()
        predictor.uniform_wave(stmap)
        cur, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(f"{name}: {stmap.n_frames} frames, traced peak {(peak - start) / 2**20:.1f} MB, kept {(cur - start) / 2**20:.1f} MB")


if __name__ == "__main__":
    main()
