"""The pulse-presence gate (experiments/LOG.md, twelfth round, declared before scoring): a reading whose skin blocks
do not pulse in phase at its rate (``roi_coherence`` < c0) has its confidence capped at ``cap``; the shipped map is
unchanged. From the UBFC clips only: c0 = the 5th percentile of roi_coherence over the clips read within 5 bpm,
cap = the share within 5 bpm of the UBFC clips below c0.

    PYTHONPATH=src:. nice -n 10 .venv/bin/python -m experiments.trust.coherence_gate

Reads /tmp/trust_work/features_{ubfc,synth,fresh,fresh2,fresh3,bias}.pkl (``collect.py features``; model readings).
UBFC is scored leave-one-subject-out (c0, cap from the other 10 subjects); every other set under the rule applied
to all 63 UBFC clips. Prints the guards, the verdict and the two constants; writes results/coherence_gate.{json,md}.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np

from experiments.trust import common
from pseudopulse.signal.confidence import DEFAULT_THRESHOLD, apply_caps, logistic_confidence

OUT = Path(__file__).resolve().parent / "results"
SETS = ("ubfc", "synth", "fresh", "fresh2", "fresh3", "bias")


def rule(ubfc: list[dict]) -> tuple[float, float]:
    """(c0, cap) from UBFC rows, as declared."""
    coh = np.array([r["feat"]["roi_coherence"] for r in ubfc], float)
    right = np.array([r["right"] for r in ubfc])
    c0 = float(np.nanpercentile(coh[right], 5))
    below = coh < c0
    return c0, float(np.mean(right[below])) if below.any() else 0.0


def confidence(rows: list[dict], c0: float | None, cap: float | None) -> np.ndarray:
    """The shipped map and caps, with the gate at (c0, cap) (None: no gate)."""
    out = []
    for r in rows:
        f = r["feat"]
        v = logistic_confidence(f)
        gate = {} if c0 is None else {"roi_coherence": f["roi_coherence"], "min_roi_coherence": c0, "low_coherence_cap": cap}
        out.append(float(apply_caps(v, face_valid=f["face_valid"], roi_px=f["roi_px"], skin_crop=f["skin_crop"], **gate)))
    return np.array(out)


def kept(conf: np.ndarray, rows: list[dict], t: float = DEFAULT_THRESHOLD) -> dict:
    keep = conf >= t
    err = np.abs([r["err"] for r in rows])
    e = err[keep & np.isfinite(err)]
    return {"n": len(rows), "reliable": int(keep.sum()), "max_err": round(float(e.max()), 1) if e.size else None,
            "over10": int(np.sum(e > 10)), "mae": round(float(e.mean()), 2) if e.size else None}  # fmt: skip


def main() -> None:
    data = {}
    for s in SETS:
        for r in pickle.load(open(common.WORK / f"features_{s}.pkl", "rb")):
            if r["method"] == "model":
                data.setdefault(r["set"], []).append(r)
    ubfc = data["ubfc"]
    c0, cap = rule(ubfc)
    res = {"c0": round(c0, 4), "cap": round(cap, 4), "sets": {}}
    # UBFC, leave one subject out
    subj = np.array([r["subject"] for r in ubfc])
    gated = np.zeros(len(ubfc))
    for s in np.unique(subj):
        c0_s, cap_s = rule([r for r, m in zip(ubfc, subj != s) if m])
        gated[subj == s] = confidence([r for r in ubfc if r["subject"] == s], c0_s, cap_s)
    res["sets"]["ubfc (LOSO)"] = {"shipped": kept(confidence(ubfc, None, None), ubfc), "gated": kept(gated, ubfc)}
    for name in sorted(k for k in data if k != "ubfc"):
        rows = data[name]
        res["sets"][name] = {"shipped": kept(confidence(rows, None, None), rows), "gated": kept(confidence(rows, c0, cap), rows)}
    g = res["sets"]
    free_gen = [g[k]["gated"] for k in ("synth-pulse_free", "fresh-pulse_free")]
    abstain_gen = sum(v["n"] - v["reliable"] for v in free_gen)
    n_gen = sum(v["n"] for v in free_gen)
    f3 = g["freshC-pulse_free"]["gated"]
    over10 = {k: v["gated"]["over10"] for k, v in g.items() if "pulse_free" not in k}
    res["guards"] = {
        "i_generated_pulse_free_abstain": f"{abstain_gen}/{n_gen}",
        "ii_fresh3_pulse_free_abstain": f"{f3['n'] - f3['reliable']}/{f3['n']}",
        "iii_ubfc_loso_reliable": f"{g['ubfc (LOSO)']['gated']['reliable']} (shipped {g['ubfc (LOSO)']['shipped']['reliable']})",
        "iv_reliable_over10": over10,
    }
    res["ship"] = bool(abstain_gen >= 0.95 * n_gen and f3["n"] - f3["reliable"] >= 23
                       and g["ubfc (LOSO)"]["gated"]["reliable"] >= g["ubfc (LOSO)"]["shipped"]["reliable"] - 2
                       and sum(over10.values()) == 0)  # fmt: skip
    OUT.mkdir(exist_ok=True)
    json.dump(res, open(OUT / "coherence_gate.json", "w"), indent=1)
    lines = [f"Gate: roi_coherence < {c0:.3f} caps the confidence at {cap:.3f} (rule on all 63 UBFC clips); "
             f"threshold {DEFAULT_THRESHOLD}. Ship: {res['ship']}.", "",
             "| set | clips | reliable, shipped | reliable, gated | largest reliable error, gated | reliable > 10 bpm off, gated |",
             "|---|---:|---:|---:|---:|---:|"]  # fmt: skip
    for k, v in g.items():
        lines.append(f"| {k} | {v['gated']['n']} | {v['shipped']['reliable']} | {v['gated']['reliable']} | "
                     f"{v['gated']['max_err'] if v['gated']['max_err'] is not None else '—'} | {v['gated']['over10']} |")
    lines += ["", "Guards: " + json.dumps(res["guards"])]
    (OUT / "coherence_gate.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"MIN_ROI_COHERENCE = {c0:.4f}\nLOW_COHERENCE_MAX_CONFIDENCE = {cap:.4f}")


if __name__ == "__main__":
    main()
