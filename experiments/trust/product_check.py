"""The shipped trust path, scored: ``pseudopulse.reading.read_stmap`` (what ``predict`` runs) on independent 10-s
clips of every test set, at the default threshold (``signal.confidence.DEFAULT_THRESHOLD``, declared before this
script was run).

    .venv/bin/python -m experiments.trust.product_check [--methods model pos] [--sets ubfc synth bias]

Sets: the 63 10-s clips of the 11 UBFC-rPPG subjects (each clip's STMap read on its own; GT = ``true_clip_hr``);
48 generated 10-s clips (``common.synth_configs``: 24 pulse-free, 12 pulsed, 12 at 45-60 bpm); the skin crops of
``bias_eval_rppg`` (``roi="full-frame"``, 10-s clips, GT = the video's mean HR). Writes
experiments/trust/results/product_check.{json,md}. Note: the confidence map was fitted on generated clips and all 11
UBFC subjects, so the UBFC rows are in-sample for the map (not for the threshold rule, which used
leave-one-subject-out); the skin crops and the pulse-free clips of this run are the out-of-sample checks.
"""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path

import numpy as np

from experiments.trust import common
from pseudopulse.reading import read_stmap
from pseudopulse.signal.confidence import DEFAULT_THRESHOLD

OUT = Path(__file__).resolve().parent / "results"


def summarise(rows: list[dict]) -> dict:
    out = {}
    for key in sorted({(r["set"], r["method"]) for r in rows}):
        rs = [r for r in rows if (r["set"], r["method"]) == key]
        rel = [r for r in rs if r["reliable"]]
        err = np.array([abs(r["error"]) for r in rs if np.isfinite(r["error"])])
        rel_err = np.array([abs(r["error"]) for r in rel if np.isfinite(r["error"])])
        out[f"{key[0]}|{key[1]}"] = {
            "n": len(rs), "reliable": len(rel), "coverage": round(len(rel) / len(rs), 3),
            "mae_all": round(float(err.mean()), 2) if err.size else None,
            "within5_all": round(float(np.mean(err <= 5)), 3) if err.size else None,
            "mae_reliable": round(float(rel_err.mean()), 2) if rel_err.size else None,
            "within5_reliable": round(float(np.mean(rel_err <= 5)), 3) if rel_err.size else None,
            "max_error_reliable": round(float(rel_err.max()), 1) if rel_err.size else None,
            "reliable_over_10": int(np.sum(rel_err > 10)),
        }  # fmt: skip
    return out


def to_markdown(summary: dict) -> str:
    lines = [f"Threshold {DEFAULT_THRESHOLD} (the default). MAE in bpm; 'reliable' = confidence >= threshold; pulse-free "
             "clips have no right rate, so every reliable one is a failure.", "",
             "| set | method | clips | reliable | MAE all | within 5 all | MAE reliable | within 5 reliable | "
             "largest reliable error | reliable > 10 bpm off |", "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    dash = lambda v: "—" if v is None else v  # noqa: E731
    for key, s in summary.items():
        st, m = key.split("|")
        lines.append(f"| {st} | {m} | {s['n']} | {s['reliable']} ({100 * s['coverage']:.0f} %) | {dash(s['mae_all'])} | "
                     f"{dash(s['within5_all'])} | {dash(s['mae_reliable'])} | {dash(s['within5_reliable'])} | "
                     f"{dash(s['max_error_reliable'])} | {s['reliable_over_10']} |")  # fmt: skip
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--methods", nargs="+", default=["model", "pos"])
    ap.add_argument("--sets", nargs="+", default=["ubfc", "synth", "bias"], choices=["ubfc", "synth", "bias"])
    args = ap.parse_args()
    sources = {"ubfc": common.ubfc_clips, "synth": common.synth_clips, "bias": common.bias_clips}
    rows = []
    warnings.simplefilter("ignore")
    for name in args.sets:
        for set_name, clip, st, truth in sources[name]():
            for m in args.methods:
                r = read_stmap(st, m)
                rows.append({"set": set_name, "clip": clip, "method": m, "hr_bpm": round(r.hr_bpm, 2), "true_bpm": truth,
                             "error": r.hr_bpm - truth, "confidence": round(r.confidence.value, 3),
                             "reliable": r.reliable})  # fmt: skip
            print(set_name, clip, [(x["method"], x["hr_bpm"], x["confidence"]) for x in rows[-len(args.methods):]],
                  flush=True)  # fmt: skip
    summary = summarise(rows)
    OUT.mkdir(exist_ok=True)
    (OUT / "product_check.json").write_text(json.dumps({"threshold": DEFAULT_THRESHOLD, "summary": summary,
                                                         "clips": rows}, indent=1, default=float) + "\n")  # fmt: skip
    (OUT / "product_check.md").write_text(to_markdown(summary))
    print(to_markdown(summary))


if __name__ == "__main__":
    main()
