"""Refit the constants of pseudopulse.signal.confidence (FEATURES, COEF, INTERCEPT) and print them.

    nice -n 10 .venv/bin/python -m experiments.trust.fit_confidence [--set A]

Training set (twelfth round, experiments/LOG.md): the product's features (``collect.py features``:
``reading.read_stmap`` -> ``reading.assess``) of the model's readings of the 84 generated clips of the fitting suite
and the seed-23 suite (48 pulse-free, 12 pulsed, 24 low-rate) and the 63 real UBFC 10-s clips. Label: the reading is within 5 bpm of the contact-PPG HR (pulse-free clips: never). The out-of-subject
quality of exactly this recipe is confidence_eval.py's leave-one-subject-out numbers (FINDINGS.md).
"""

import argparse

from experiments.trust.confidence_eval import FEATURE_SETS, fit, load  # noqa: E402

ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
ap.add_argument("--set", default="A", choices=list(FEATURE_SETS))
names = FEATURE_SETS[ap.parse_args().set]
w = fit(load("synth") + load("fresh") + load("ubfc"), names)
print(f"FEATURES = {tuple(names)!r}")
print(f"COEF = {{{', '.join(f'{n!r}: {v:.4f}' for n, v in zip(names, w[1:]))}}}")
print(f"INTERCEPT = {w[0]:.4f}")
