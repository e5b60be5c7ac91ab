"""Results tables in the shape of the paper's (Li & Yin, ICCV 2023, Tables 1–3): our measured row beside the
paper's published numbers, each row labelled with where its numbers come from. Markdown, CSV and JSON."""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

from pseudopulse.eval.runner import EvalResult
from pseudopulse.io import atomic_write_text

PAPER = "Li & Yin, ICCV 2023"
# Published numbers (method-notes.md §0 and §3b). Baseline rows are what the paper cites from other works.
PUBLISHED: dict[str, list[dict]] = {
    "ubfc": [
        {"method": "Li & Yin 2023", "mae": 0.48, "rmse": 0.64, "pearson_r": 0.998},
        {"method": "CHROM", "mae": 2.37, "rmse": 4.91, "pearson_r": 0.89},
        {"method": "POS", "mae": 4.05, "rmse": 8.75, "pearson_r": 0.78},
    ],
    "pure": [
        {"method": "Li & Yin 2023", "mae": 0.64, "rmse": 1.16, "pearson_r": 0.99},
        {"method": "2SR", "mae": 2.44, "rmse": 3.06, "pearson_r": 0.98},
    ],
    "pure->ubfc": [{"method": "Li & Yin 2023", "mae": 0.71, "rmse": 1.45, "pearson_r": 0.99}],
    "vipl": [{"method": "Li & Yin 2023", "std": 7.88, "mae": 5.19, "rmse": 8.26, "pearson_r": 0.78}],
    "v4v": [{"method": "Li & Yin 2023", "mae": 9.57, "rmse": 14.55, "pearson_r": 0.46}],
}
COLUMNS = [("std", "Std"), ("mae", "MAE"), ("rmse", "RMSE"), ("pearson_r", "r"), ("mape", "MAPE %"), ("snr_db", "SNR dB"), ("n", "clips")]


def paper_key(dataset: str, protocol: str) -> str:
    """Which published table applies: the cross-dataset protocol, else the dataset's own."""
    if protocol == "pure->ubfc":
        return "pure->ubfc"
    if protocol.startswith("vipl"):
        return "vipl"
    return dataset


def table_rows(result: EvalResult) -> list[dict]:
    """Rows: ours (measured) first, then the paper's published rows for this dataset/protocol."""
    rows = []
    if result.metrics is not None:
        m = result.metrics.as_dict()
        rows.append({"method": result.method, "source": "ours (measured)", **{k: m.get(k) for k, _ in COLUMNS}})
    if result.frame_metrics is not None:
        m = result.frame_metrics.as_dict()
        rows.append({"method": result.method + " (frame-wise HR)", "source": "ours (measured)",
                     **{k: m.get(k) for k, _ in COLUMNS}, "n": m["n"]})  # fmt: skip
    for p in PUBLISHED.get(paper_key(result.dataset, result.protocol), []):
        src = "paper (published)" if p["method"].startswith("Li & Yin") else "paper (cited baseline)"
        rows.append({"method": p["method"], "source": src, **{k: p.get(k) for k, _ in COLUMNS}})
    return rows


def _fmt(v, key: str) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "—"
    if key == "n":
        return str(int(v))
    if key == "pearson_r":
        return f"{v:.3f}"
    return f"{v:.2f}"


def _recordings_line(result: EvalResult) -> str:
    n = len(result.recordings)
    if result.subset == "all":
        if result.method == "model":
            return f"all {n} of the dataset (a trained model may have seen some of them, without labels)"
        return f"all {n} of the dataset (training-free: no training data to exclude)"
    return f"{n}, the {result.subset} part of split {result.protocol!r} ({result.split_rule})"


def to_markdown(result: EvalResult) -> str:
    """The results table (markdown) with a header naming dataset, protocol, subset and settings."""
    s = result.settings
    lines = [
        f"### {result.dataset} — {result.method} ({result.protocol}, {result.subset})",
        "",
        f"Clips: non-overlapping {s['clip_s']:g} s; HR = PSD peak in {s['band_hz'][0]:g}–{s['band_hz'][1]:g} Hz of the "
        f"detrended, band-passed wave; GT HR from {'the GT PPG (same routine)' if s['gt_hr_source'] != 'hr' else 'the dataset HR (clip mean)'}; "
        f"ROI {s['roi']}. Recordings: {_recordings_line(result)}. Errors in bpm; Std = SD of (pred − true). "
        f"Rows labelled 'paper' are the numbers published in {PAPER} (not measured here).",
        "",
        "| Method | Source | " + " | ".join(h for _, h in COLUMNS) + " |",
        "|---|---|" + "|".join("---:" for _ in COLUMNS) + "|",
    ]
    for r in table_rows(result):
        lines.append(f"| {r['method']} | {r['source']} | " + " | ".join(_fmt(r.get(k), k) for k, _ in COLUMNS) + " |")
    lines += trust_lines(result)
    if result.failures:
        lines += ["", f"Failed recordings ({len(result.failures)}), excluded:"]
        lines += [f"- {n}: {e}" for n, e in result.failures]
    return "\n".join(lines) + "\n"


def trust_lines(result: EvalResult) -> list[str]:
    """Markdown: accuracy with and without abstention, and the reliability table of the clips' confidence."""
    t = result.trust
    if t is None:
        return []
    pct = lambda v: "—" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{100 * v:.0f} %"  # noqa: E731
    lines = [
        "",
        f"Confidence (estimated probability that a clip's HR is within 5 bpm; label-free) at --min-confidence "
        f"{t.min_confidence:.2f}: {t.n_reliable} of {t.n} clips reliable (coverage {pct(t.coverage)}).",
        "",
        "| clips | n | MAE | within 5 bpm | largest error |",
        "|---|---:|---:|---:|---:|",
        f"| all | {t.n} | {_fmt(result.metrics.mae, 'mae')} | {pct(t.within5_all)} | "
        f"{max(abs(c.error_bpm) for c in result.clips):.1f} |",
        f"| reliable | {t.n_reliable} | {_fmt(t.mae_reliable, 'mae')} | {pct(t.within5_reliable)} | "
        f"{_fmt(t.max_error_reliable, 'mae')} |",
        "",
        "| confidence | n | mean confidence | within 5 bpm |",
        "|---|---:|---:|---:|",
    ]  # fmt: skip
    lines += [f"| {lo:.1f}–{hi:.1f} | {n} | {mc:.2f} | {pct(w)} |" for lo, hi, n, mc, w in t.bins]
    return lines


def to_csv(result: EvalResult) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["method", "source", *(k for k, _ in COLUMNS)])
    for r in table_rows(result):
        w.writerow([r["method"], r["source"], *("" if r.get(k) is None else r.get(k) for k, _ in COLUMNS)])
    return buf.getvalue()


def clips_csv(result: EvalResult) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["recording", "subject_id", "clip", "start_s", "end_s", "hr_pred_bpm", "hr_true_bpm", "error_bpm", "snr_db",
                "confidence"])  # fmt: skip
    for c in result.clips:
        w.writerow([c.recording, c.subject_id, c.index, f"{c.start_s:.3f}", f"{c.end_s:.3f}", f"{c.hr_pred_bpm:.2f}",
                    f"{c.hr_true_bpm:.2f}", f"{c.error_bpm:.2f}", f"{c.snr_db:.2f}", f"{c.confidence:.3f}"])  # fmt: skip
    return buf.getvalue()


def _json_safe(x):
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: _json_safe(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_json_safe(v) for v in x]
    return x


def write_tables(result: EvalResult, out_dir: str | Path) -> dict[str, Path]:
    """Write ``results.md``, ``results.csv`` (summary rows), ``clips.csv`` and ``results.json`` (every clip's
    predicted and true HR, metrics under plain keys, the paper's rows under ``published``). Atomic writes."""
    out = Path(out_dir)
    paths = {"markdown": out / "results.md", "csv": out / "results.csv", "clips_csv": out / "clips.csv", "json": out / "results.json"}
    atomic_write_text(paths["markdown"], to_markdown(result))
    atomic_write_text(paths["csv"], to_csv(result))
    atomic_write_text(paths["clips_csv"], clips_csv(result))
    d = result.to_dict()
    d["published"] = {"source": PAPER, "rows": PUBLISHED.get(paper_key(result.dataset, result.protocol), [])}
    atomic_write_text(paths["json"], json.dumps(_json_safe(d), indent=2) + "\n")
    return paths
