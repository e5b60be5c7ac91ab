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
    """Write ``<stem>.csv`` (time_s, pulse), ``<stem>.json`` (summary + wave) and ``<stem>.png`` into ``out_dir``.

    Returns the paths written, by kind. Each file is written atomically.
    """
    out_dir = Path(out_dir)
    stem = stem or (Path(result.source).stem if result.source else "pulse")
    paths = {"csv": out_dir / f"{stem}.csv", "json": out_dir / f"{stem}.json", "png": out_dir / f"{stem}.png"}

    buf = io.StringIO()
    np.savetxt(buf, np.column_stack([result.timestamps_s, result.wave]), delimiter=",", fmt="%.6f", header="time_s,pulse", comments="")
    atomic_write_text(paths["csv"], buf.getvalue())

    doc = {**result.summary(), "timestamps_s": np.round(result.timestamps_s, 6).tolist(), "wave": np.round(result.wave, 6).tolist()}
    atomic_write_text(paths["json"], json.dumps(doc) + "\n")

    fig = plot_prediction(result)
    with atomic_path(paths["png"]) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return paths


def plot_prediction(result: PredictResult):
    """Figure: the pulse wave over time (top) and its PSD with the chosen heart-rate peak marked (bottom)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, (ax_w, ax_p) = plt.subplots(2, 1, figsize=(9, 5.5), constrained_layout=True)
    ax_w.plot(result.timestamps_s, result.wave, lw=0.9, color="tab:red")
    ax_w.set_xlabel("time (s)")
    ax_w.set_ylabel("pulse (a.u.)")
    ax_w.set_title(f"{Path(result.source).name or 'pulse'} — {result.method}: {result.hr_bpm:.1f} bpm, SNR {result.snr_db:.1f} dB")
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
