"""Experiment (c): which label-free features separate right (|error| <= 5 bpm) from wrong readings, and how well a
logistic map of a feature set does out of subject, with the abstention threshold the declared rule picks.

    nice -n 10 .venv/bin/python -m experiments.trust.confidence_eval [--sets A F G ...]

Reads /tmp/trust_work/features_{ubfc,synth,fresh,fresh2,bias}.pkl (``collect.py features``): the PRODUCT's readings
and features (``reading.read_stmap`` -> ``reading.assess``), so what is fitted here is applied to exactly what the
product computes; the standardisation is the product's (``signal.confidence.standardised``) and the caps too
(``apply_caps``). Rows: the model's reading of each clip. A pulse-free generated clip has no right answer: its label
is "wrong" (it must abstain).

Protocol of the twelfth round (experiments/LOG.md, declared before scoring; the eleventh round's sets B-E were scored
with 48 generated clips and guards of 22/24):
- generated fit data = the fitting suite (48) + the seed-23 suite (36; ``common.FRESH``): 84 clips, 48 pulse-free;
- LOSO: for each UBFC subject, a map fitted on the generated clips + the other 10 subjects scores its clips;
- the rule's threshold: the lowest of ``GRID`` at which LOSO-reliable clips are >= 95 % within 5 bpm;
- generated clips scored leave-one-clip-out (fitted on UBFC + the other 83);
- FRESH2 (``common.FRESH2``, never fitted) and the skin crops scored by the map fitted on all 147 clips;
- guards: >= 95 % of the generated pulse-free clips abstain (LOGO), >= 23/24 of FRESH2's pulse-free clips abstain,
  no reliable reading > 10 bpm off on UBFC, generated pulsed / low-rate, FRESH2 low-rate and the skin crops.
The shipped constants are scored on the same sets beside them (row "shipped").
Writes experiments/trust/results/feature_sets.{json,md} and prints the table.
"""

from __future__ import annotations

import argparse
import json
import pickle
from pathlib import Path

import numpy as np

from experiments.trust import common  # noqa: E402

from pseudopulse.signal.confidence import apply_caps, standardised  # noqa: E402

OUT = Path(__file__).resolve().parent / "results"
SIGNALS = ("peak_share", "autocorr", "track_agreement", "estimator_agreement", "roi_agreement", "roi_coherence",
           "colour_match", "double_share", "harmonic_ambiguity", "trim_agreement")  # fmt: skip
BASE = ("peak_share", "estimator_agreement", "roi_agreement")
FEATURE_SETS = {
    "A": BASE,
    "B": BASE + ("colour_match",),
    "C": BASE + ("double_share", "harmonic_ambiguity"),
    "D": BASE + ("trim_agreement",),
    "E": BASE + ("colour_match", "double_share", "harmonic_ambiguity", "trim_agreement"),
    "F": BASE + ("roi_coherence",),
    "G": ("peak_share", "estimator_agreement", "roi_coherence"),
}
PULSE_FREE_ABSTAIN = 0.95  # guard (i): share of the generated pulse-free clips (LOGO) that must abstain
FRESH_FREE_ABSTAIN = 23  # guard (iii): of FRESH2's 24 pulse-free clips
FIT_FEATURES = BASE
GRID = tuple(round(0.5 + 0.05 * i, 2) for i in range(10))  # 0.50 .. 0.95
RULE_WITHIN5 = 0.95
L2 = 1.0


def load(set_name: str, method: str = "model") -> list[dict]:
    rows = pickle.load(open(common.WORK / f"features_{set_name}.pkl", "rb"))
    return [r for r in rows if r["method"] == method]


def auroc(score, label):
    score, label = np.asarray(score, float), np.asarray(label, bool)
    ok = np.isfinite(score)
    score, label = score[ok], label[ok]
    pos, neg = score[label], score[~label]
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    gt = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()  # ties count half
    return float(gt / (len(pos) * len(neg)))


def design(rows, names=FIT_FEATURES):
    """(N, 1 + len(names)): a column of ones and the product's standardised features."""
    x = standardised({n: np.array([r["feat"][n] for r in rows], float) for n in names}, names)
    return np.column_stack([np.ones(len(rows)), x.reshape(len(rows), len(names))])


def fit_logistic(x, y, l2=L2, iters=50):
    """L2-penalised logistic regression by IRLS (intercept not penalised); weights (intercept first)."""
    w = np.zeros(x.shape[1])
    reg = l2 * np.eye(x.shape[1])
    reg[0, 0] = 0.0
    for _ in range(iters):
        p = 1 / (1 + np.exp(-x @ w))
        g = x.T @ (p - y) + reg @ w
        h = x.T @ (x * (p * (1 - p))[:, None]) + reg + 1e-9 * np.eye(len(w))
        step = np.linalg.solve(h, g)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w


def fit(rows, names):
    return fit_logistic(design(rows, names), np.array([r["right"] for r in rows], float))


def confidence(w, rows, names) -> np.ndarray:
    """The product's confidence of ``rows`` under weights ``w``: the logistic map, then the hard caps."""
    z = 1 / (1 + np.exp(-design(rows, names) @ w))
    return np.array([float(apply_caps(c, face_valid=r["feat"]["face_valid"], roi_px=r["feat"]["roi_px"],
                                      skin_crop=r["feat"]["skin_crop"])) for c, r in zip(z, rows)])  # fmt: skip


def reliability(conf, right, bins=(0, 0.2, 0.4, 0.6, 0.8, 0.9, 1.0001)):
    out = []
    for a, b in zip(bins[:-1], bins[1:]):
        m = (conf >= a) & (conf < b)
        if m.any():
            out.append({"bin": f"{a:.1f}-{min(b, 1):.1f}", "n": int(m.sum()), "mean_conf": round(float(conf[m].mean()), 3),
                        "share_within5": round(float(np.mean(right[m])), 3)})  # fmt: skip
    return out


def coverage(conf, err, right):
    out = []
    order = np.argsort(-conf)
    for share in (1.0, 0.95, 0.9, 0.85, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3):
        k = max(1, int(round(share * len(conf))))
        keep = order[:k]
        out.append({"kept": share, "n": k, "min_conf": round(float(conf[keep].min()), 3),
                    "mae": round(float(np.mean(np.abs(err[keep]))), 2), "within5": round(float(np.mean(right[keep])), 3)})  # fmt: skip
    return out


def kept(conf, rows, t) -> dict:
    """Reliable rows at threshold ``t``: count, share, within 5, MAE, largest error, count > 10 bpm off."""
    keep = conf >= t
    err = np.array([abs(r["err"]) for r in rows])
    e = err[keep & np.isfinite(err)]
    return {"n": len(rows), "reliable": int(keep.sum()), "coverage": round(float(keep.mean()), 3) if len(rows) else None,
            "within5": round(float(np.mean(e <= 5)), 3) if e.size else None,
            "mae": round(float(e.mean()), 2) if e.size else None, "max_err": round(float(e.max()), 1) if e.size else None,
            "over10": int(np.sum(e > 10))}  # fmt: skip


def rule_threshold(conf, rows) -> float | None:
    """The lowest threshold of ``GRID`` at which the reliable rows are >= ``RULE_WITHIN5`` within 5 bpm."""
    for t in GRID:
        k = kept(conf, rows, t)
        if k["reliable"] and k["within5"] >= RULE_WITHIN5:
            return t
    return None


def loso(ubfc, synth, names) -> np.ndarray:
    subj = np.array([r["subject"] for r in ubfc])
    out = np.zeros(len(ubfc))
    for s in np.unique(subj):
        w = fit([r for r, m in zip(ubfc, subj != s) if m] + synth, names)
        out[subj == s] = confidence(w, [r for r in ubfc if r["subject"] == s], names)
    return out


def leave_one_generated_out(ubfc, synth, names) -> np.ndarray:
    return np.array([confidence(fit(ubfc + synth[:i] + synth[i + 1 :], names), [r], names)[0] for i, r in enumerate(synth)])


def score_set(names, data) -> dict:
    ubfc, synth = data["ubfc"], data["synth"]
    right = np.array([r["right"] for r in ubfc])
    err = np.array([r["err"] for r in ubfc])
    c_loso = loso(ubfc, synth, names)
    t = rule_threshold(c_loso, ubfc)
    c_gen = leave_one_generated_out(ubfc, synth, names)
    w_all = fit(ubfc + synth, names)
    res = {"features": list(names), "threshold": t, "auroc_loso": round(auroc(c_loso, right), 3),
           "coef": {n: round(float(v), 4) for n, v in zip(names, w_all[1:])}, "intercept": round(float(w_all[0]), 4),
           "reliability_loso": reliability(c_loso, right), "coverage_loso": coverage(c_loso, err, right),
           "thresholds_loso": {str(g): kept(c_loso, ubfc, g) for g in GRID}}  # fmt: skip
    tt = GRID[-1] if t is None else t
    res["at_threshold"] = {"ubfc_loso": kept(c_loso, ubfc, tt)}
    for kind in ("pulse_free", "pulsed", "low_rate"):
        idx = [i for i, r in enumerate(synth) if r["set"].split("-", 1)[1] == kind]
        res["at_threshold"][f"generated_{kind}_logo"] = kept(c_gen[idx], [synth[i] for i in idx], tt)
    score_unfitted(res, data, lambda rows: confidence(w_all, rows, names), tt)
    res["passes"] = passes(res, t)
    res["per_clip_ubfc"] = [{"clip": r["clip"], "err": round(r["err"], 2), "conf_loso": round(float(c), 3)}
                            for r, c in zip(ubfc, c_loso)]  # fmt: skip
    return res


def score_unfitted(res: dict, data: dict, conf_of, t: float) -> None:
    """FRESH2 and the skin crops under ``conf_of`` at threshold ``t``, then the guards' counts."""
    for name in ("fresh2", "bias"):
        for kind in sorted({r["set"] for r in data.get(name, [])}):
            rows = [r for r in data[name] if r["set"] == kind]
            res["at_threshold"][kind] = kept(conf_of(rows), rows, t)
    a = res["at_threshold"]
    free = a.get("generated_pulse_free_logo")
    fresh_free = a.get("freshB-pulse_free")
    over10 = sum(v["over10"] for k, v in a.items() if "pulse_free" not in k)
    res["guards"] = {"pulse_free_logo_abstain": None if free is None else free["n"] - free["reliable"],
                     "pulse_free_logo_n": None if free is None else free["n"],
                     "fresh_pulse_free_abstain": None if fresh_free is None else fresh_free["n"] - fresh_free["reliable"],
                     "reliable_over10": over10}  # fmt: skip


def passes(res: dict, t) -> bool:
    g = res["guards"]
    return bool(t is not None and g["pulse_free_logo_abstain"] >= PULSE_FREE_ABSTAIN * g["pulse_free_logo_n"]
                and g["reliable_over10"] == 0 and g["fresh_pulse_free_abstain"] is not None
                and g["fresh_pulse_free_abstain"] >= FRESH_FREE_ABSTAIN)  # fmt: skip


def score_shipped(data: dict) -> dict:
    """The shipped constants at ``DEFAULT_THRESHOLD`` on the same sets (UBFC and generated: in-sample)."""
    from pseudopulse.signal.confidence import DEFAULT_THRESHOLD, ReadingFeatures, confidence_from_features

    def conf_of(rows):
        return np.array([confidence_from_features(ReadingFeatures(**r["feat"])).value for r in rows])

    ubfc, synth = data["ubfc"], data["synth"]
    t = DEFAULT_THRESHOLD
    res = {"features": ["shipped"], "threshold": t, "auroc_loso": round(auroc(conf_of(ubfc), [r["right"] for r in ubfc]), 3),
           "at_threshold": {"ubfc_loso": kept(conf_of(ubfc), ubfc, t)}}  # fmt: skip
    for kind in ("pulse_free", "pulsed", "low_rate"):
        rows = [r for r in synth if r["set"].split("-", 1)[1] == kind]
        res["at_threshold"][f"generated_{kind}_logo"] = kept(conf_of(rows), rows, t)
    score_unfitted(res, data, conf_of, t)
    res["passes"] = passes(res, t)
    return res


def to_markdown(results: dict) -> str:
    lines = ["| set | features | threshold | LOSO AUROC | real clips reliable (LOSO) | within 5 | MAE reliable | "
             "generated pulse-free abstain (LOGO) | FRESH2 pulse-free abstain | generated low-rate reliable (max err) | "
             "FRESH2 low-rate reliable (max err) | skin crops reliable | reliable > 10 bpm off | passes guards |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]  # fmt: skip
    for k, r in results.items():
        a, g = r["at_threshold"], r["guards"]
        u = a["ubfc_loso"]
        lr, fl, sk = a["generated_low_rate_logo"], a.get("freshB-low_rate"), a.get("skin-crops")
        fmt = lambda v: "—" if v is None else f"{v['reliable']}/{v['n']} ({v['max_err']})"  # noqa: E731
        feats = "shipped constants (in-sample)" if r["features"] == ["shipped"] else ", ".join(r["features"])
        lines.append(f"| {k} | {feats} | {r['threshold']} | {r['auroc_loso']} | "
                     f"{u['reliable']}/{u['n']} ({100 * u['coverage']:.0f} %) | {u['within5']} | {u['mae']} | "
                     f"{g['pulse_free_logo_abstain']}/{g['pulse_free_logo_n']} | {g['fresh_pulse_free_abstain']}/24 | "
                     f"{fmt(lr)} | {fmt(fl)} | {'—' if sk is None else sk['reliable']} | {g['reliable_over10']} | "
                     f"{r['passes']} |")  # fmt: skip
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", nargs="+", default=["A", "F", "G"], choices=list(FEATURE_SETS))
    args = ap.parse_args()
    data = {s: load(s) for s in ("ubfc", "synth", "fresh", "fresh2", "bias") if (common.WORK / f"features_{s}.pkl").exists()}
    data["synth"] = data["synth"] + data.pop("fresh", [])  # the generated fit data (twelfth round)
    ubfc, synth = data["ubfc"], data["synth"]
    free = [r for r in synth if r["set"].endswith("pulse_free")]
    ub_right = [r for r in ubfc if r["right"]]
    col = lambda rows, s: [r["feat"][s] for r in rows]  # noqa: E731
    out = {"counts": {k: len(v) for k, v in data.items()} | {"ubfc_right": len(ub_right)},
           "auroc": {s: {"ubfc_right_vs_wrong": round(auroc(col(ubfc, s), [r["right"] for r in ubfc]), 3),
                         "ubfc_right_vs_pulse_free": round(auroc(col(ub_right, s) + col(free, s),
                                                                 [True] * len(ub_right) + [False] * len(free)), 3)}
                     for s in SIGNALS}}  # fmt: skip
    out["sets"] = {k: score_set(FEATURE_SETS[k], data) for k in args.sets}
    out["sets"]["shipped"] = score_shipped(data)
    OUT.mkdir(exist_ok=True)
    json.dump(out, open(OUT / "feature_sets.json", "w"), indent=1)
    md = to_markdown(out["sets"])
    (OUT / "feature_sets.md").write_text(md)
    print(json.dumps(out["auroc"], indent=None))
    print(md)


if __name__ == "__main__":
    main()
