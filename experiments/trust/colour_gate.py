"""The colour gate (experiments/LOG.md, fifteenth round, declared before scoring): a reading whose skin colour change
at its rate is not blood's (G/R ≤ ``NON_BLOOD_G_OVER_R`` = 1, i.e. ``colour_match`` 0; physics, not fitted) has its
confidence capped at ``cap`` = the share within 5 bpm of the UBFC clips under that line. The map, the pulse-presence
gate and the threshold are unchanged.

    PYTHONPATH=src:. nice -n 10 .venv/bin/python -m experiments.trust.colour_gate            # the gate, scored
    PYTHONPATH=src:. nice -n 10 .venv/bin/python -m experiments.trust.colour_gate unlabeled  # report: 45 real clips
    PYTHONPATH=src:. nice -n 10 .venv/bin/python -m experiments.trust.colour_gate skin-tone  # report: G/R at the truth

The first reads /tmp/trust_work/features_{ubfc,synth,fresh,fresh2,fresh3,fresh4,bias}.pkl (``collect.py features``;
model readings): UBFC leave-one-subject-out (cap from the other 10 subjects), every other set under the rule applied
to all 63 UBFC clips; prints the guards, the verdict and the constant; writes results/colour_gate.{json,md}.
``unlabeled``: the 45 clips of ../shared/data/unlabeled (no truth), each read whole by the model: how many readings the
gate takes from reliable. ``skin-tone``: G/R of the skin's colour change at the TRUE rate (the contact PPG's for the
UBFC clips, the video's mean HR for the bias_eval_rppg skin crops, by country) — can a real pulse fall under the line?
Both write results/colour_gate_<report>.json.
"""

from __future__ import annotations

import json
import pickle
import sys
import warnings
from pathlib import Path

import numpy as np

from experiments.trust import common
from experiments.trust.coherence_gate import kept
from pseudopulse.signal.confidence import DEFAULT_THRESHOLD, NON_BLOOD_G_OVER_R, PBV_G_OVER_R, apply_caps, logistic_confidence

OUT = Path(__file__).resolve().parent / "results"
SETS = ("ubfc", "synth", "fresh", "fresh2", "fresh3", "fresh4", "bias")
LINE = (NON_BLOOD_G_OVER_R - 1.0) / (PBV_G_OVER_R - 1.0)  # G/R = 1 on colour_match's scale


def under_line(rows: list[dict]) -> np.ndarray:
    return np.array([r["feat"]["colour_match"] <= LINE for r in rows])  # NaN: False (not measured, no cap)


def rule(ubfc: list[dict]) -> float:
    """cap from UBFC rows, as declared: the share within 5 bpm of the clips under the line (0 if none)."""
    below = under_line(ubfc)
    right = np.array([r["right"] for r in ubfc])
    return float(np.mean(right[below])) if below.any() else 0.0


def confidence(rows: list[dict], cap: float | None) -> np.ndarray:
    """The shipped map and caps (pulse-presence gate included), with the colour gate at ``cap`` (None: without it)."""
    out = []
    for r in rows:
        f = r["feat"]
        gate = {} if cap is None else {"colour_match": f["colour_match"], "non_blood_cap": cap}
        out.append(float(apply_caps(logistic_confidence(f), face_valid=f["face_valid"], roi_px=f["roi_px"],
                                    skin_crop=f["skin_crop"], roi_coherence=f["roi_coherence"], **gate)))  # fmt: skip
    return np.array(out)


def score_gate() -> None:
    data = {}
    for s in SETS:
        for r in pickle.load(open(common.WORK / f"features_{s}.pkl", "rb")):
            if r["method"] == "model":
                data.setdefault(r["set"], []).append(r)
    ubfc = data["ubfc"]
    cap = rule(ubfc)
    res = {"cap": round(cap, 4), "n_ubfc_under_line": int(under_line(ubfc).sum()), "sets": {}}
    subj = np.array([r["subject"] for r in ubfc])
    gated = np.zeros(len(ubfc))
    for s in np.unique(subj):
        gated[subj == s] = confidence([r for r in ubfc if r["subject"] == s], rule([r for r in ubfc if r["subject"] != s]))
    res["sets"]["ubfc (LOSO)"] = {"shipped": kept(confidence(ubfc, None), ubfc), "gated": kept(gated, ubfc),
                                  "under_line": int(under_line(ubfc).sum())}  # fmt: skip
    for name in sorted(k for k in data if k != "ubfc"):
        rows = data[name]
        res["sets"][name] = {"shipped": kept(confidence(rows, None), rows), "gated": kept(confidence(rows, cap), rows),
                             "under_line": int(under_line(rows).sum())}  # fmt: skip
    g = res["sets"]
    u = g["ubfc (LOSO)"]
    over10 = {k: v["gated"]["over10"] for k, v in g.items() if "pulse_free" not in k and k != "skin-crops"}
    fresh4 = [g[k] for k in ("freshD-pulsed", "freshD-low_rate")]
    lost4 = sum(v["shipped"]["reliable"] - v["gated"]["reliable"] for v in fresh4)
    res["guards"] = {
        "i_ubfc_loso_reliable": f"{u['gated']['reliable']} (shipped {u['shipped']['reliable']}), > 10 off: {u['gated']['over10']}",
        "ii_generated_reliable_over10": {k: v for k, v in over10.items() if k != "ubfc (LOSO)"},
        "ii_fresh4_pulsed_low_rate_lost": lost4,
        "iii_clip_files": "scored by clip_files.py after the constant is set (see LOG.md)",
    }
    res["pass_i_ii"] = bool(u["gated"]["reliable"] >= u["shipped"]["reliable"] - 2 and sum(over10.values()) == 0 and lost4 <= 1)
    OUT.mkdir(exist_ok=True)
    json.dump(res, open(OUT / "colour_gate.json", "w"), indent=1)
    lines = [f"Colour gate: G/R <= {NON_BLOOD_G_OVER_R} at the read rate caps the confidence at {cap:.3f} (rule on all 63 "
             f"UBFC clips: {res['n_ubfc_under_line']} under the line); threshold {DEFAULT_THRESHOLD}. Guards (i), (ii) "
             f"pass: {res['pass_i_ii']}.", "",
             "| set | clips | under the line | reliable, shipped | reliable, gated | largest reliable error, gated | "
             "reliable > 10 bpm off, gated |", "|---|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    for k, v in g.items():
        gm = v["gated"]
        lines.append(f"| {k} | {gm['n']} | {v['under_line']} | {v['shipped']['reliable']} | {gm['reliable']} | "
                     f"{gm['max_err'] if gm['max_err'] is not None else '—'} | {gm['over10']} |")
    lines += ["", "Guards: " + json.dumps(res["guards"])]
    (OUT / "colour_gate.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"NON_BLOOD_MAX_CONFIDENCE = {cap:.4f}")


def report_unlabeled() -> None:
    """The 45 unlabeled real clips read whole by the model: confidence without and with the colour gate."""
    from pseudopulse.reading import read_stmap
    from pseudopulse.stmap.extract import extract_stmap

    rows = []
    for video in sorted(p for p in (common.SHARED / "unlabeled").iterdir() if p.suffix in (".mp4", ".mov", ".avi")):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                st = extract_stmap(video, cache_dir=common.CACHE)
                r = read_stmap(st, "model")
        except Exception as e:  # a clip the product refuses is reported, not scored
            rows.append({"clip": video.name, "refused": str(e).splitlines()[0][:160]})
            print(video.name, "refused", flush=True)
            continue
        f = r.confidence.features.as_dict()
        row = {"clip": video.name, "hr": round(r.hr_bpm, 1), "colour_match": f["colour_match"],
               "shipped": float(confidence([{"feat": f}], None)[0]), "gated": float(r.confidence.value)}  # fmt: skip
        rows.append(row)
        print(row, flush=True)
    read = [r for r in rows if "gated" in r]
    summary = {"clips": len(rows), "read": len(read), "under_line": sum(r["colour_match"] <= LINE for r in read),
               "reliable_shipped": sum(r["shipped"] >= DEFAULT_THRESHOLD for r in read),
               "reliable_gated": sum(r["gated"] >= DEFAULT_THRESHOLD for r in read)}  # fmt: skip
    json.dump({"summary": summary, "clips": rows}, open(OUT / "colour_gate_unlabeled.json", "w"), indent=1)
    print(summary)


def report_skin_tone() -> None:
    """G/R of the skin's colour change at the true rate: UBFC clips (contact PPG) and the skin crops by country."""
    from pseudopulse.reading import _grid, _skin_rgb, read_stmap
    from pseudopulse.signal.confidence import colour_ratio

    def ratio(st, truth: float) -> float:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            track = read_stmap(st, "pos").track  # only its windows and grid are used
            return float(np.nanmean(colour_ratio(_skin_rgb(st, _grid(st)[0]), track, truth)))

    groups: dict[str, list[float]] = {}
    for _, _, st, truth in common.ubfc_clips():
        groups.setdefault("UBFC-rPPG (faces)", []).append(ratio(st, truth))
    for _, clip, st, truth in common.bias_clips():
        country = "Sierra Leone" if clip.startswith("Sierra_Leone") else clip.split("_")[0]
        groups.setdefault(f"skin crops, {country}", []).append(ratio(st, truth))
    summary = {k: {"n": len(v), "median": round(float(np.nanmedian(v)), 2),
                   "p10": round(float(np.nanpercentile(v, 10)), 2), "p90": round(float(np.nanpercentile(v, 90)), 2),
                   "share_under_line": round(float(np.mean(np.asarray(v) <= NON_BLOOD_G_OVER_R)), 3)}
               for k, v in groups.items()}  # fmt: skip
    json.dump({"summary": summary, "ratios": groups}, open(OUT / "colour_gate_skin_tone.json", "w"), indent=1)
    for k, v in summary.items():
        print(k, v)


if __name__ == "__main__":
    {"unlabeled": report_unlabeled, "skin-tone": report_skin_tone}.get(sys.argv[1] if len(sys.argv) > 1 else "", score_gate)()
