"""Probe: how right are the pseudo labels the network learns from, per 10-s clip of the 11 UBFC recordings?

The training label of a clip is the clip's span of a whole-recording wave (2SR, ``train.data.pseudo_label``). Read
per clip: the label span's own PSD peak (what the network is taught), and the rate of a Viterbi HR track over the
whole recording's wave (``signal.hr_track(tracked=True)``, 10-s windows, 1-s hop) at the windows inside the clip —
a teacher with the recording's context; and the span of the "pos-track" label (``train.data.track_masked``). Errors against the contact PPG (the labels are never used in training).

    PYTHONPATH=src python -m experiments.trust.teacher_probe OUT.json
"""
import json
import sys

import numpy as np

from experiments.trust.common import score, ubfc_recordings
from pseudopulse.eval.clips import true_clip_hr
from pseudopulse.methods import get_method
from pseudopulse.signal import estimate_hr
from pseudopulse.signal.track import hr_track
from pseudopulse.train.data import pseudo_label


def main(out):
    rows = []
    for name, grid_map, fs, aligned, first, clips in ubfc_recordings():
        waves = {"2sr": pseudo_label(grid_map, "2sr", "flat"), "pos": get_method("pos").apply(grid_map),
                 "postrack": pseudo_label(grid_map, "2sr", "pos-track")}
        tracks = {k: hr_track(w, fs=fs, window_s=10.0, hop_s=1.0, tracked=True) for k, w in waves.items()}
        for c in clips:
            a, b = c.start - first, c.stop - first
            gt = true_clip_hr(ppg=aligned.ppg[a:b], hr_bpm=None, fs=fs, source="ppg")
            row = {"clip": f"{name}/{c.index}", "gt": gt}
            t0, t1 = c.start / fs, c.stop / fs
            for k, w in waves.items():
                row[f"{k}_span"] = float(estimate_hr(w[c.start:c.stop], fs).hr_bpm)
                tr = tracks[k]
                inside = (tr.t_s >= t0 + 4.99) & (tr.t_s <= t1 - 4.99)  # windows wholly within the clip
                rates = tr.hr_bpm[inside] if inside.any() else tr.hr_bpm[[np.argmin(np.abs(tr.t_s - (t0 + t1) / 2))]]
                row[f"{k}_track"] = float(np.median(rates))
            rows.append(row)
            print(row, flush=True)
    summary = {key: score([r[key] - r["gt"] for r in rows]) for key in rows[0] if key not in ("clip", "gt")}
    print(json.dumps(summary, indent=1))
    json.dump({"summary": summary, "rows": rows}, open(out, "w"), indent=1)


if __name__ == "__main__":
    main(sys.argv[1])
