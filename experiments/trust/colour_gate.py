"""The colour and half-rate gates (experiments/LOG.md, fifteenth and sixteenth rounds, declared before scoring). Colour:
a reading whose skin colour change at its rate is not blood's (G/R ≤ ``NON_BLOOD_G_OVER_R`` = 1, i.e. ``colour_match``
0; physics, not fitted) has its confidence capped at the share within 5 bpm of the UBFC clips under that line.
Half rate: a reading whose spectrum holds ≥ 30 % of the peak's power at half the rate (``harmonic_ambiguity`` 1) is
capped at the share within 5 bpm of the UBFC clips with it. The map, the pulse-presence gate and the threshold are
unchanged.

    PYTHONPATH=src:. nice -n 10 .venv/bin/python -m experiments.trust.colour_gate            # both gates (16th round)
    PYTHONPATH=src:. nice -n 10 .venv/bin/python -m experiments.trust.colour_gate half-rate  # half-rate alone (17th)
    PYTHONPATH=src:. nice -n 10 .venv/bin/python -m experiments.trust.colour_gate unlabeled  # report: 45 real clips
    PYTHONPATH=src:. nice -n 10 .venv/bin/python -m experiments.trust.colour_gate skin-tone  # report: G/R at the truth

The first reads /tmp/trust_work/features_{ubfc,synth,fresh,fresh2,fresh3,fresh4,fresh5,bias}.pkl (``collect.py features``;
model readings): UBFC leave-one-subject-out (caps from the other 10 subjects), every other set under the rule applied
to all 63 UBFC clips; prints the guards, the verdict and the two constants; writes results/colour_gate.{json,md}.
``unlabeled``: the 45 clips of ../shared/data/unlabeled (no truth), each read whole by the model: how many readings the
gates take from reliable. ``skin-tone``: G/R of the skin's colour change at the TRUE rate (the contact PPG's for the
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
from pseudopulse.signal.confidence import DEFAULT_THRESHOLD, apply_caps, logistic_confidence

OUT = Path(__file__).resolve().parent / "results"
SETS = ("ubfc", "synth", "fresh", "fresh2", "fresh3", "fresh4", "fresh5", "fresh6", "bias")
NON_BLOOD_G_OVER_R = 1.0  # the colour gate's line (not shipped: sixteenth round)
LINE = 0.0  # G/R = 1 on colour_match's scale (colour_match = clip((G/R - 1) / (2.33 - 1), 0, 1))


def under_line(rows: list[dict]) -> np.ndarray:
    return np.array([r["feat"]["colour_match"] <= LINE for r in rows])  # NaN: False (not measured, no cap)


def half_rate(rows: list[dict]) -> np.ndarray:
    return np.array([r["feat"]["harmonic_ambiguity"] == 1.0 for r in rows])  # NaN: False (not measurable, no cap)


def _share_right(rows: list[dict], flagged: np.ndarray) -> float:
    right = np.array([r["right"] for r in rows])
    return float(np.mean(right[flagged])) if flagged.any() else 0.0


def rule(ubfc: list[dict]) -> tuple[float, float]:
    """(colour cap, half-rate cap) from UBFC rows, as declared: the share within 5 bpm of the clips each gate flags."""
    return _share_right(ubfc, under_line(ubfc)), _share_right(ubfc, half_rate(ubfc))


def confidence(rows: list[dict], caps: tuple[float | None, float | None] | None) -> np.ndarray:
    """The map and the caps of the sixteenth round's start (pulse-presence gate included), with the colour and
    half-rate gates at ``caps`` = (colour cap, half-rate cap); a None cap (or ``caps`` None) leaves that gate out."""
    colour_cap, half_cap = caps or (None, None)
    out = []
    for r in rows:
        f = r["feat"]
        v = float(apply_caps(logistic_confidence(f), face_valid=f["face_valid"], roi_px=f["roi_px"], skin_crop=f["skin_crop"],
                             roi_coherence=f["roi_coherence"], harmonic_ambiguity=f["harmonic_ambiguity"],
                             half_rate_cap=1.0 if half_cap is None else half_cap))  # fmt: skip
        if colour_cap is not None and f["colour_match"] <= LINE:
            v = min(v, colour_cap)
        out.append(v)
    return np.array(out)


def score_gate(gates: tuple[str, ...] = ("colour", "half_rate")) -> None:
    """Score ``gates`` (sixteenth round: both, guards on FRESH5; seventeenth: "half_rate" alone, guards on FRESH6)."""
    fresh, name = ("freshE", "colour_gate") if "colour" in gates else ("freshF", "half_rate_gate")
    data = {}
    for s in SETS:
        path = common.WORK / f"features_{s}.pkl"
        if not path.exists() and s in ("fresh6",):
            continue
        for r in pickle.load(open(path, "rb")):
            if r["method"] == "model":
                data.setdefault(r["set"], []).append(r)

    def pick(c: tuple[float, float]) -> tuple[float | None, float | None]:
        return (c[0] if "colour" in gates else None, c[1] if "half_rate" in gates else None)

    ubfc = data["ubfc"]
    caps = pick(rule(ubfc))
    res = {"gates": list(gates), "cap_colour": caps[0], "cap_half_rate": caps[1], "sets": {}}
    subj = np.array([r["subject"] for r in ubfc])
    gated = np.zeros(len(ubfc))
    for s in np.unique(subj):
        gated[subj == s] = confidence([r for r in ubfc if r["subject"] == s], pick(rule([r for r in ubfc if r["subject"] != s])))
    res["sets"]["ubfc (LOSO)"] = {"shipped": kept(confidence(ubfc, None), ubfc), "gated": kept(gated, ubfc),
                                  "under_line": int(under_line(ubfc).sum()), "half_rate": int(half_rate(ubfc).sum())}  # fmt: skip
    for k in sorted(k for k in data if k != "ubfc"):
        rows = data[k]
        res["sets"][k] = {"shipped": kept(confidence(rows, None), rows), "gated": kept(confidence(rows, caps), rows),
                          "under_line": int(under_line(rows).sum()), "half_rate": int(half_rate(rows).sum())}  # fmt: skip
    g = res["sets"]
    u = g["ubfc (LOSO)"]
    fs = {k: v for k, v in g.items() if k.startswith(f"{fresh}-")}
    free = fs[f"{fresh}-pulse_free"]["gated"]
    lost = sum(v["shipped"]["reliable"] - v["gated"]["reliable"] for k, v in fs.items() if "pulse_free" not in k)
    over10 = sum(v["gated"]["over10"] for k, v in fs.items() if "pulse_free" not in k)
    res["guards"] = {
        "i_ubfc_loso_reliable": f"{u['gated']['reliable']} (shipped {u['shipped']['reliable']}), > 10 off: {u['gated']['over10']}",
        f"ii_{fresh}_reliable_over10": over10,
        f"ii_{fresh}_pulse_free_abstain": f"{free['n'] - free['reliable']}/{free['n']}",
        f"ii_{fresh}_pulsed_low_rate_lost": lost,
        "iii_clip_files": "clip_files.py with the gate(s) in the product (LOG.md)",
    }
    res["pass_i_ii"] = bool(u["gated"]["reliable"] >= u["shipped"]["reliable"] - 2 and u["gated"]["over10"] == 0
                            and over10 == 0 and free["n"] - free["reliable"] >= 23 and lost <= 2)  # fmt: skip
    OUT.mkdir(exist_ok=True)
    json.dump(res, open(OUT / f"{name}.json", "w"), indent=1)
    said = []
    if caps[0] is not None:
        said.append(f"colour gate: G/R <= {NON_BLOOD_G_OVER_R} at the read rate caps the confidence at {caps[0]:.3f}")
    if caps[1] is not None:
        said.append(f"half-rate gate: >= 30 % of the peak's power at half the rate caps it at {caps[1]:.3f}")
    head = "; ".join(said)
    lines = [f"{head[0].upper() + head[1:]} (rules on all 63 UBFC clips); threshold {DEFAULT_THRESHOLD}. "
             f"Guards (i), (ii) pass: {res['pass_i_ii']}.", "",
             "| set | clips | G/R <= 1 | half-rate | reliable, shipped | reliable, gated | largest reliable error, gated | "
             "reliable > 10 bpm off, shipped → gated |", "|---|---:|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    for k, v in g.items():
        gm = v["gated"]
        lines.append(f"| {k} | {gm['n']} | {v['under_line']} | {v['half_rate']} | {v['shipped']['reliable']} | "
                     f"{gm['reliable']} | {gm['max_err'] if gm['max_err'] is not None else '—'} | "
                     f"{v['shipped']['over10']} → {gm['over10']} |")  # fmt: skip
    lines += ["", "Guards: " + json.dumps(res["guards"])]
    (OUT / f"{name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"HALF_RATE_MAX_CONFIDENCE = {caps[1]:.4f}" if caps[1] is not None else "")


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
               "harmonic_ambiguity": f["harmonic_ambiguity"],
               "shipped": float(confidence([{"feat": f}], None)[0]), "gated": float(r.confidence.value)}  # fmt: skip
        rows.append(row)
        print(row, flush=True)
    read = [r for r in rows if "gated" in r]
    summary = {"clips": len(rows), "read": len(read), "under_line": sum(r["colour_match"] <= LINE for r in read),
               "half_rate": sum(r["harmonic_ambiguity"] == 1.0 for r in read),
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
    what = sys.argv[1] if len(sys.argv) > 1 else ""
    {"unlabeled": report_unlabeled, "skin-tone": report_skin_tone,
     "half-rate": lambda: score_gate(("half_rate",))}.get(what, score_gate)()  # fmt: skip
