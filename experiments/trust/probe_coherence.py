"""Probe (exploratory): ROI phase coherence of the pulse at the read rate, on the trust sets.

    PYTHONPATH=src:. nice -n 10 .venv/bin/python -m experiments.trust.probe_coherence > /tmp/trust_work/coherence.txt

For every clip of ubfc / synth / fresh (the model's reading from /tmp/trust_work/features_<set>.pkl), each ROI's
POS wave is cleaned like the reading's wave and its complex Fourier coefficient at the read rate taken (Hann
window); coherence = |sum c_r| / sum |c_r| (1: every skin block pulses in phase; ~1/sqrt(R) for random phases).
"""

from __future__ import annotations

import pickle
import warnings

import numpy as np

from experiments.trust import common
from pseudopulse.reading import _grid, roi_waves
from pseudopulse.signal import clean_wave
from pseudopulse.signal.filters import DEFAULT_BAND_HZ


def coefficients(stmap, hr_bpm: float) -> np.ndarray:
    t_s, fs = _grid(stmap)
    f = hr_bpm / 60.0
    win = np.hanning(len(t_s))
    ph = np.exp(-2j * np.pi * f * (t_s - t_s[0]))
    out = []
    for w in roi_waves(stmap, t_s, fs):
        if not np.all(np.isfinite(w)) or np.std(w) == 0:
            continue
        c = clean_wave(w, fs, DEFAULT_BAND_HZ)
        c = (c - c.mean()) / (c.std() + 1e-12)
        out.append(np.sum(win * c * ph))
    return np.array(out)


def main() -> None:
    readings = {}
    for s in ("ubfc", "synth", "fresh"):
        for r in pickle.load(open(common.WORK / f"features_{s}.pkl", "rb")):
            if r["method"] == "model":
                readings[r["clip"]] = r
    warnings.simplefilter("ignore")
    gens = [common.ubfc_clips(), common.synth_clips(), common.synth_clips(common.synth_configs(**common.FRESH), prefix="fresh")]
    rows = []
    for gen in gens:
        for kind, clip, st, truth in gen:
            r = readings[clip]
            c = coefficients(st, r["hr"])
            coh = float(np.abs(c.sum()) / np.abs(c).sum()) if len(c) else float("nan")
            rows.append(dict(kind=kind, clip=clip, hr=r["hr"], truth=truth, err=r["err"], conf=r["confidence"],
                             coh=coh, roi=r["feat"]["roi_agreement"], ea=r["feat"]["estimator_agreement"]))
            print(kind, clip, round(r["hr"], 1), round(float(truth), 1), "conf", round(r["confidence"], 2), "coh", round(coh, 3),
                  "roi", round(r["feat"]["roi_agreement"], 2), flush=True)
    pickle.dump(rows, open(common.WORK / "coherence.pkl", "wb"))


if __name__ == "__main__":
    main()
