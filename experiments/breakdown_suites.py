"""Where predictors lose on generated suites: 10-s clip MAE per stratum of the settings each clip was rendered with.

Every `pseudopulse synth` folder lists its clips' settings in suite.json. This script scores each model file and
method on the same clips (`pseudopulse.eval.compare.clip_errors`) and groups the absolute errors by the suite's own factors:
heart rate, x264 CRF, motion, lighting, specular highlight and skin tone. The "excess" columns give, per stratum,
the summed |error| of each model minus that of the first method (bpm over all clips of the stratum): where a gap
between a model and its teacher actually lives. Writes a markdown table (default results/suite_breakdown.md).
Usage (from the repo root):

    .venv/bin/python experiments/breakdown_suites.py runs/A/model.pt [--methods 2sr pos] \
        --suite runs/synth-s1 --suite runs/synth-s3 [--out results/suite_breakdown.md]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from pseudopulse.errors import DatasetError
from pseudopulse.eval.compare import check_suites, clip_errors, write_report

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "results" / "cache" / "stmap"

HR_STRATA = ((60, "< 60 bpm"), (90, "60–90 bpm"), (120, "90–120 bpm"), (float("inf"), "≥ 120 bpm"))
FACTORS = {  # factor -> function of one suite.json clip entry giving (order, stratum label)
    "heart rate": lambda c: next((k, lab) for k, (hi, lab) in enumerate(HR_STRATA) if c["hr_bpm"] < hi),
    "x264 CRF": lambda c: (c["crf"] or 0, f"CRF {c['crf']}" if c["crf"] else "lossless"),
    "motion": lambda c: (0, "none") if c["motion_px"] == 0 else (1, "mild (< 5 px)") if c["motion_px"] < 5 else (2, "strong (≥ 5 px)"),
    "lighting": lambda c: (2, "flicker") if c["flicker_amp"] else (1, "slow change") if c["illumination_amp"] else (0, "steady"),
    "specular": lambda c: (1, "on") if c["specular"] else (0, "off"),
    "skin tone": lambda c: (0, "dark (< −0.5)") if c["skin_tone"] < -0.5 else (1, "mid (−0.5–0)") if c["skin_tone"] < 0 else (2, "light (≥ 0)"),
}  # fmt: skip
SETTINGS_USED = ("subject", "hr_bpm", "crf", "motion_px", "flicker_amp", "illumination_amp", "specular", "skin_tone")


def suite_clips(folder: Path) -> dict[str, dict]:
    """suite.json's settings per recording name (``subjectN``); stops with a message if a setting is missing."""
    with open(folder / "suite.json") as fh:
        clips = json.load(fh).get("clips", [])
    for c in clips:
        missing = [k for k in SETTINGS_USED if k not in c]
        if missing:
            raise SystemExit(f"{folder}/suite.json: clip {c.get('subject', '?')} lacks {', '.join(missing)} "
                             "(written by another version of `pseudopulse synth`?)")  # fmt: skip
    return {c["subject"]: c for c in clips}


def breakdown_rows(settings: list[dict], errors: dict[str, np.ndarray]) -> list[str]:
    """Markdown rows: per factor and stratum, the clip count, each predictor's MAE, and each later predictor's
    summed |error| minus the first's."""
    names = list(errors)
    base = names[0]
    rows = []
    for factor, stratum_of in FACTORS.items():
        keys = [stratum_of(c) for c in settings]
        strata = np.array([label for _, label in keys])
        for _, level in sorted(set(keys)):
            sel = strata == level
            mae = [f"{np.mean(np.abs(errors[n][sel])):.2f}" for n in names]
            excess = [f"{np.sum(np.abs(errors[n][sel])) - np.sum(np.abs(errors[base][sel])):+.0f}" for n in names[1:]]
            rows.append(f"| {factor} | {level} | {int(sel.sum())} | " + " | ".join(mae + excess) + " |")
    total = [f"{np.sum(np.abs(errors[n])) - np.sum(np.abs(errors[base])):+.0f}" for n in names[1:]]
    rows.append(f"| all | | {len(settings)} | " + " | ".join([f"{np.mean(np.abs(errors[n])):.2f}" for n in names] + total) + " |")
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="*")
    ap.add_argument("--methods", nargs="+", default=["2sr", "pos"], help="the first is the reference of the excess columns")
    ap.add_argument("--suite", action="append", default=[], type=Path, required=True, help="a `pseudopulse synth` folder")
    ap.add_argument("--out", default=str(ROOT / "results" / "suite_breakdown.md"))
    args = ap.parse_args()
    try:
        check_suites(args.suite)
    except DatasetError as e:
        ap.error(str(e))
    missing = [str(p) for p in args.suite if not (p / "suite.json").is_file()]
    if missing:
        ap.error(f"no suite.json in {', '.join(missing)} (folders written by `pseudopulse synth` have one)")
    predictors = [(m, None, m) for m in args.methods] + [("model", ck, f"model `{ck}`") for ck in args.models]
    errors = {label: [] for _, _, label in predictors}
    settings = []
    for folder in args.suite:
        clips = suite_clips(folder)
        recordings = None
        for method, ck, label in predictors:
            err, recs = clip_errors(folder, method, ck, cache_dir=CACHE)
            if recordings is not None and recs != recordings:
                raise SystemExit(f"{folder}: {label} was scored on other clips than {predictors[0][2]}")
            recordings = recs
            errors[label].append(err)
        unlisted = sorted({r.split("/")[-1] for r in recordings} - set(clips))
        if unlisted:
            raise SystemExit(f"{folder}: recordings not in its suite.json: {', '.join(unlisted)}")
        settings += [clips[r.split("/")[-1]] for r in recordings]
    errors = {k: np.concatenate(v) for k, v in errors.items()}
    labels = list(errors)
    head = ["factor", "stratum", "clips", *(f"{n} MAE" for n in labels), *(f"{n} excess over {labels[0]}" for n in labels[1:])]
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head), *breakdown_rows(settings, errors)]
    write_report(args.out, f"10-s clips of {', '.join(p.name for p in args.suite)}, grouped by the settings in each "
                 f"suite.json. MAE in bpm; excess = summed |error| minus {labels[0]}'s over the stratum's clips (bpm; "
                 "positive = worse).", rows, echo=True)


if __name__ == "__main__":
    main()
