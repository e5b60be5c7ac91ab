"""Traced (numpy) peak of each whole-recording estimator on a long STMap (docs/reliability.md, Memory).

    PYTHONPATH=src python experiments/memory_methods.py [--minutes 60]

Builds the face-like STMap of ``tests/test_readout_memory.py`` at 30 fps (one ROI block) and prints, for POS, CHROM
and 2SR, the peak of traced allocations while ``resolve_predictor(name).uniform_wave`` runs, and what it keeps.
"""

from __future__ import annotations

import argparse
import sys
import tracemalloc
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=60.0)
    args = ap.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    import test_readout_memory as maps

    from pseudopulse.predictors import resolve_predictor

    maps.FS = 30.0
    stmap = maps._stmap(args.minutes, rois=1)
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
