"""Gates on the confidence, each scored by the rule declared before it (experiments/LOG.md). A gate caps the
confidence of a reading (and of each track window) that shows one sign of a wrong rate, at the share of the UBFC
clips showing it that were read within 5 bpm (UBFC scored leave-one-subject-out); its line is physics or a
tolerance, not fitted. The map, the other gates and the threshold stay as they are.

- colour (sixteenth round; not shipped): the skin's colour change at the rate has G/R ≤ 1 (``colour_match`` 0) —
  not blood's (the pulse moves green ~2.3× as much as red).
- half_rate (seventeenth round; shipped): ≥ 30 % of the peak's power at half the rate (``harmonic_ambiguity`` 1).
- rate_change (eighteenth round): the first and last 60 % of the window peak > 10 bpm apart (``split_change``).

    PYTHONPATH=src:. nice -n 10 .venv/bin/python -m experiments.trust.gates 16          # colour + half-rate, FRESH5
    PYTHONPATH=src:. nice -n 10 .venv/bin/python -m experiments.trust.gates 17          # half-rate alone, FRESH6
    PYTHONPATH=src:. nice -n 10 .venv/bin/python -m experiments.trust.gates 18          # rate change, FRESH7
    PYTHONPATH=src:. nice -n 10 .venv/bin/python -m experiments.trust.gates 19          # long readings, FRESH8
    PYTHONPATH=src:. nice -n 10 .venv/bin/python -m experiments.trust.gates unlabeled   # report: 45 real clips
    PYTHONPATH=src:. nice -n 10 .venv/bin/python -m experiments.trust.gates skin-tone   # report: G/R at the truth

A round reads /tmp/trust_work/features_<set>.pkl (``collect.py features``; model readings) and writes
results/<round's name>.{json,md}; its clean guard set is the suite rendered after its note, and the clips-as-files
guard is scored by ``clip_files.py`` with the gate in the product. ``unlabeled``: the 45 clips of
../shared/data/unlabeled (no truth), each read whole by the model: how many readings the product's gates take from
reliable. ``skin-tone``: G/R of the skin's colour change at the TRUE rate (the contact PPG's for the UBFC clips, the
video's mean HR for the bias_eval_rppg skin crops, by country) — can a real pulse fall under the colour line?
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
SETS = ("ubfc", "synth", "fresh", "fresh2", "fresh3", "fresh4", "fresh5", "fresh6", "fresh7", "bias")
NON_BLOOD_G_OVER_R = 1.0  # the colour gate's line (not shipped: sixteenth round)
FLAGS = {  # what each gate looks for in a reading's features (NaN: not measured, no cap)
    "colour": lambda f: f["colour_match"] <= 0.0,  # G/R <= 1 on colour_match's scale (clip((G/R - 1) / 1.33, 0, 1))
    "half_rate": lambda f: f["harmonic_ambiguity"] == 1.0,
    "rate_change": lambda f: f.get("split_change", float("nan")) > 10.0,
}
ROUNDS = {  # gates scored, gates already shipped at the round's start, clean suite, results name, guard (ii)
    "16": dict(gates=("colour", "half_rate"), shipped=(), fresh="freshE", name="colour_gate", lost=2, free_min=23),
    "17": dict(gates=("half_rate",), shipped=(), fresh="freshF", name="half_rate_gate", lost=2, free_min=23),
    "18": dict(gates=("rate_change",), shipped=("half_rate",), fresh="freshG", name="rate_change_gate", lost=3,
               free_min=None),  # pulse-free abstention not lower than the shipped path's
}


def flagged(rows: list[dict], gate: str) -> np.ndarray:
    return np.array([bool(FLAGS[gate](r["feat"])) for r in rows])


def rule(ubfc: list[dict], gates) -> dict[str, float]:
    """{gate: cap} from UBFC rows, as declared: the share within 5 bpm of the clips each gate flags (0 if none)."""
    right = np.array([r["right"] for r in ubfc])
    return {g: float(np.mean(right[flagged(ubfc, g)])) if flagged(ubfc, g).any() else 0.0 for g in gates}


def confidence(rows: list[dict], caps: dict[str, float]) -> np.ndarray:
    """The map and the caps every round starts from (face, skin size, skin crop, pulse-presence gate), then each
    gate in ``caps`` {gate: cap} where it flags."""
    out = []
    for r in rows:
        f = r["feat"]
        v = float(apply_caps(logistic_confidence(f), face_valid=f["face_valid"], roi_px=f["roi_px"], skin_crop=f["skin_crop"],
                             roi_coherence=f["roi_coherence"]))  # fmt: skip
        for gate, cap in caps.items():
            if FLAGS[gate](f):
                v = min(v, cap)
        out.append(v)
    return np.array(out)


def score_round(key: str) -> None:
    cfg = ROUNDS[key]
    fresh, gates, base = cfg["fresh"], cfg["gates"], cfg["shipped"]
    data = {}
    for s in SETS:
        path = common.WORK / f"features_{s}.pkl"
        if path.exists():
            for r in pickle.load(open(path, "rb")):
                if r["method"] == "model":
                    data.setdefault(r["set"], []).append(r)
    ubfc = data["ubfc"]
    caps = rule(ubfc, base + gates)
    res = {"round": key, "gates": list(gates), "shipped_before": list(base), "caps": {g: round(c, 4) for g, c in caps.items()},
           "sets": {}}  # fmt: skip

    def counts(rows):
        return {g: int(flagged(rows, g).sum()) for g in ("colour", "half_rate", "rate_change")}

    subj = np.array([r["subject"] for r in ubfc])
    before, after = np.zeros(len(ubfc)), np.zeros(len(ubfc))
    for s in np.unique(subj):
        mine, rest = [r for r in ubfc if r["subject"] == s], [r for r in ubfc if r["subject"] != s]
        loso = rule(rest, base + gates)
        before[subj == s] = confidence(mine, {g: loso[g] for g in base})
        after[subj == s] = confidence(mine, loso)
    res["sets"]["ubfc (LOSO)"] = {"shipped": kept(before, ubfc), "gated": kept(after, ubfc), "flagged": counts(ubfc)}
    for k in sorted(k for k in data if k != "ubfc"):
        rows = data[k]
        res["sets"][k] = {"shipped": kept(confidence(rows, {g: caps[g] for g in base}), rows),
                          "gated": kept(confidence(rows, caps), rows), "flagged": counts(rows)}  # fmt: skip
    g = res["sets"]
    u = g["ubfc (LOSO)"]
    fs = {k: v for k, v in g.items() if k.startswith(f"{fresh}-")}
    free = fs[f"{fresh}-pulse_free"]
    free_ok = (free["gated"]["n"] - free["gated"]["reliable"] >= cfg["free_min"] if cfg["free_min"] is not None
               else free["gated"]["reliable"] <= free["shipped"]["reliable"])  # fmt: skip
    lost = sum(v["shipped"]["reliable"] - v["gated"]["reliable"] for k, v in fs.items() if "pulse_free" not in k)
    over10 = sum(v["gated"]["over10"] for k, v in fs.items() if "pulse_free" not in k)
    res["guards"] = {
        "i_ubfc_loso_reliable": f"{u['gated']['reliable']} (shipped {u['shipped']['reliable']}), > 10 off: {u['gated']['over10']}",
        f"ii_{fresh}_reliable_over10": over10,
        f"ii_{fresh}_pulse_free_reliable": f"{free['gated']['reliable']}/{free['gated']['n']} (shipped {free['shipped']['reliable']})",
        f"ii_{fresh}_pulsed_low_rate_lost": lost,
        "iii_clip_files": "clip_files.py with the gate(s) in the product (LOG.md)",
    }
    res["pass_i_ii"] = bool(u["gated"]["reliable"] >= u["shipped"]["reliable"] - 2 and u["gated"]["over10"] == 0
                            and over10 == 0 and free_ok and lost <= cfg["lost"])  # fmt: skip
    OUT.mkdir(exist_ok=True)
    json.dump(res, open(OUT / f"{cfg['name']}.json", "w"), indent=1)
    said = {"colour": f"colour: G/R <= {NON_BLOOD_G_OVER_R} at the read rate",
            "half_rate": "half rate: >= 30 % of the peak's power at half the rate",
            "rate_change": "rate change: the window's first and last 60 % peak > 10 bpm apart"}  # fmt: skip
    lines = [f"Round {key}: " + "; ".join(f"{said[x]} -> cap {caps[x]:.3f}" for x in gates)
             + (f" (on top of the shipped {', '.join(base)} gate)" if base else "")
             + f"; rules on all 63 UBFC clips; threshold {DEFAULT_THRESHOLD}. Guards (i), (ii) pass: {res['pass_i_ii']}.", "",
             "| set | clips | flagged (colour / half rate / rate change) | reliable, shipped | reliable, gated | "
             "largest reliable error, gated | reliable > 10 bpm off, shipped → gated |",
             "|---|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    for k, v in g.items():
        gm, fl = v["gated"], v["flagged"]
        lines.append(f"| {k} | {gm['n']} | {fl['colour']} / {fl['half_rate']} / {fl['rate_change']} | "
                     f"{v['shipped']['reliable']} | {gm['reliable']} | {gm['max_err'] if gm['max_err'] is not None else '—'} | "
                     f"{v['shipped']['over10']} → {gm['over10']} |")  # fmt: skip
    lines += ["", "Guards: " + json.dumps(res["guards"])]
    (OUT / f"{cfg['name']}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print("\n".join(f"cap {x} = {caps[x]:.4f}" for x in gates))


def score_long() -> None:
    """Nineteenth round: long readings may take the confidence of their best agreeing non-overlapping window. FRESH8
    (30-s generated clips, model readings; ``collect.py features fresh8``) with and without the vote, and the UBFC
    whole recordings (results/whole_recordings_before_vote.json and whole_recordings.json, ``whole_recordings.py``
    before and after). Writes results/long_readings.{json,md}."""
    from dataclasses import replace

    from pseudopulse.signal.confidence import ReadingFeatures, confidence_from_features

    rows = [r for r in pickle.load(open(common.WORK / "features_fresh8.pkl", "rb")) if r["method"] == "model"]
    res = {}
    for kind in sorted({r["set"] for r in rows}):
        rs = [r for r in rows if r["set"] == kind]
        feats = [ReadingFeatures(**r["feat"]) for r in rs]
        with_vote = np.array([confidence_from_features(f).value for f in feats])
        without = np.array([confidence_from_features(replace(f, window_vote=float("nan"))).value for f in feats])
        res[kind] = {"without": kept(without, rs), "with": kept(with_vote, rs),
                     "voted": int(sum(np.isfinite(f.window_vote) for f in feats))}  # fmt: skip
    ubfc = {}
    for key, name in (("without", "whole_recordings_before_vote.json"), ("with", "whole_recordings.json")):
        recs = json.load(open(OUT / name))["recordings"]
        err = np.array([abs(r["error_bpm"]) for r in recs])
        rel = np.array([r["reliable"] for r in recs])
        ubfc[key] = {"n": len(recs), "reliable": int(rel.sum()), "reliable_over5": int(np.sum(rel & (err > 5))),
                     "right": int(np.sum(err <= 5)), "right_reliable": int(np.sum(rel & (err <= 5)))}  # fmt: skip
    res["ubfc whole recordings"] = ubfc
    free = res["freshH-pulse_free"]["with"]
    over10 = sum(v["with"]["over10"] for k, v in res.items() if k.startswith("freshH-") and "pulse_free" not in k)
    res["ship"] = bool(ubfc["with"]["reliable_over5"] == 0 and free["n"] - free["reliable"] >= 23 and over10 == 0)
    json.dump(res, open(OUT / "long_readings.json", "w"), indent=1)
    lines = [f"Round 19 (long readings take their best agreeing independent window's confidence). Guards (i), (ii) pass: "
             f"{res['ship']}.", "", "| set | clips | voting | reliable without → with | largest reliable error, with | "
             "reliable > 10 bpm off, with |", "|---|---:|---:|---:|---:|---:|"]  # fmt: skip
    for k, v in res.items():
        if k.startswith("freshH-"):
            w = v["with"]
            lines.append(f"| {k} (30 s) | {w['n']} | {v['voted']} | {v['without']['reliable']} → {w['reliable']} | "
                         f"{w['max_err'] if w['max_err'] is not None else '—'} | {w['over10']} |")
    lines.append(f"| UBFC-rPPG whole recordings | {ubfc['with']['n']} | — | {ubfc['without']['reliable']} → "
                 f"{ubfc['with']['reliable']} ({ubfc['with']['right']} within 5 bpm) | — | reliable > 5 off: "
                 f"{ubfc['with']['reliable_over5']} |")  # fmt: skip
    (OUT / "long_readings.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def report_unlabeled() -> None:
    """The 45 unlabeled real clips read whole by the model: confidence without any gate and with the product's."""
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
               "harmonic_ambiguity": f["harmonic_ambiguity"], "split_change": f["split_change"],
               "without_gates": float(confidence([{"feat": f}], {})[0]), "gated": float(r.confidence.value)}  # fmt: skip
        rows.append(row)
        print(row, flush=True)
    read = [r for r in rows if "gated" in r]
    summary = {"clips": len(rows), "read": len(read), "half_rate": sum(r["harmonic_ambiguity"] == 1.0 for r in read),
               "rate_change": sum(r["split_change"] > 10.0 for r in read),
               "reliable_without_gates": sum(r["without_gates"] >= DEFAULT_THRESHOLD for r in read),
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
    {"unlabeled": report_unlabeled, "skin-tone": report_skin_tone, "19": score_long}.get(what, lambda: score_round(what))()
