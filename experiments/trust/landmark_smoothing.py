"""Probe: does keyframe landmark jitter put a pulse-like signal into the STMap, and does smoothing it help?

    PYTHONPATH=src:. nice -n 10 .venv/bin/python -m experiments.trust.landmark_smoothing

The face tracker detects landmarks every 10th frame and interpolates linearly in between, so keyframe-to-keyframe
jitter (~0.5 px) moves every skin block together at the keyframe rate, and linear interpolation shapes that
jitter into the low heart-rate band (the spectrum of a piecewise-linear track falls as sinc^4 up to the keyframe
rate). On a still generated face without pulse the ROIs' in-band green changes were 5x larger tracked than with
the landmarks frozen (FINDINGS.md part g). Here, per UBFC recording: pass 1 extracts the STMap with the product's
detector and records every keyframe's landmarks; pass 2 extracts it again from the same frames with the keyframe
landmarks smoothed over keyframes by a zero-phase binomial filter (1, 4, 6, 4, 1)/16 (response at 1 Hz with
keyframes at ~2.9 Hz: 5 %; at 0.3 Hz: 81 %). Both maps are read like ``common.ubfc_clips`` (63 10-s clips, model,
``read_stmap``) and as whole recordings (``predict_stmap``). Writes results/landmark_smoothing.{json,md}.
A probe (declared in experiments/LOG.md before scoring), not a change to the product.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np

from experiments.trust import common

OUT = Path(__file__).resolve().parent / "results"
KERNEL = np.array([1.0, 4.0, 6.0, 4.0, 1.0]) / 16.0


class Recording:
    """The product's detector, keeping every result in call order."""

    def __init__(self):
        from pseudopulse.face.detector import FaceMeshDetector

        self.inner, self.calls = FaceMeshDetector(), []
        self.name = self.inner.name

    def detect(self, rgb):
        out = self.inner.detect(rgb)
        self.calls.append(None if out is None else np.asarray(out, np.float64))
        return out

    def close(self):
        self.inner.close()


class Replay:
    """Returns given landmarks in call order (the smoothed keyframes of a ``Recording``)."""

    def __init__(self, calls):
        self.calls, self.i, self.name = calls, 0, "replay"

    def detect(self, rgb):
        out = self.calls[self.i]
        self.i += 1
        return None if out is None else out.astype(np.float32)

    def close(self):
        pass


def smoothed(calls: list) -> list:
    """Zero-phase binomial smoothing over consecutive found keyframes (runs split where the face is lost)."""
    out = list(calls)
    i = 0
    while i < len(calls):
        if calls[i] is None:
            i += 1
            continue
        j = i
        while j < len(calls) and calls[j] is not None:
            j += 1
        run = np.stack(calls[i:j])  # (K, 468, 2)
        if len(run) >= 3:
            pad = np.pad(run, ((2, 2), (0, 0), (0, 0)), mode="reflect" if len(run) > 2 else "edge")
            sm = sum(w * pad[k : k + len(run)] for k, w in enumerate(KERNEL))
            out[i:j] = list(sm)
        i = j
    return out


def clips_of(st, rec):
    """(grid map, fs, aligned GT, first, clips) exactly as ``common.ubfc_recordings`` builds them."""
    from pseudopulse.datasets.base import align_ground_truth
    from pseudopulse.eval.clips import cut_clips
    from pseudopulse.eval.recording import _eval_grid

    grid_map, fs = _eval_grid(st, None)
    grid_t = grid_map.timestamps_s - grid_map.timestamps_s[0]
    aligned = align_ground_truth(rec.ground_truth(), grid_t, recording=rec.name)
    first = int(np.searchsorted(grid_t, aligned.t_s[0] - 1e-9))
    return grid_map, fs, aligned, first, cut_clips(rec.name, rec.subject_id, aligned.t_s, fs=fs, clip_s=common.CLIP_S, first=first)


def read(st, rec) -> tuple[list[dict], dict]:
    from pseudopulse.api import predict_stmap
    from pseudopulse.eval.clips import true_clip_hr
    from pseudopulse.reading import read_stmap
    from pseudopulse.signal import estimate_hr

    grid_map, fs, aligned, first, clips = clips_of(st, rec)
    rows = []
    for c in clips:
        a, b = c.start - first, c.stop - first
        gt = true_clip_hr(ppg=aligned.ppg[a:b], hr_bpm=None, fs=fs, source="ppg")
        r = read_stmap(grid_map.slice(c.start, c.stop), "model")
        rows.append({"clip": f"{rec.name}/{c.index}", "truth": gt, "hr": r.hr_bpm, "conf": r.confidence.value,
                     "reliable": bool(r.reliable)})  # fmt: skip
    whole = predict_stmap(grid_map.slice(first, first + len(aligned.t_s)), method="model")
    return rows, {"recording": rec.name, "truth": estimate_hr(aligned.ppg, fs).hr_bpm, "hr": whole.hr_bpm}


def summary(rows: list[dict]) -> dict:
    err = np.abs([r["hr"] - r["truth"] for r in rows])
    rel = np.array([r["reliable"] for r in rows])
    return {"mae": round(float(err.mean()), 2), "within5": round(float(np.mean(err <= 5)), 3), "over10": int(np.sum(err > 10)),
            "reliable": int(rel.sum()), "reliable_max_err": round(float(err[rel].max()), 1) if rel.any() else None}  # fmt: skip


def main() -> None:
    from pseudopulse.datasets import get_dataset
    from pseudopulse.io.video import open_video
    from pseudopulse.stmap.extract import extract_stmap_from_frames

    warnings.simplefilter("ignore")
    res = {"tracked": {"clips": [], "whole": []}, "smoothed": {"clips": [], "whole": []}}
    for rec in get_dataset("ubfc", common.UBFC_ROOT).recordings():
        times = rec.frame_timestamps()
        kw = dict(fps=rec.fps, timestamps_s=times, detect_every=10)
        det = Recording()
        with open_video(rec.video_path, fps=rec.fps, timestamps_s=times) as v:
            st1 = extract_stmap_from_frames(iter(v), detector=det, source=rec.name, **kw)
        with open_video(rec.video_path, fps=rec.fps, timestamps_s=times) as v:
            st2 = extract_stmap_from_frames(iter(v), detector=Replay(smoothed(det.calls)), source=rec.name, **kw)
        det.close()
        for name, st in (("tracked", st1), ("smoothed", st2)):
            rows, whole = read(st, rec)
            res[name]["clips"] += rows
            res[name]["whole"].append(whole)
        print(rec.name, summary(res["tracked"]["clips"][-len(rows):]), summary(res["smoothed"]["clips"][-len(rows):]), flush=True)
    out = {k: {"clips": summary(v["clips"]), "whole_mae": round(float(np.mean([abs(w["hr"] - w["truth"]) for w in v["whole"]])), 2)}
           for k, v in res.items()}  # fmt: skip
    OUT.mkdir(exist_ok=True)
    json.dump({"summary": out, "detail": res}, open(OUT / "landmark_smoothing.json", "w"), indent=1)
    lines = ["| landmarks | clip MAE | within 5 | > 10 bpm off | reliable | largest reliable error | whole-recording MAE |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for k, v in out.items():
        c = v["clips"]
        lines.append(f"| {k} | {c['mae']} | {c['within5']} | {c['over10']} | {c['reliable']} | {c['reliable_max_err']} | {v['whole_mae']} |")
    (OUT / "landmark_smoothing.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
