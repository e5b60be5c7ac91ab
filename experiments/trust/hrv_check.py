"""HRV against the contact PPG on the shared UBFC recordings: where ``predict`` reports SDNN / RMSSD, how far off are
they, and what would the withheld figures have been?

    PYTHONPATH=src:. nice -n 10 .venv/bin/python -m experiments.trust.hrv_check [--methods model pos chrom]

Per recording (the whole video's STMap on the evaluation grid, cut to the contact-PPG overlap: ``common.ubfc_recordings``)
``pseudopulse.api.predict_stmap`` gives the reading, its HRV gate and its beats. The reference: the same beat
detector (``signal.detect_beats``, at the PPG's own spectral rate) on the contact PPG over the same span, band-passed
by the package read-out (``signal.clean_wave``). Writes experiments/trust/results/hrv_check.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path

import numpy as np

from experiments.trust import common

OUT = Path(__file__).resolve().parent / "results"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--methods", nargs="+", default=["model", "pos", "chrom"])
    args = ap.parse_args()
    from pseudopulse.api import predict_stmap
    from pseudopulse.signal import clean_wave, detect_beats, estimate_hr

    warnings.simplefilter("ignore")
    rows = []
    for name, grid_map, fs, aligned, first, clips in common.ubfc_recordings():
        ppg = clean_wave(np.asarray(aligned.ppg, dtype=np.float64), fs)
        gt_hr = estimate_hr(ppg, fs).hr_bpm
        ref = detect_beats(ppg, fs, gt_hr)
        ref_sdnn, ref_rmssd = ref.sdnn_ms, ref.rmssd_ms
        span = grid_map.slice(first, first + len(aligned.t_s))
        for m in args.methods:
            r = predict_stmap(span, method=m, source=name)
            wave_beats = detect_beats(r.wave, 1.0 / np.median(np.diff(r.timestamps_s)), r.hr_bpm)
            sdnn, rmssd = wave_beats.sdnn_ms, wave_beats.rmssd_ms  # what would be printed without the gate
            rows.append({"recording": name, "method": m, "gt_hr": round(gt_hr, 2), "hr": round(r.hr_bpm, 2),
                         "reliable": bool(r.reliable), "hrv_reported": not r.hrv_withheld,
                         "withheld": r.hrv_withheld, "gt_sdnn": round(ref_sdnn, 1), "gt_rmssd": round(ref_rmssd, 1),
                         "sdnn": round(sdnn, 1), "rmssd": round(rmssd, 1)})  # fmt: skip
            print(rows[-1], flush=True)
    OUT.mkdir(exist_ok=True)
    json.dump(rows, open(OUT / "hrv_check.json", "w"), indent=1)
    md = to_markdown(rows)
    (OUT / "hrv_check.md").write_text(md)
    print(md)


def to_markdown(rows: list[dict]) -> str:
    lines = ["| method | HRV reported | SDNN error reported (ms) | RMSSD error reported (ms) | withheld | SDNN error "
             "withheld (ms, had it been printed) | RMSSD error withheld (ms) |", "|---|---:|---:|---:|---:|---:|---:|"]
    for m in sorted({r["method"] for r in rows}):
        rs = [r for r in rows if r["method"] == m]

        def err(sub, key):
            e = [abs(r[key] - r[f"gt_{key}"]) for r in sub]
            return f"median {np.median(e):.0f}, max {np.max(e):.0f}" if e else "—"

        rep = [r for r in rs if r["hrv_reported"]]
        wh = [r for r in rs if not r["hrv_reported"]]
        lines.append(f"| {m} | {len(rep)}/{len(rs)} | {err(rep, 'sdnn')} | {err(rep, 'rmssd')} | {len(wh)} | "
                     f"{err(wh, 'sdnn')} | {err(wh, 'rmssd')} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
