"""Probe: does the keyframe interval (landmarks every ``detect_every`` frames, interpolated) make wrong 10-s readings?

The 11 UBFC recordings are extracted with ``detect_every`` 10 (the product), 3 and 1 (STMaps cached in the trust
cache), cut into the runner's 63 clips (``common.ubfc_recordings``) and read by the model and POS through the product
path (``read_stmap``). Writes results/keyframe_alias.{json,md}. Declared in experiments/LOG.md (thirteenth round).

    PYTHONPATH=src:. python -m experiments.trust.keyframe_alias [detect_every ...]
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import numpy as np

from experiments.trust import common

OUT = Path(__file__).resolve().parent / "results"


def readings(detect_every: int) -> list[dict]:
    from pseudopulse.eval.clips import true_clip_hr
    from pseudopulse.reading import read_stmap

    rows = []
    for name, grid_map, fs, aligned, first, clips in common.ubfc_recordings(detect_every=detect_every):
        for c in clips:
            a, b = c.start - first, c.stop - first
            gt = true_clip_hr(ppg=aligned.ppg[a:b], hr_bpm=None, fs=fs, source="ppg")
            clip = grid_map.slice(c.start, c.stop)
            row = {"clip": f"{name}/{c.index}", "truth": float(gt)}
            for method in ("model", "pos"):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    r = read_stmap(clip, common.model() if method == "model" else method)
                row[method] = {"hr": r.hr_bpm, "confidence": r.confidence.value, "reliable": r.confidence.reliable}
            rows.append(row)
            print(detect_every, row["clip"], round(gt, 1), {m: round(row[m]["hr"], 1) for m in ("model", "pos")}, flush=True)
    return rows


def summary(rows: list[dict], method: str) -> dict:
    err = np.array([abs(r[method]["hr"] - r["truth"]) for r in rows])
    rel = np.array([r[method]["reliable"] for r in rows])
    return {"clips": len(rows), "mae": float(err.mean()), "within5": float(np.mean(err <= 5)), "over10": int(np.sum(err > 10)),
            "reliable": int(rel.sum()), "largest_reliable_error": float(err[rel].max()) if rel.any() else None,
            "reliable_over10": int(np.sum(err[rel] > 10))}  # fmt: skip


def main(settings: list[int]) -> None:
    res = {de: readings(de) for de in settings}
    lines = ["| detect_every | method | clips | MAE | within 5 | > 10 off | reliable | largest reliable error | reliable > 10 off |",
             "|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
    summ = {}
    for de, rows in res.items():
        for m in ("model", "pos"):
            s = summ.setdefault(str(de), {})[m] = summary(rows, m)
            lre = "—" if s["largest_reliable_error"] is None else f"{s['largest_reliable_error']:.1f}"
            lines.append(f"| {de} | {m} | {s['clips']} | {s['mae']:.2f} | {s['within5']:.3f} | {s['over10']} | {s['reliable']} | {lre} | {s['reliable_over10']} |")
    base = res[settings[0]]
    lines += ["", f"Clips whose model reading moves by > 5 bpm from detect_every={settings[0]} (truth, readings):", ""]
    for i, r in enumerate(base):
        hrs = [res[de][i]["model"]["hr"] for de in settings]
        if max(hrs) - min(hrs) > 5:
            lines.append(f"- {r['clip']}: truth {r['truth']:.1f}; " + ", ".join(f"every {de}: {h:.1f}" for de, h in zip(settings, hrs)))
    OUT.mkdir(exist_ok=True)
    (OUT / "keyframe_alias.json").write_text(json.dumps({"summary": summ, "clips": {str(k): v for k, v in res.items()}}, indent=1))
    (OUT / "keyframe_alias.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [10, 3, 1])
