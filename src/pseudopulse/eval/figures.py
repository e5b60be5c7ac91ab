"""Figures (matplotlib, Agg backend, PNG): waves of chosen clips (paper Fig. 3), Bland–Altman and scatter of
predicted vs true HR, and the compression-robustness curve (paper Fig. 4). Files are written atomically."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from pseudopulse.eval.runner import ClipResult, EvalResult
from pseudopulse.io import atomic_path
from pseudopulse.signal import clean_wave, standardize


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> Path:
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=120, bbox_inches="tight", format="png")
    _plt().close(fig)
    return path


def pick_clips(result: EvalResult, n: int = 3) -> list[ClipResult]:
    """Clips with the smallest, median and largest |error| (up to ``n``), for the wave figure."""
    with_waves = {r.name for r in result.recordings if r.wave is not None}
    clips = sorted((c for c in result.clips if c.recording in with_waves), key=lambda c: abs(c.error_bpm))
    if len(clips) <= n:
        return clips
    idx = np.unique(np.linspace(0, len(clips) - 1, n).round().astype(int))
    return [clips[i] for i in idx]


def plot_waves(result: EvalResult, path: str | Path, clips: Sequence[ClipResult] | None = None) -> Path:
    """Predicted vs 2SR pseudo-label vs ground-truth PPG for ``clips`` (default ``pick_clips``); each wave is
    band-passed with the evaluation band and z-scored."""
    plt = _plt()
    clips = list(clips) if clips is not None else pick_clips(result)
    recs = {r.name: r for r in result.recordings}
    band = tuple(result.settings["band_hz"])
    fig, axes = plt.subplots(max(1, len(clips)), 1, figsize=(10, 2.4 * max(1, len(clips))), squeeze=False)
    for ax, c in zip(axes[:, 0], clips):
        r = recs[c.recording]
        a = int(np.searchsorted(r.t_s, c.start_s - 1e-9))
        b = a + int(round((c.end_s - c.start_s) * r.fs))
        t = r.t_s[a:b] - r.t_s[a]
        for series, label, style in ((r.gt_ppg, "ground-truth PPG", "k-"), (r.pseudo, "pseudo label (2SR)", "C1--"),
                                     (r.wave, f"predicted ({result.method})", "C0-")):  # fmt: skip
            if series is None or len(series) < b or not np.all(np.isfinite(series[a:b])):
                continue
            ax.plot(t, standardize(clean_wave(series[a:b], r.fs, band)), style, lw=1.1, label=label)
        ax.set_title(f"{c.recording} clip {c.index}: predicted {c.hr_pred_bpm:.1f} bpm, true {c.hr_true_bpm:.1f} bpm", fontsize=9)
        ax.set_ylabel("z-score")
        ax.legend(fontsize=7, loc="upper right")
    axes[-1, 0].set_xlabel("time in clip (s)")
    fig.tight_layout()
    return _save(fig, Path(path))


def _clip_hrs(result: EvalResult) -> tuple[np.ndarray, np.ndarray]:
    """(predicted, true) HR per clip, bpm."""
    return np.array([c.hr_pred_bpm for c in result.clips]), np.array([c.hr_true_bpm for c in result.clips])


def plot_bland_altman(result: EvalResult, path: str | Path) -> Path:
    """Bland–Altman: (pred − true) against the mean of the two, with bias and 95 % limits of agreement."""
    plt = _plt()
    p, t = _clip_hrs(result)
    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    if len(p):
        d, m = p - t, (p + t) / 2
        bias, sd = float(d.mean()), float(d.std(ddof=1)) if len(d) > 1 else 0.0
        ax.scatter(m, d, s=14, alpha=0.7)
        for y, lab, ls in ((bias, f"bias {bias:+.2f}", "-"), (bias + 1.96 * sd, f"+1.96 SD {bias + 1.96 * sd:+.2f}", "--"),
                           (bias - 1.96 * sd, f"−1.96 SD {bias - 1.96 * sd:+.2f}", "--")):  # fmt: skip
            ax.axhline(y, color="C3", ls=ls, lw=1)
            ax.text(ax.get_xlim()[1], y, " " + lab, va="center", fontsize=7, color="C3")
    ax.set_xlabel("mean of predicted and true HR (bpm)")
    ax.set_ylabel("predicted − true HR (bpm)")
    ax.set_title(f"Bland–Altman: {result.method} on {result.dataset} ({len(p)} clips)", fontsize=9)
    return _save(fig, Path(path))


def plot_scatter(result: EvalResult, path: str | Path) -> Path:
    """Predicted vs true HR per clip with the identity line."""
    plt = _plt()
    p, t = _clip_hrs(result)
    fig, ax = plt.subplots(figsize=(4.6, 4.6))
    if len(p):
        lo, hi = float(min(p.min(), t.min())) - 5, float(max(p.max(), t.max())) + 5
        ax.plot([lo, hi], [lo, hi], "k--", lw=0.8)
        ax.scatter(t, p, s=14, alpha=0.7)
        ax.set_xlim(lo, hi)
        ax.set_ylim(lo, hi)
    m = result.metrics
    sub = f"MAE {m.mae:.2f}, RMSE {m.rmse:.2f}, r {m.pearson_r:.3f}" if m else "no clips"
    ax.set_xlabel("true HR (bpm)")
    ax.set_ylabel("predicted HR (bpm)")
    ax.set_title(f"{result.method} on {result.dataset}: {sub}", fontsize=9)
    return _save(fig, Path(path))


def plot_robustness(crfs: Sequence[int], rmse_mean: Sequence[float], rmse_std: Sequence[float], path: str | Path,
                    *, label: str = "", title: str = "") -> Path:  # fmt: skip
    """RMSE (mean ± std over seeds) against the H.264 constant rate factor (paper Fig. 4)."""
    plt = _plt()
    x = np.asarray(crfs, dtype=float)
    y = np.asarray(rmse_mean, dtype=float)
    e = np.asarray(rmse_std, dtype=float)
    fig, ax = plt.subplots(figsize=(5.2, 3.8))
    ax.errorbar(x, y, yerr=e, marker="o", capsize=4, label=label or None)
    ax.fill_between(x, y - e, y + e, alpha=0.15)
    ax.set_xlabel("libx264 CRF (higher = stronger compression)")
    ax.set_ylabel("RMSE (bpm), mean ± std over seeds")
    ax.set_xticks(x)
    ax.set_title(title or "Compression robustness", fontsize=9)
    if label:
        ax.legend(fontsize=8)
    return _save(fig, Path(path))


def plot_trust(result: EvalResult, path: str | Path) -> Path:
    """Reliability diagram (share of clips within 5 bpm per confidence bin against the bin's mean confidence) and
    coverage–error curve (MAE of the clips kept, most confident first, against the share kept)."""
    t = result.trust
    plt = _plt()
    fig, (ax_r, ax_c) = plt.subplots(1, 2, figsize=(9, 3.8), constrained_layout=True)
    ax_r.plot([0, 1], [0, 1], color="0.7", ls="--", lw=1, label="calibrated")
    mc = [b[3] for b in t.bins]
    ax_r.plot(mc, [b[4] for b in t.bins], "o-", color="tab:blue", label="measured")
    for b in t.bins:
        ax_r.annotate(str(b[2]), (b[3], b[4]), textcoords="offset points", xytext=(4, -10), fontsize=7)
    ax_r.set_xlim(0, 1), ax_r.set_ylim(0, 1.05)
    ax_r.set_xlabel("confidence (bin mean)")
    ax_r.set_ylabel("share of clips within 5 bpm")
    ax_r.set_title("reliability (n per bin)", fontsize=9)
    ax_r.legend(fontsize=8, loc="lower right")
    share, mae = zip(*t.curve)
    ax_c.plot(share, mae, color="tab:red")
    ax_c.axvline(t.coverage, color="0.5", ls=":", label=f"--min-confidence {t.min_confidence:.2f}")
    ax_c.set_xlabel("share of clips kept (most confident first)")
    ax_c.set_ylabel("MAE of the kept clips (bpm)")
    ax_c.set_title(f"coverage–error ({result.method})", fontsize=9)
    ax_c.legend(fontsize=8)
    return _save(fig, Path(path))


def write_figures(result: EvalResult, out_dir: str | Path) -> dict[str, Path]:
    """Write waves.png, bland_altman.png, scatter.png and (with confidences) trust.png under ``out_dir/figures``."""
    fig_dir = Path(out_dir) / "figures"
    out = {}
    if result.clips:
        out["waves"] = plot_waves(result, fig_dir / "waves.png")
        out["bland_altman"] = plot_bland_altman(result, fig_dir / "bland_altman.png")
        out["scatter"] = plot_scatter(result, fig_dir / "scatter.png")
    if result.trust is not None:
        out["trust"] = plot_trust(result, fig_dir / "trust.png")
    return out
