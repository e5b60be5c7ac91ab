"""Collect per-clip waves for the trust experiments -> /tmp/trust_work/<source>.pkl (not committed).

    nice -n 10 .venv/bin/python -m experiments.trust.collect ubfc
    ... collect.py synth     # 48 generated 10-s clips: 24 pulse-free, 12 pulsed, 12 low-rate (45-60 bpm)
    ... collect.py bias      # skin crops (roi="full-frame"), 10-s clips, GT = the video's mean HR
    ... collect.py features [ubfc synth fresh fresh2 fresh3 fresh4 fresh5 fresh6 fresh7 fresh8 bias]   # the PRODUCT's features -> /tmp/trust_work/features_<set>.pkl

``features`` (what the confidence map is fitted on and scored with): each clip's STMap read by
``pseudopulse.reading.read_stmap`` (what ``predict`` runs; its features come from ``reading.assess``, the code the
live engine runs per window too) for the model and POS; per clip the reading, the GT and every field of
``ReadingFeatures``. Sets: ``common.ubfc_clips`` (63), ``synth_clips`` (48, the fitting suite), ``fresh`` (the
``common.FRESH`` suite: 24 pulse-free + 12 low-rate, never fitted) and ``bias`` (135 skin-crop clips).

The other modes store raw waves for the read-out experiments (readout.py):

Per clip it stores the raw waves (on the clip's own frame times) of: the model run on the clip alone ("model_clip",
the paper's protocol), the model with test-time variants (reflect-padded clip, 1-s-hop sliding windows over the
padded clip, time-reversal average), the model's whole-recording wave cut to the clip ("model_whole", UBFC only),
POS / CHROM / 2SR on the clip alone, the clip's STMap values (T, R, 3) and face-valid mask, and the GT.
"""

from __future__ import annotations

import pickle
import sys
import warnings

import numpy as np

from experiments.trust import common  # noqa: E402

from pseudopulse.eval.clips import true_clip_hr  # noqa: E402
from pseudopulse.predictors import resolve_predictor  # noqa: E402
from pseudopulse.model.predictor import ModelPredictor  # noqa: E402

METHODS = ("pos", "chrom", "2sr")
PAD_S = 5.0


def model_variants(m, stmap) -> dict[str, np.ndarray]:
    """Model waves (T,) at ``stmap.timestamps_s`` for the clip ``stmap`` processed alone, several ways."""
    st = stmap.fill_gaps(max_gap_s=1.0)
    ts = st.timestamps_s
    u = st.resample(m.fs)
    v = u.values
    p = min(int(round(PAD_S * m.fs)), len(v) - 1)
    vp = np.pad(v, ((p, p), (0, 0), (0, 0)), mode="reflect")
    fine = ModelPredictor(m.net, fs=m.fs, window_s=m.window / m.fs, hop_frac=1.0 / 10.0)
    out = {
        "model_clip": m.predict_values(v),
        "model_pad": m.predict_values(vp)[p : p + len(v)],
        "model_padtta": fine.predict_values(vp)[p : p + len(v)],
        "model_flip": 0.5 * (m.predict_values(v) + m.predict_values(v[::-1].copy())[::-1]),
    }
    return {k: np.interp(ts, u.timestamps_s, w) for k, w in out.items()}


def clip_record(m, clip_map, fs, **extra) -> dict:
    rec = dict(extra)
    rec["fs"] = float(fs)
    rec["values"] = np.asarray(clip_map.values, np.float32)
    rec["valid"] = np.asarray(clip_map.valid, bool)
    waves = model_variants(m, clip_map)
    for name in METHODS:
        try:
            waves[name] = resolve_predictor(name)(clip_map)
        except Exception as e:  # keep going; the analysis treats a missing wave as no estimate
            waves[name] = None
            rec.setdefault("errors", []).append(f"{name}: {e}")
    rec["waves"] = waves
    return rec


def collect_ubfc() -> list[dict]:
    m = common.model()
    out = []
    for name, gm, fs, aligned, first, clips in common.ubfc_recordings():
        whole = m.apply(gm)
        for c in clips:
            a, b = c.start - first, c.stop - first
            gt = true_clip_hr(ppg=aligned.ppg[a:b], hr_bpm=None, fs=fs, source="ppg")
            r = clip_record(m, gm.slice(c.start, c.stop), fs, source="ubfc", subject=name, index=c.index,
                            hr_true_bpm=gt, gt_ppg=aligned.ppg[a:b])
            r["waves"]["model_whole"] = whole[c.start : c.stop]
            out.append(r)
        print(name, len(clips), flush=True)
    return out


def collect_synth() -> list[dict]:
    from pseudopulse.signal import estimate_hr
    from pseudopulse.stmap.extract import extract_stmap_from_frames
    from pseudopulse.synth import ground_truth, iter_frames

    m = common.model()
    out = []
    for i, (kind, cfg) in enumerate(common.synth_configs()):
        gt = ground_truth(cfg)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            st = extract_stmap_from_frames(iter_frames(cfg, gt), fps=cfg.fps, timestamps_s=gt.timestamps_s)
        fs = float(st.fs)
        hr_true = float(estimate_hr(gt.ppg, fs).hr_bpm) if kind != "pulse_free" else float("nan")
        r = clip_record(m, st, fs, source="synth", kind=kind, subject=f"synth{i:02d}", index=0,
                        hr_true_bpm=hr_true, hr_config_bpm=cfg.hr_bpm, config=repr(cfg))
        out.append(r)
        print(i, kind, cfg.hr_bpm, flush=True)
    return out


def collect_bias() -> list[dict]:
    from pseudopulse.stmap.extract import extract_stmap

    m = common.model()
    gts = common.bias_ground_truth()
    out = []
    for d in sorted(p for p in common.BIAS_ROOT.iterdir() if p.is_dir()):
        country, vid = d.name.rsplit("_", 1)
        for video in sorted(d.glob("*.avi")):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                st = extract_stmap(video, roi="full-frame", cache_dir=common.CACHE)
            fs = float(st.fs)
            n = int(round(common.CLIP_S * fs))
            for k, s in enumerate(range(0, st.n_frames - n + 1, n)):
                r = clip_record(m, st.slice(s, s + n), fs, source="bias", subject=d.name, roi=video.stem.rsplit("_", 1)[1],
                                index=k, hr_true_bpm=gts[(country, vid)])
                out.append(r)
            print(video.name, st.n_frames, fs, flush=True)
    return out


FEATURE_SETS = {"ubfc": lambda: common.ubfc_clips(), "synth": lambda: common.synth_clips(),
                "fresh": lambda: common.synth_clips(common.synth_configs(**common.FRESH), prefix="fresh"),
                "fresh2": lambda: common.synth_clips(common.synth_configs(**common.FRESH2), prefix="freshB"),
                "fresh3": lambda: common.synth_clips(common.synth_configs(**common.FRESH3), prefix="freshC"),
                "fresh4": lambda: common.synth_clips(common.synth_configs(**common.FRESH4), prefix="freshD"),
                "fresh5": lambda: common.synth_clips(common.synth_configs(**common.FRESH5), prefix="freshE"),
                "fresh6": lambda: common.synth_clips(common.synth_configs(**common.FRESH6), prefix="freshF"),
                "fresh7": lambda: common.synth_clips(common.synth_configs(**common.FRESH7), prefix="freshG"),
                "fresh8": lambda: common.synth_clips(common.synth_configs(**common.FRESH8), prefix="freshH"),
                "bias": lambda: common.bias_clips()}  # fmt: skip


def collect_features(set_name: str, methods=("model", "pos")) -> list[dict]:
    """[{set, clip, subject, method, hr, truth, err, right, confidence, feat}] for every clip of ``set_name``, read
    by the product (``read_stmap``); ``right``: within 5 bpm of the GT (pulse-free clips: never)."""
    from pseudopulse.reading import read_stmap

    rows = []
    for kind, clip, st, truth in FEATURE_SETS[set_name]():
        for m in methods:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                r = read_stmap(st, m, model=None, candidates=True)  # the candidate features too
            err = r.hr_bpm - truth if np.isfinite(truth) else float("nan")
            rows.append({"set": kind, "clip": clip, "subject": clip.split("/")[0], "method": m, "hr": float(r.hr_bpm),
                         "truth": float(truth), "err": float(err), "right": bool(np.isfinite(err) and abs(err) <= 5.0),
                         "confidence": float(r.confidence.value), "feat": r.confidence.features.as_dict()})  # fmt: skip
        print(kind, clip, [(x["method"], round(x["hr"], 1), round(x["confidence"], 3)) for x in rows[-len(methods):]],
              round(truth, 1), flush=True)  # fmt: skip
    return rows


if __name__ == "__main__":
    what = sys.argv[1]
    if what == "features":
        common.WORK.mkdir(parents=True, exist_ok=True)
        for set_name in sys.argv[2:] or ["ubfc", "synth", "fresh", "bias"]:
            rows = collect_features(set_name)
            with open(common.WORK / f"features_{set_name}.pkl", "wb") as f:
                pickle.dump(rows, f)
            print("saved", len(rows), "rows ->", common.WORK / f"features_{set_name}.pkl", flush=True)
        sys.exit(0)
    data = {"ubfc": collect_ubfc, "synth": collect_synth, "bias": collect_bias}[what]()
    common.WORK.mkdir(parents=True, exist_ok=True)
    with open(common.WORK / f"{what}.pkl", "wb") as f:
        pickle.dump(data, f)
    print("saved", len(data), "clips ->", common.WORK / f"{what}.pkl")
