"""The read-out's memory is bounded by its windows, not by the recording's length (issue #21).

A reading of a long recording (``reading.read_stmap``: the wave's rate, its HR track, the other estimators and the
per-ROI POS waves with their tracks, the confidence) must work in blocks of windows; only a few (N,) waves may grow
with the length. Measured as the peak of traced (numpy) allocations with ``tracemalloc``, on STMaps built in memory
at a low frame rate (cheap), at lengths where every block is already full (5 and 20 min). What may grow is a track's
band spectrum per window (277 float64 bins, 2.2 KB a window, one window a second: the reading's own track, which it
returns, and the track being read at the time) and a few (N,) waves: at most ``BUDGET_B_PER_S`` bytes per second of
recording (measured: about 5.5 KB). Before the fix (whole-recording Welch
spectra, (K, T) face masks, (K, G) window spectra) the read-out grew by about 19 KB per second at 8 Hz.
"""

from __future__ import annotations

import tracemalloc

import numpy as np

from pseudopulse.reading import read_stmap
from pseudopulse.stmap.types import STMap

FS = 8.0  # Hz: above the 2.5-Hz band edge of CHROM, cheap
HR_BPM = 72.0
BUDGET_B_PER_S = 8192  # growth of the read-out's peak per second of recording (two spectrum rows, a few samples)


def _stmap(minutes: float, rois: int = 4, seed: int = 0) -> STMap:
    """A face-like STMap (T, rois, 3) of skin pulsing at HR_BPM with sensor noise, every frame valid."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(minutes * 60 * FS)) / FS
    pulse = np.sin(2 * np.pi * HR_BPM / 60.0 * t)
    skin = np.array([180.0, 130.0, 110.0]) + 0.8 * np.array([0.33, 0.77, 0.53]) * pulse[:, None]  # (T, 3)
    values = skin[:, None, :] + rng.normal(0, 0.5, (len(t), rois, 3))
    mean = values.mean(axis=1)
    v = mean / 255.0
    corr = v[:, :, None] * v[:, None, :] + 1e-3 * np.eye(3)  # V^T V / N of skin pixels around the mean colour
    return STMap(values=values.astype(np.float32), timestamps_s=t, skin_mean=mean.astype(np.float32),
                 skin_corr=corr.astype(np.float32), skin_count=np.full(len(t), 10000, np.int32),
                 valid=np.ones(len(t), bool), grid=(2, 2), meta={"roi": "face", "roi_px": 10000.0})  # fmt: skip


def _peak_mb(stmap: STMap) -> tuple[float, float]:
    """(peak MB of numpy allocations while reading ``stmap`` with POS, its heart rate in bpm)."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        start, _ = tracemalloc.get_traced_memory()
        r = read_stmap(stmap, "pos")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return (peak - start) / 2**20, r.hr_bpm


def test_readout_memory_does_not_grow_with_length():
    short, long_ = _stmap(5.0), _stmap(20.0)  # 256 track windows (one block) fit in 5 min at a 1-s hop
    peak_short, hr_short = _peak_mb(short)
    peak_long, hr_long = _peak_mb(long_)
    assert abs(hr_short - HR_BPM) < 2 and abs(hr_long - HR_BPM) < 2
    per_s = (peak_long - peak_short) * 2**20 / (long_.duration_s - short.duration_s)
    assert per_s <= BUDGET_B_PER_S, (
        f"read-out peak {peak_long:.1f} MB at 20 min vs {peak_short:.1f} MB at 5 min: {per_s:.0f} B more per second "
        f"of recording (budget {BUDGET_B_PER_S}); some stage holds the whole recording at once"
    )
