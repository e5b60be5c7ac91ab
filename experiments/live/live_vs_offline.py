"""The live track against the offline HR track, and against the contact PPG, on every recording of a UBFC-rPPG folder.

For each recording: ``pseudopulse.stream(video, pace="fast")`` (the live engine end to end: decode, face, rows,
windows) and ``pseudopulse.predict(video)`` (offline: its ``hr_track``). A live update at stream time t reads the
window (t - 10 s, t]; the offline window with centre t - 5 s covers the same span, so the two are paired on that
time (within half a hop). Reports per recording: the median |live - offline| (bpm), the share of pairs within 5 bpm,
and for both the MAE against the contact PPG's rate over the same window (``eval`` ground truth read-out) over all
windows and over the windows each marks reliable.

    PYTHONPATH=src .venv/bin/python experiments/live/live_vs_offline.py --ubfc ../shared/data/real/ubfc_rppg_h264 \\
        --out experiments/live/results/live_vs_offline.json [--method model] [--cache-dir .cache/pseudopulse]
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np


def window_truth(rec, centres_s: np.ndarray, window_s: float) -> np.ndarray:
    """Contact-PPG rate (bpm) of each ``window_s`` window centred at ``centres_s`` (s from the video's start)."""
    from pseudopulse.signal import estimate_hr

    gt = rec.ground_truth()
    t, w = np.asarray(gt.timestamps_s, float), np.asarray(gt.ppg, float)
    fs = (len(t) - 1) / (t[-1] - t[0])
    out = []
    for c in centres_s:
        m = (t >= c - window_s / 2) & (t < c + window_s / 2)
        out.append(estimate_hr(w[m], fs).hr_bpm if m.sum() > fs * window_s * 0.9 else np.nan)
    return np.array(out)


def compare(rec, method: str, cache_dir, window_s: float = 10.0) -> dict:
    import pseudopulse

    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        updates = [u for u in pseudopulse.stream(rec.video_path, method, pace="fast", window_s=window_s)]
        live_s = time.perf_counter() - t0
        off = pseudopulse.predict(rec.video_path, method, cache_dir=cache_dir)
    read = [u for u in updates if u.hr_bpm is not None]
    lt = np.array([u.t_s - window_s / 2 for u in read])  # centre of each live window
    lh = np.array([u.hr_bpm for u in read])
    lrel = np.array([u.reliable for u in read])
    j = np.array([int(np.argmin(np.abs(off.track_t_s - c))) for c in lt])
    paired = np.abs(off.track_t_s[j] - lt) <= 0.5
    oh, orel = off.track_hr_bpm[j], off.track_confidence[j] >= off.min_confidence
    truth = window_truth(rec, lt, window_s)
    ok = paired & np.isfinite(truth)
    d = np.abs(lh - oh)[paired]

    def mae(h, keep):
        keep = keep & ok
        return (round(float(np.mean(np.abs(h - truth)[keep])), 2), int(keep.sum()))

    return {
        "updates": len(updates), "readings": len(read), "paired": int(paired.sum()),
        "median_abs_diff_bpm": round(float(np.median(d)), 2) if len(d) else None,
        "within_5bpm_share": round(float(np.mean(d <= 5)), 3) if len(d) else None,
        "live_mae_all": mae(lh, np.ones_like(ok)), "offline_mae_all": mae(oh, np.ones_like(ok)),
        "live_mae_reliable": mae(lh, lrel), "offline_mae_reliable": mae(oh, orel),
        "live_reliable_share": round(float(lrel.mean()), 3) if len(lrel) else None,
        "offline_reliable_share": round(float(orel[paired].mean()), 3) if paired.any() else None,
        "live_seconds": round(live_s, 1), "video_seconds": round(float(off.duration_s), 1),
        "median_latency_s": round(float(np.median([u.latency_s for u in read])), 3) if read else None,
        "pairs": [[round(float(a), 2), round(float(b), 2), round(float(c), 2), bool(r), bool(q)]
                  for a, b, c, r, q, k in zip(lh, oh, truth, lrel, orel, ok) if k],  # live, offline, truth, reliable
    }  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ubfc", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--method", default="model")
    ap.add_argument("--cache-dir", type=Path, default=Path(".cache/pseudopulse"))
    ap.add_argument("--subjects", default="", help="comma-separated subject folders (default: all)")
    args = ap.parse_args()
    from pseudopulse.datasets import get_dataset

    recs = get_dataset("ubfc", args.ubfc).recordings()
    keep = {s.strip() for s in args.subjects.split(",") if s.strip()}
    rows = {}
    for rec in recs:
        if keep and rec.name not in keep:
            continue
        rows[rec.name] = compare(rec, args.method, args.cache_dir)
        print(rec.name, rows[rec.name], flush=True)
    med = [r["median_abs_diff_bpm"] for r in rows.values() if r["median_abs_diff_bpm"] is not None]
    p = np.array([q for r in rows.values() for q in r["pairs"]], dtype=float).reshape(-1, 5)
    live_err, off_err, rel = np.abs(p[:, 0] - p[:, 2]), np.abs(p[:, 1] - p[:, 2]), p[:, 3] > 0
    allpairs = {"median_of_medians_bpm": round(float(np.median(med)), 2) if med else None,
                "pooled_median_abs_diff_bpm": round(float(np.median(np.abs(p[:, 0] - p[:, 1]))), 2),
                "pairs": int(len(p)), "live_mae": round(float(live_err.mean()), 2),
                "offline_mae": round(float(off_err.mean()), 2), "live_reliable_share": round(float(rel.mean()), 3),
                "live_reliable_mae": round(float(live_err[rel].mean()), 2) if rel.any() else None,
                "live_reliable_within_5bpm": round(float(np.mean(live_err[rel] <= 5)), 3) if rel.any() else None,
                "live_reliable_max_error_bpm": round(float(live_err[rel].max()), 2) if rel.any() else None,
                "offline_reliable_share": round(float(np.mean(p[:, 4] > 0)), 3),
                "offline_reliable_mae": round(float(off_err[p[:, 4] > 0].mean()), 2) if (p[:, 4] > 0).any() else None,
                "offline_reliable_within_5bpm": round(float(np.mean(off_err[p[:, 4] > 0] <= 5)), 3) if (p[:, 4] > 0).any() else None,
                "offline_reliable_max_error_bpm": round(float(off_err[p[:, 4] > 0].max()), 2) if (p[:, 4] > 0).any() else None,
                "recordings": len(rows), "method": args.method}  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"summary": allpairs, "recordings": rows}, indent=1) + "\n")
    print(json.dumps(allpairs))


if __name__ == "__main__":
    main()
