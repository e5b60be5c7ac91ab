"""Refit the constants of pseudopulse.signal.confidence (COEF, INTERCEPT) and print them.

    nice -n 10 .venv/bin/python -m experiments.trust.fit_confidence

Training set: the 48 generated clips (collect.py synth: 24 pulse-free, 12 pulsed, 12 low-rate) plus the 63 real
UBFC 10-s clips (collect.py ubfc). Label: the model's clip reading is within 5 bpm of the contact-PPG HR (pulse-free
clips: never). The out-of-subject quality of exactly this recipe is confidence_eval.py's leave-one-subject-out
numbers (FINDINGS.md); the fit on generated clips alone is reported there too.
"""

import pickle
from pathlib import Path

import numpy as np

from experiments.trust import common  # noqa: E402
from experiments.trust.confidence_eval import FIT_FEATURES, clip_features, design, fit_logistic  # noqa: E402

rows = [clip_features(c) for s in ("synth", "ubfc") for c in pickle.load(open(common.WORK / f"{s}.pkl", "rb"))]
w = fit_logistic(design(rows), np.array([r["right"] for r in rows], float))
print(f"COEF = {{{', '.join(f'{n!r}: {v:.4f}' for n, v in zip(FIT_FEATURES, w[1:]))}}}")
print(f"INTERCEPT = {w[0]:.4f}")
