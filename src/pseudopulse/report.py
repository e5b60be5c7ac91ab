"""Files written for one prediction: wave CSV, JSON, and a PNG of the wave and its PSD."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np

from pseudopulse.api import PredictResult
from pseudopulse.io import atomic_path, atomic_write_text
from pseudopulse.signal import psd


def write_prediction(result: PredictResult, out_dir: str | Path, stem: str | None = None) -> dict[str, Path]:
    """Write ``<stem>.csv`` (time_s, pulse), ``<stem>_track.csv`` (t_s, hr_bpm, confidence per window),
    ``<stem>.json`` (summary with the HR track + wave) and ``<stem>.png`` into ``out_dir``.

    Returns the paths written, by kind. Each file is written atomically.
    """
    out_dir = Path(out_dir)
    stem = stem or (Path(result.source).stem if result.source else "pulse")
    paths = {"csv": out_dir / f"{stem}.csv", "track": out_dir / f"{stem}_track.csv", "json": out_dir / f"{stem}.json",
             "png": out_dir / f"{stem}.png"}  # fmt: skip

    buf = io.StringIO()
    np.savetxt(buf, np.column_stack([result.timestamps_s, result.wave]), delimiter=",", fmt="%.6f", header="time_s,pulse", comments="")
    atomic_write_text(paths["csv"], buf.getvalue())
    buf = io.StringIO()
    track = np.column_stack([result.track_t_s, result.track_hr_bpm, result.track_confidence])
    np.savetxt(buf, track, delimiter=",", fmt=["%.3f", "%.2f", "%.3f"], header="t_s,hr_bpm,confidence", comments="")
    atomic_write_text(paths["track"], buf.getvalue())

    doc = {**result.summary(), "timestamps_s": np.round(result.timestamps_s, 6).tolist(), "wave": np.round(result.wave, 6).tolist()}
    atomic_write_text(paths["json"], json.dumps(doc) + "\n")

    fig = plot_prediction(result)
    with atomic_path(paths["png"]) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return paths


def plot_prediction(result: PredictResult):
    """Figure: the pulse wave (top), the HR track with each window's confidence (middle) and the PSD with the chosen
    heart-rate peak (bottom); the title says whether the reading is reliable."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, (ax_w, ax_t, ax_p) = plt.subplots(3, 1, figsize=(9, 8), constrained_layout=True)
    ax_w.plot(result.timestamps_s, result.wave, lw=0.9, color="tab:red")
    ax_w.set_xlabel("time (s)")
    ax_w.set_ylabel("pulse (a.u.)")
    verdict = "reliable" if result.reliable else "NOT RELIABLE"
    ax_w.set_title(f"{Path(result.source).name or 'pulse'} — {result.method}: {result.hr_bpm:.1f} bpm, confidence "
                   f"{result.confidence:.2f} ({verdict})")  # fmt: skip

    points = ax_t.scatter(result.track_t_s, result.track_hr_bpm, c=result.track_confidence, cmap="RdYlGn", vmin=0, vmax=1,
                          s=22, zorder=3)  # fmt: skip
    ax_t.plot(result.track_t_s, result.track_hr_bpm, color="0.6", lw=0.8, zorder=2)
    low = result.track_confidence < result.min_confidence
    ax_t.scatter(result.track_t_s[low], result.track_hr_bpm[low], facecolors="none", edgecolors="0.3", s=60, zorder=4,
                 label=f"below --min-confidence {result.min_confidence:.2f}")  # fmt: skip
    fig.colorbar(points, ax=ax_t, label="confidence")
    ax_t.set_xlabel(f"time (s), centre of each {result.track_window_s:.0f}-s window")
    ax_t.set_ylabel("HR (bpm)")
    if low.any():
        ax_t.legend(loc="upper right")

    freqs, power = psd(result.wave, result.fps)
    bpm = 60 * freqs
    keep = bpm <= 240
    ax_p.plot(bpm[keep], power[keep], color="tab:blue", lw=1)
    ax_p.axvspan(60 * result.band_hz[0], 60 * result.band_hz[1], color="0.92", zorder=0, label="search band")
    ax_p.axvline(result.hr_bpm, color="tab:red", ls="--", label=f"HR {result.hr_bpm:.1f} bpm")
    ax_p.set_xlabel("frequency (bpm)")
    ax_p.set_ylabel("PSD")
    ax_p.legend(loc="upper right")
    return fig
