"""Probe: does the face move at the rate a wrong 10-s clip reads? (experiments/LOG.md, thirteenth round)

Per UBFC recording: the product's face tracker (``FaceMeshDetector``, landmarks every 10th frame, interpolated) on
the whole video -> per-frame face centre (x, y) and size (RMS landmark distance from the centre), in units of the
recording's median face height, put on the clips' grid (``common.ubfc_recordings``). Per clip: the three series
detrended and band-passed (0.7-4 Hz), their periodograms summed; ``motion_share`` = share of that band power within
+-5 bpm of the model's reading (results/keyframe_alias.json, every 10th frame), ``motion_amp`` = the largest of the
three series' amplitudes at the reading (% of face height). Writes results/motion_probe.{json,md}.

    PYTHONPATH=src:. python -m experiments.trust.motion_probe
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
from scipy.signal import butter, detrend, sosfiltfilt

from experiments.trust import common

OUT = Path(__file__).resolve().parent / "results"
BAND_HZ = (0.7, 4.0)
TOL_BPM = 5.0


def face_motion(video, timestamps_s=None, fps=None) -> tuple[np.ndarray, np.ndarray]:
    """(times s (T,), (T, 3) face centre x, y and size in units of the median face height; NaN without a face)."""
    from pseudopulse.face.detector import FaceMeshDetector
    from pseudopulse.face.track import FaceTracker
    from pseudopulse.io import open_video

    ts, rows = [], []
    with open_video(video, fps=fps, timestamps_s=timestamps_s) as reader, FaceMeshDetector() as det:
        for tf in FaceTracker(det).track(reader):
            ts.append(tf.frame.t_s)
            if tf.landmarks is None:
                rows.append([np.nan] * 4)
                continue
            p = tf.landmarks.astype(np.float64)
            c = p.mean(axis=0)
            rows.append([c[0], c[1], np.sqrt(((p - c) ** 2).sum(axis=1).mean()), np.ptp(p[:, 1])])
    a = np.array(rows)
    height = np.nanmedian(a[:, 3])
    return np.array(ts), a[:, :3] / height


def clip_features(motion: np.ndarray, fs: float, read_bpm: float) -> dict:
    sos = butter(2, BAND_HZ, btype="band", fs=fs, output="sos")
    x = sosfiltfilt(sos, detrend(np.nan_to_num(motion - np.nanmean(motion, axis=0)), axis=0), axis=0)
    n = len(x)
    freqs = np.fft.rfftfreq(n, 1 / fs) * 60
    spec = np.abs(np.fft.rfft(x * np.hanning(n)[:, None], axis=0)) ** 2  # (F, 3)
    band = (freqs >= BAND_HZ[0] * 60) & (freqs <= BAND_HZ[1] * 60)
    near = band & (np.abs(freqs - read_bpm) <= TOL_BPM)
    total = spec[band].sum()
    amp = 2 * np.sqrt(spec[near].max(axis=0)) / np.hanning(n).sum() if near.any() else np.zeros(3)
    return {"motion_share": float(spec[near].sum() / total) if total > 0 else float("nan"),
            "motion_amp_pct": float(100 * amp.max()),
            "motion_peak_bpm": float(freqs[band][np.argmax(spec[band].sum(axis=1))])}  # fmt: skip


def auroc(pos: np.ndarray, neg: np.ndarray) -> float:
    """P(a random ``pos`` value > a random ``neg`` value), ties half."""
    if not len(pos) or not len(neg):
        return float("nan")
    d = pos[:, None] - neg[None, :]
    return float((d > 0).mean() + 0.5 * (d == 0).mean())


def main() -> None:
    from pseudopulse.datasets import get_dataset

    readings = {r["clip"]: r for r in json.loads((OUT / "keyframe_alias.json").read_text())["clips"]["10"]}
    recs = {rec.name: rec for rec in get_dataset("ubfc", common.UBFC_ROOT).recordings()}
    rows = []
    for name, grid_map, fs, aligned, first, clips in common.ubfc_recordings():
        rec = recs[name]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t, motion = face_motion(rec.video_path, timestamps_s=rec.frame_timestamps(), fps=rec.fps)
        grid_t = grid_map.timestamps_s
        on_grid = np.column_stack([np.interp(grid_t, t, motion[:, k]) for k in range(3)])
        for c in clips:
            r = readings[f"{name}/{c.index}"]
            seg = on_grid[c.start:c.stop]
            row = {"clip": r["clip"], "truth": r["truth"], "read": r["model"]["hr"], "reliable": r["model"]["reliable"],
                   "error": abs(r["model"]["hr"] - r["truth"]), **clip_features(seg, fs, r["model"]["hr"])}  # fmt: skip
            row["at_truth"] = clip_features(seg, fs, r["truth"])
            rows.append(row)
            print(row["clip"], round(row["truth"], 1), round(row["read"], 1), {k: round(v, 3) for k, v in row.items()
                  if k.startswith("motion")}, flush=True)  # fmt: skip
    right = [r for r in rows if r["error"] <= TOL_BPM]
    wrong = [r for r in rows if r["error"] > TOL_BPM]
    lines = [f"{len(rows)} clips: {len(right)} right (model within 5 bpm), {len(wrong)} wrong.", "",
             "| feature at the model's reading | right: median (range) | wrong: median (range) | AUROC wrong > right | subject15/5 |",
             "|---|---|---|---:|---:|"]  # fmt: skip
    s155 = next(r for r in rows if r["clip"] == "subject15/5")
    for k in ("motion_share", "motion_amp_pct"):
        a, b = np.array([r[k] for r in right]), np.array([r[k] for r in wrong])
        lines.append(f"| {k} | {np.median(a):.3f} ({a.min():.3f}–{a.max():.3f}) | {np.median(b):.3f} ({b.min():.3f}–{b.max():.3f}) | "
                     f"{auroc(b, a):.3f} | {s155[k]:.3f} |")  # fmt: skip
    lines += ["", "Wrong clips (truth, read, motion share / amplitude at the reading, the motion's own peak):", ""]
    for r in sorted(wrong, key=lambda r: -r["motion_share"]):
        lines.append(f"- {r['clip']}: truth {r['truth']:.1f}, read {r['read']:.1f}{' (reliable)' if r['reliable'] else ''}; "
                     f"share {r['motion_share']:.3f}, amp {r['motion_amp_pct']:.3f} %, motion peak {r['motion_peak_bpm']:.0f} bpm")  # fmt: skip
    OUT.mkdir(exist_ok=True)
    (OUT / "motion_probe.json").write_text(json.dumps(rows, indent=1))
    (OUT / "motion_probe.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
