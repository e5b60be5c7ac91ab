"""Experiment (c): which label-free signals separate right (|error| <= 5 bpm) from wrong readings, the fitted
confidence, its reliability and coverage-error tables, and the abstention threshold.

    nice -n 10 .venv/bin/python -m experiments.trust.confidence_eval

Reads /tmp/trust_work/{ubfc,synth,bias}.pkl (collect.py). The reading is the product's clip reading: the model run
on the clip alone, ``estimate_hr`` (plain PSD peak). A pulse-free generated clip has no right answer: its label
is "wrong" (it must abstain). Features come from ``pseudopulse.signal.confidence.reading_features``.
Fit: L2 logistic regression (IRLS) on the GENERATED clips only; scored on real UBFC clips and the skin crops.
Also: leave-one-UBFC-subject-out fits (generated clips + the other 10 subjects) as a check.
Writes experiments/trust/results/confidence.json and prints the tables.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np

from experiments.trust import common  # noqa: E402

from pseudopulse.signal import estimate_hr, snr_db  # noqa: E402
from pseudopulse.methods.pos import pos  # noqa: E402
from pseudopulse.signal.confidence import CENTRE, SCALE, estimator_agreement, reading_features  # noqa: E402
from pseudopulse.signal.track import hr_track  # noqa: E402

OUT = Path(__file__).resolve().parent / "results"
SIGNALS = ("snr_db", "peak_share", "autocorr", "track_agreement", "estimator_agreement", "roi_agreement",
           "harmonic_ambiguity", "face_valid")  # fmt: skip
FIT_FEATURES = ("peak_share", "estimator_agreement", "roi_agreement")
L2 = 1.0


def roi_rates(values: np.ndarray, *, fs: float) -> np.ndarray:
    """(R,) rate (bpm) of each ROI's own POS wave, as ``pseudopulse.reading.roi_waves`` computes them; NaN when unreadable."""
    out = np.full(values.shape[1], np.nan)
    for r in range(values.shape[1]):
        trace = np.asarray(values[:, r, :], dtype=np.float64)
        if np.all(np.isfinite(trace)) and np.all(trace.mean(axis=0) > 1.0):
            out[r] = hr_track(pos(trace, fs=fs), fs=fs, window_s=len(trace) / fs).hr_bpm[0]
    return out


def clip_features(c: dict) -> dict:
    fs = c["fs"]
    w = c["waves"]["model_clip"]
    est = estimate_hr(w, fs)
    hr = est.hr_bpm
    others = [estimate_hr(c["waves"][m], fs).hr_bpm for m in ("pos", "chrom", "2sr") if c["waves"].get(m) is not None]
    one = hr_track(w, fs=fs, window_s=len(w) / fs)
    short = hr_track(w, fs=fs, window_s=5.0, hop_s=1.0)
    rates = roi_rates(c["values"], fs=fs)
    f = reading_features(one, hr_bpm=hr, others_bpm=others, valid=c["valid"]).as_dict()
    f["track_agreement"] = float(np.mean(np.abs(short.peak_bpm - hr) <= 5.0))
    f["roi_agreement"] = estimator_agreement(hr, rates)
    f["snr_db"] = snr_db(est.wave, fs, hr)
    err = hr - c["hr_true_bpm"] if np.isfinite(c["hr_true_bpm"]) else np.nan
    right = bool(np.isfinite(err) and abs(err) <= 5.0)
    return {"hr": hr, "err": err, "right": right, "feat": f, "subject": c["subject"], "kind": c.get("kind", c["source"])}


def auroc(score, label):
    score, label = np.asarray(score, float), np.asarray(label, bool)
    ok = np.isfinite(score)
    score, label = score[ok], label[ok]
    pos, neg = score[label], score[~label]
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    # Mann-Whitney with ties counted half
    gt = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return float(gt / (len(pos) * len(neg)))


def design(rows, names=FIT_FEATURES):
    x = np.array([[r["feat"][n] for n in names] for r in rows], float)
    for j, n in enumerate(names):
        x[:, j] = np.where(np.isfinite(x[:, j]), (x[:, j] - CENTRE[n]) / SCALE[n], 0.0)
    return np.column_stack([np.ones(len(x)), x])


def fit_logistic(x, y, l2=L2, iters=50):
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


def predict(w, x):
    return 1 / (1 + np.exp(-x @ w))


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
    for share in (1.0, 0.95, 0.9, 0.85, 0.8, 0.7, 0.6, 0.5):
        k = max(1, int(round(share * len(conf))))
        keep = order[:k]
        out.append({"kept": share, "n": k, "min_conf": round(float(conf[keep].min()), 3),
                    "mae": round(float(np.mean(np.abs(err[keep]))), 2), "within5": round(float(np.mean(right[keep])), 3)})  # fmt: skip
    return out


def at_threshold(t, real_conf, real_right, real_err, free_conf):
    keep = real_conf >= t
    return {"threshold": round(float(t), 3), "real_kept": round(float(keep.mean()), 3),
            "real_kept_within5": round(float(np.mean(real_right[keep])), 3) if keep.any() else float("nan"),
            "real_kept_mae": round(float(np.mean(np.abs(real_err[keep]))), 2) if keep.any() else float("nan"),
            "pulse_free_abstain": round(float(np.mean(free_conf < t)), 3)}  # fmt: skip


def main():
    data = {s: [clip_features(c) for c in pickle.load(open(common.WORK / f"{s}.pkl", "rb"))] for s in ("ubfc", "synth", "bias")}
    ubfc, synth, bias = data["ubfc"], data["synth"], data["bias"]
    free = [r for r in synth if r["kind"] == "pulse_free"]
    pulsed = [r for r in synth if r["kind"] != "pulse_free"]
    res = {"counts": {"ubfc": len(ubfc), "ubfc_right": int(sum(r["right"] for r in ubfc)), "synth_pulse_free": len(free),
                      "synth_pulsed": len(pulsed), "synth_pulsed_right": int(sum(r["right"] for r in pulsed)),
                      "bias": len(bias), "bias_right": int(sum(r["right"] for r in bias))}}  # fmt: skip
    # (c1) AUROC of each signal
    aur = {}
    for s in SIGNALS:
        def col(rows):
            return [r["feat"][s] for r in rows]

        ub_right = [r for r in ubfc if r["right"]]
        aur[s] = {
            "ubfc_right_vs_wrong": round(auroc(col(ubfc), [r["right"] for r in ubfc]), 3),
            "ubfc_right_vs_pulse_free": round(auroc(col(ub_right) + col(free), [True] * len(ub_right) + [False] * len(free)), 3),
            "synth_right_vs_wrong_or_free": round(auroc(col(synth), [r["right"] for r in synth]), 3),
            "bias_right_vs_wrong": round(auroc(col(bias), [r["right"] for r in bias]), 3),
            "median_ubfc_right": round(float(np.nanmedian(col(ub_right))), 3) if ub_right else None,
            "median_ubfc_wrong": round(float(np.nanmedian(col([r for r in ubfc if not r["right"]]))), 3),
            "median_pulse_free": round(float(np.nanmedian(col(free))), 3),
        }  # fmt: skip
    res["auroc"] = aur
    # (c2) fit on generated clips only
    w = fit_logistic(design(synth), np.array([r["right"] for r in synth], float))
    res["fit_on_synth"] = {"intercept": round(float(w[0]), 4), "coef": {n: round(float(v), 4) for n, v in zip(FIT_FEATURES, w[1:])}}
    conf = {k: predict(w, design(v)) for k, v in data.items()}
    res["fit_on_synth"]["auroc_ubfc"] = round(auroc(conf["ubfc"], [r["right"] for r in ubfc]), 3)
    res["fit_on_synth"]["auroc_bias"] = round(auroc(conf["bias"], [r["right"] for r in bias]), 3)
    uc, ur = conf["ubfc"], np.array([r["right"] for r in ubfc])
    ue = np.array([r["err"] for r in ubfc])
    fc = np.array([c for c, r in zip(conf["synth"], synth) if r["kind"] == "pulse_free"])
    res["fit_on_synth"]["reliability_ubfc"] = reliability(uc, ur)
    res["fit_on_synth"]["coverage_ubfc"] = coverage(uc, ue, ur)
    res["fit_on_synth"]["thresholds"] = [at_threshold(t, uc, ur, ue, fc) for t in (0.3, 0.4, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9)]
    br, be = np.array([r["right"] for r in bias]), np.array([r["err"] for r in bias])
    res["fit_on_synth"]["bias_at_0.5"] = {"kept": round(float(np.mean(conf["bias"] >= 0.5)), 3),
                                          "kept_within5": round(float(np.mean(br[conf["bias"] >= 0.5])), 3) if np.any(conf["bias"] >= 0.5) else None,
                                          "all_within5": round(float(br.mean()), 3), "all_mae": round(float(np.mean(np.abs(be))), 2)}  # fmt: skip
    # (c3) leave-one-UBFC-subject-out: generated clips + 10 subjects -> held-out subject
    subj = np.array([r["subject"] for r in ubfc])
    loso = np.zeros(len(ubfc))
    for s in np.unique(subj):
        tr = [r for r, m in zip(ubfc, subj != s) if m] + synth
        wl = fit_logistic(design(tr), np.array([r["right"] for r in tr], float))
        loso[subj == s] = predict(wl, design([r for r in ubfc if r["subject"] == s]))
    res["loso_ubfc"] = {"auroc": round(auroc(loso, ur), 3), "reliability": reliability(loso, ur),
                        "coverage": coverage(loso, ue, ur),
                        "thresholds": [at_threshold(t, loso, ur, ue, fc) for t in (0.3, 0.4, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9)]}  # fmt: skip
    res["per_clip_ubfc"] = [{"subject": r["subject"], "err": round(float(r["err"]), 2), "conf_synthfit": round(float(c), 3),
                             "conf_loso": round(float(cl), 3), **{k: (round(v, 3) if np.isfinite(v) else None) for k, v in r["feat"].items()}}
                            for r, c, cl in zip(ubfc, uc, loso)]  # fmt: skip
    res["per_clip_pulse_free"] = [round(float(c), 3) for c in fc]
    OUT.mkdir(exist_ok=True)
    json.dump(res, open(OUT / "confidence.json", "w"), indent=1)
    print(json.dumps({k: v for k, v in res.items() if not k.startswith("per_clip")}, indent=1))


if __name__ == "__main__":
    main()
