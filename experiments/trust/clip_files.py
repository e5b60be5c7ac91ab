"""The paper's protocol as a user meets it: every 10-s UBFC clip written as its own video file and read by
``pseudopulse.predict`` (face tracking starts cold in each file), against the same clips cut from the whole-video
STMap (what the confidence map was fitted on).

    PYTHONPATH=src:. nice -n 10 .venv/bin/python -m experiments.trust.clip_files [--methods model pos]

Clips: the 63 non-overlapping 10-s clips of ``common.ubfc_clips`` (the runner's grid, GT = PSD peak of the contact
PPG over the clip). Each clip's frames (capture-clock timestamps of ``ground_truth.txt``, kept as the file's
timestamps) are re-encoded with libx264 CRF 12 (yuv420p) into /tmp/trust_work/clip_files/. Writes
experiments/trust/results/clip_files.{json,md}: per method, MAE, within 5 bpm, reliable clips and their errors,
reliable clips > 10 bpm off; per clip, file vs slice readings.
"""

from __future__ import annotations

import argparse
import json
import warnings
from fractions import Fraction
from pathlib import Path

import numpy as np

from experiments.trust import common

OUT = Path(__file__).resolve().parent / "results"
CLIP_DIR = common.WORK / "clip_files"
TIME_BASE = Fraction(1, 90000)


def write_clip(video: Path, times_s: np.ndarray, t0: float, t1: float, out: Path) -> int:
    """Frames of ``video`` whose capture times (``times_s``, one per decoded frame) lie in [t0, t1) -> ``out`` (mp4,
    timestamps from t0 kept); returns the number of frames written."""
    import av

    if out.exists():
        return -1
    tmp = out.with_suffix(".part.mp4")
    n = 0
    with av.open(str(video)) as src, av.open(str(tmp), "w") as dst:
        s = dst.add_stream("libx264", rate=30, options={"crf": "12", "preset": "fast"})
        s.time_base = s.codec_context.time_base = TIME_BASE  # variable frame times, kept as captured
        for i, frame in enumerate(src.decode(video=0)):
            if i >= len(times_s) or times_s[i] >= t1:
                break
            if times_s[i] < t0:
                continue
            if n == 0:
                s.width, s.height, s.pix_fmt = frame.width, frame.height, "yuv420p"
            f = av.VideoFrame.from_ndarray(frame.to_ndarray(format="rgb24"), format="rgb24")
            f.pts, f.time_base = int(round((times_s[i] - t0) / TIME_BASE)), TIME_BASE
            for p in s.encode(f):
                dst.mux(p)
            n += 1
        for p in s.encode():
            dst.mux(p)
    tmp.rename(out)
    return n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--methods", nargs="+", default=["model", "pos"])
    args = ap.parse_args()
    import pseudopulse
    from pseudopulse.datasets import get_dataset
    from pseudopulse.eval.clips import true_clip_hr
    from pseudopulse.reading import read_stmap

    warnings.simplefilter("ignore")
    CLIP_DIR.mkdir(parents=True, exist_ok=True)
    recs = {r.name: r for r in get_dataset("ubfc", common.UBFC_ROOT).recordings()}
    rows = []
    for name, grid_map, fs, aligned, first, clips in common.ubfc_recordings():
        rec = recs[name]
        times = np.asarray(rec.frame_timestamps(), dtype=np.float64)
        origin = float(grid_map.timestamps_s[0])
        for c in clips:
            a, b = c.start - first, c.stop - first
            gt = true_clip_hr(ppg=aligned.ppg[a:b], hr_bpm=None, fs=fs, source="ppg")
            path = CLIP_DIR / f"{name}_{c.index}.mp4"
            write_clip(rec.video_path, times, origin + c.start_s, origin + c.end_s, path)
            row = {"clip": f"{name}/{c.index}", "subject": name, "truth": gt}
            for m in args.methods:
                r = pseudopulse.predict(path, method=m)
                s = read_stmap(grid_map.slice(c.start, c.stop), m)
                row[m] = {"file_hr": r.hr_bpm, "file_conf": r.confidence, "file_reliable": bool(r.reliable),
                          "slice_hr": s.hr_bpm, "slice_conf": s.confidence.value, "slice_reliable": bool(s.reliable)}  # fmt: skip
            rows.append(row)
            print(row["clip"], round(gt, 1), {m: (round(row[m]["file_hr"], 1), round(row[m]["file_conf"], 2),
                                                  round(row[m]["slice_hr"], 1)) for m in args.methods}, flush=True)  # fmt: skip
    summary = {m: summarise(rows, m) for m in args.methods}
    OUT.mkdir(exist_ok=True)
    json.dump({"summary": summary, "clips": rows}, open(OUT / "clip_files.json", "w"), indent=1)
    (OUT / "clip_files.md").write_text(to_markdown(summary))
    print(to_markdown(summary))


def summarise(rows: list[dict], m: str) -> dict:
    out = {}
    for where in ("file", "slice"):
        err = np.array([r[m][f"{where}_hr"] - r["truth"] for r in rows])
        rel = np.array([r[m][f"{where}_reliable"] for r in rows])
        e_rel = np.abs(err[rel])
        out[where] = {"n": len(rows), "mae": round(float(np.mean(np.abs(err))), 2),
                      "within5": round(float(np.mean(np.abs(err) <= 5)), 3), "reliable": int(rel.sum()),
                      "mae_reliable": round(float(e_rel.mean()), 2) if e_rel.size else None,
                      "within5_reliable": round(float(np.mean(e_rel <= 5)), 3) if e_rel.size else None,
                      "max_reliable": round(float(e_rel.max()), 1) if e_rel.size else None,
                      "reliable_over10": int(np.sum(e_rel > 10))}  # fmt: skip
    return out


def to_markdown(summary: dict) -> str:
    lines = ["| method | clips read as | clips | MAE | within 5 | reliable | MAE reliable | within 5 reliable | "
             "largest reliable error | reliable > 10 bpm off |", "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for m, s in summary.items():
        for where, label in (("file", "own video file (predict)"), ("slice", "slice of the whole-video STMap")):
            v = s[where]
            lines.append(f"| {m} | {label} | {v['n']} | {v['mae']} | {v['within5']} | {v['reliable']} | "
                         f"{v['mae_reliable']} | {v['within5_reliable']} | {v['max_reliable']} | {v['reliable_over10']} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
