"""Benchmark of the training-free methods: heart-rate accuracy (MAE / RMSE / Pearson r) and CPU time.

Data (each part optional):
- synth: ``pseudopulse.synth.make_suite(n, seed)`` rendered to video (kept under ``cache_dir`` so re-runs skip
  rendering), STMaps extracted like any video; GT HR = ``estimate_hr`` of the rendered PPG per clip.
- UBFC-rPPG (``<real_root>/ubfc_rppg_h264``): ``extract_stmap`` on each video; GT = the PPG line resampled to
  the frame times (``datasets.align_ground_truth``); GT HR per clip from the PPG with the same ``estimate_hr``.
- bias_eval_rppg (``<real_root>/bias_eval_rppg``): skin-crop videos read with ``roi="full-frame"``, one HR per
  crop over the whole recording against the per-video mean HR of ``<country>_GT.csv`` (row key ``video<N>``).

Each method runs once per recording (``Method.apply`` on the whole STMap; if that fails on a long face loss,
per clip instead); waves are then cut into non-overlapping ``clip_s`` clips (and also scored whole).
CPU time = process time of ``Method.apply`` only (not decoding / face tracking), per minute of video.
"""

from __future__ import annotations

import csv
import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from pseudopulse.datasets import GroundTruth, align_ground_truth, get_dataset
from pseudopulse.errors import DatasetError, SignalError
from pseudopulse.eval.metrics import hr_metrics
from pseudopulse.io import atomic_write_text
from pseudopulse.methods import METHODS, get_method
from pseudopulse.signal import DEFAULT_BAND_HZ, HREstimate, estimate_hr, snr_db
from pseudopulse.stmap import STMap, extract_stmap

Progress = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass(frozen=True)
class MethodsBenchConfig:
    out_dir: Path = Path("results")
    synth_n: int = 30
    seed: int = 0
    real_root: Path | None = Path("../shared/data/real")
    clip_s: float = 10.0
    cache_dir: Path | None = None  # default: <out_dir>/cache
    band_hz: tuple[float, float] = DEFAULT_BAND_HZ
    methods: tuple[str, ...] = tuple(METHODS)


@dataclass
class _Table:
    """Predicted and true HRs of one evaluation (dataset x protocol), per method."""

    title: str
    pred: dict[str, list[float]] = field(default_factory=dict)
    true: dict[str, list[float]] = field(default_factory=dict)
    snr: dict[str, list[float]] = field(default_factory=dict)
    failed: dict[str, int] = field(default_factory=dict)

    def add(self, method: str, pred: float | None, true: float, snr: float | None = None) -> None:
        if pred is None:
            self.failed[method] = self.failed.get(method, 0) + 1
            return
        self.pred.setdefault(method, []).append(float(pred))
        self.true.setdefault(method, []).append(float(true))
        self.snr.setdefault(method, []).append(float(snr) if snr is not None else float("nan"))


class _Run:
    """Accumulates tables, per-recording details and CPU time while the benchmark runs."""

    def __init__(self, cfg: MethodsBenchConfig):
        self.cfg = cfg
        self.methods = [get_method(m) for m in cfg.methods]
        self.tables: dict[str, _Table] = {}
        self.cpu_s = {m.name: 0.0 for m in self.methods}
        self.video_min = 0.0
        self.recordings: list[dict] = []
        self.notes: list[str] = []

    def table(self, key: str, title: str) -> _Table:
        return self.tables.setdefault(key, _Table(title))

    def waves(self, stmap: STMap, name: str) -> dict[str, np.ndarray | None]:
        """Run every method on the whole recording; time it. None where a method refused the input."""
        self.video_min += stmap.duration_s / 60.0
        out = {}
        for m in self.methods:
            t0 = time.process_time()
            try:
                out[m.name] = m.apply(stmap)
            except SignalError as e:
                out[m.name] = None
                self.notes.append(f"{name}: {m.name} on the whole recording: {e}")
            self.cpu_s[m.name] += time.process_time() - t0
        return out


# ---------------------------------------------------------------------------------------------- scoring
def _uniform(t: np.ndarray, x: np.ndarray, fs: float) -> np.ndarray:
    """``x`` sampled at times ``t`` -> a uniform grid at ``fs`` Hz from t[0] (identity for uniform input)."""
    grid = t[0] + np.arange(int(np.floor((t[-1] - t[0]) * fs + 1e-6)) + 1) / fs
    return np.interp(grid, t, x)


def _hr(x: np.ndarray, fs: float, band_hz) -> HREstimate | None:
    try:
        return estimate_hr(x, fs, band_hz)
    except SignalError:
        return None


def _add(tab: "_Table", method: str, est: HREstimate | None, true_bpm: float) -> None:
    """Record one prediction; its SNR is measured at the TRUE heart rate (de Haan's SNR against the reference)."""
    if est is None:
        tab.add(method, None, true_bpm)
    else:
        tab.add(method, est.hr_bpm, true_bpm, snr_db(est.wave, est.fs, true_bpm))


def _bpm(est: HREstimate | None) -> float | None:
    return None if est is None else round(est.hr_bpm, 2)


def clip_bounds(n: int, fs: float, clip_s: float) -> list[tuple[int, int]]:
    """Non-overlapping clips of ``clip_s`` seconds over ``n`` samples at ``fs`` Hz (the tail shorter than a clip
    is dropped)."""
    size = int(round(clip_s * fs))
    if size < 2:
        raise SignalError(f"clip_s={clip_s} s at fs={fs:g} Hz gives {size} samples; use a longer clip")
    return [(a, a + size) for a in range(0, n - size + 1, size)]


def score_ppg_recording(run: _Run, label: str, name: str, stmap: STMap, gt: GroundTruth) -> None:
    """Score every method on one recording with a GT PPG: ``clip_s`` clips and the whole recording."""
    cfg = run.cfg
    aligned = align_ground_truth(gt, stmap.timestamps_s, recording=name)
    keep = np.searchsorted(stmap.timestamps_s, aligned.t_s)
    fs = float(stmap.fs)
    waves = run.waves(stmap, name)
    gt_u = _uniform(aligned.t_s, aligned.ppg, fs)
    bounds = clip_bounds(len(gt_u), fs, cfg.clip_s)
    gt_clip = [_hr(gt_u[a:b], fs, cfg.band_hz) for a, b in bounds]
    gt_whole = _hr(gt_u, fs, cfg.band_hz)
    rec = {"dataset": label, "recording": name, "duration_s": round(stmap.duration_s, 2), "fs": round(fs, 3),
           "gt_whole_bpm": _bpm(gt_whole), "gt_clips_bpm": [_bpm(g) for g in gt_clip], "pred": {}}  # fmt: skip
    for m in run.methods:
        wave = waves[m.name]
        if wave is None:  # long face loss: run the method per clip instead
            w_clips = []
            ts = stmap.timestamps_s
            for a, b in bounds:
                lo, hi = np.searchsorted(ts, aligned.t_s[0] + np.array([a, b]) / fs - 1e-9)
                sub = stmap.slice(int(lo), int(hi))
                try:
                    w_clips.append(_hr(_uniform(sub.timestamps_s, m.apply(sub), fs), fs, cfg.band_hz))
                except SignalError:
                    w_clips.append(None)
            p_whole = None
        else:
            w_u = _uniform(aligned.t_s, wave[keep], fs)
            w_clips = [_hr(w_u[a:b], fs, cfg.band_hz) for a, b in bounds]
            p_whole = _hr(w_u, fs, cfg.band_hz)
        tab = run.table(f"{label}-clips", f"{label}, {cfg.clip_s:g}-s clips")
        for p, g in zip(w_clips, gt_clip):
            if g is not None:
                _add(tab, m.name, p, g.hr_bpm)
        if gt_whole is not None:
            _add(run.table(f"{label}-whole", f"{label}, whole recordings"), m.name, p_whole, gt_whole.hr_bpm)
        rec["pred"][m.name] = {"whole_bpm": _bpm(p_whole), "clips_bpm": [_bpm(p) for p in w_clips]}
    run.recordings.append(rec)


# ---------------------------------------------------------------------------------------------- datasets
def _synth(run: _Run, cache_dir: Path, progress: Progress | None) -> None:
    from pseudopulse.synth import ground_truth, make_suite, render

    configs = list(make_suite(run.cfg.synth_n, run.cfg.seed))
    video_dir = cache_dir / "synth-videos"
    for i, config in enumerate(configs):
        if progress:
            progress("synth", i, len(configs))
        key = _config_key(config)
        path = video_dir / f"synth-{i:03d}-{key}.mp4"
        if path.is_file():  # rendered by an earlier run: the truth is recomputed without rendering
            truth = ground_truth(config)
        else:
            truth = render(config, path)
        gt = GroundTruth(timestamps_s=np.asarray(truth.timestamps_s), ppg=np.asarray(truth.ppg), source=str(path))
        stmap = extract_stmap(path, cache_dir=cache_dir / "stmap")
        score_ppg_recording(run, "synth", path.stem, stmap, gt)
    if progress:
        progress("synth", len(configs), len(configs))


def _config_key(config) -> str:
    import hashlib

    blob = json.dumps(config.to_dict() if hasattr(config, "to_dict") else repr(config), sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def _ubfc(run: _Run, root: Path, cache_dir: Path, progress: Progress | None) -> None:
    recs = get_dataset("ubfc", root).recordings()
    for i, rec in enumerate(recs):
        if progress:
            progress("UBFC-rPPG", i, len(recs))
        stmap = extract_stmap(rec.video_path, cache_dir=cache_dir / "stmap")
        score_ppg_recording(run, "UBFC-rPPG", rec.name, stmap, rec.ground_truth())
    if progress:
        progress("UBFC-rPPG", len(recs), len(recs))


def read_bias_eval_gt(path: Path) -> dict[str, float]:
    """``<country>_GT.csv`` (header row, then ``video<N>,<mean HR bpm>``) -> {"video<N>": hr_bpm}."""
    out = {}
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    for lineno, row in enumerate(rows[1:], start=2):
        if not row or not row[0].strip():
            continue
        try:
            out[row[0].strip()] = float(row[1])
        except (IndexError, ValueError):
            raise DatasetError(f"{path}, line {lineno}: expected 'video<N>,<heart rate bpm>'; got {row!r}") from None
    if not out:
        raise DatasetError(f"{path}: no 'video<N>,<heart rate bpm>' rows")
    return out


def _bias_eval(run: _Run, root: Path, cache_dir: Path, progress: Progress | None) -> None:
    """Skin-crop clips ``<country>_video<N>/<country>_video<N>_<roi>.avi``: HR per crop over the whole clip."""
    items = []
    for gt_csv in sorted(root.glob("*_GT.csv")):
        country = gt_csv.name[: -len("_GT.csv")]
        gt = read_bias_eval_gt(gt_csv)
        for folder in sorted(root.glob(f"{country}_video*")):
            m = re.fullmatch(rf"{re.escape(country)}_(video\d+)", folder.name)
            if not m or not folder.is_dir():
                continue
            if m.group(1) not in gt:
                raise DatasetError(f"{folder}: no row {m.group(1)!r} in {gt_csv}")
            items += [(v, gt[m.group(1)]) for v in sorted(folder.glob("*.avi"))]
    cfg = run.cfg
    for i, (video, hr_true) in enumerate(items):
        if progress:
            progress("bias_eval_rppg", i, len(items))
        stmap = extract_stmap(video, roi="full-frame", cache_dir=cache_dir / "stmap")
        fs = float(stmap.fs)
        waves = run.waves(stmap, video.stem)
        rec = {"dataset": "bias_eval_rppg", "recording": video.stem, "duration_s": round(stmap.duration_s, 2),
               "fs": round(fs, 3), "gt_whole_bpm": hr_true, "pred": {}}  # fmt: skip
        for m in run.methods:
            w = waves[m.name]
            p = None if w is None else _hr(_uniform(stmap.timestamps_s, w, fs), fs, cfg.band_hz)
            _add(run.table("bias-whole", "bias_eval_rppg skin crops, whole recordings"), m.name, p, hr_true)
            rec["pred"][m.name] = {"whole_bpm": _bpm(p)}
        run.recordings.append(rec)
    if progress:
        progress("bias_eval_rppg", len(items), len(items))


# ---------------------------------------------------------------------------------------------- driver
def run_methods_benchmark(cfg: MethodsBenchConfig, progress: Progress | None = None) -> dict:
    """Run the benchmark; returns the results dict (also written by ``write_results``)."""
    run = _Run(cfg)
    cache_dir = Path(cfg.cache_dir) if cfg.cache_dir is not None else Path(cfg.out_dir) / "cache"
    t0 = time.time()
    if cfg.synth_n > 0:
        _synth(run, cache_dir, progress)
    if cfg.real_root is not None:
        root = Path(cfg.real_root)
        ubfc, bias = root / "ubfc_rppg_h264", root / "bias_eval_rppg"
        if ubfc.is_dir():
            _ubfc(run, ubfc, cache_dir, progress)
        else:
            run.notes.append(f"UBFC-rPPG skipped: {ubfc} is absent")
        if bias.is_dir():
            _bias_eval(run, bias, cache_dir, progress)
        else:
            run.notes.append(f"bias_eval_rppg skipped: {bias} is absent")
    if not run.tables:
        raise DatasetError(
            "nothing to benchmark: no synthetic clips (--synth-n 0?) and no real recordings found "
            f"under {cfg.real_root} (expected ubfc_rppg_h264/ or bias_eval_rppg/)"
        )
    return _results(run, time.time() - t0)


def _results(run: _Run, wall_s: float) -> dict:
    tables = {}
    for key, tab in run.tables.items():
        rows = {}
        for m in run.methods:
            pred = tab.pred.get(m.name, [])
            entry = {"failed": tab.failed.get(m.name, 0)}
            if pred:
                entry.update(hr_metrics(pred, tab.true[m.name], tab.snr[m.name]).as_dict())
            else:
                entry.update(n=0)
            rows[m.name] = entry
        tables[key] = {"title": tab.title, "methods": rows}
    cfg = run.cfg
    return {
        "benchmark": "methods",
        "config": {
            "synth_n": cfg.synth_n, "seed": cfg.seed, "real_root": None if cfg.real_root is None else str(cfg.real_root),
            "clip_s": cfg.clip_s, "band_hz": list(cfg.band_hz), "methods": list(cfg.methods),
        },  # fmt: skip
        "tables": tables,
        "cpu_s_per_video_min": {k: (v / run.video_min if run.video_min > 0 else None) for k, v in run.cpu_s.items()},
        "video_min": run.video_min,
        "wall_s": wall_s,
        "methods": {m.name: {"paper": m.paper, "description": m.description} for m in run.methods},
        "recordings": run.recordings,
        "notes": run.notes,
    }


def _f(x, nd=2) -> str:
    return "–" if x is None or (isinstance(x, float) and not np.isfinite(x)) else f"{x:.{nd}f}"


def results_markdown(res: dict) -> str:
    """The methods table (markdown) the README shows, then one detailed table per evaluation."""
    names = list(res["config"]["methods"])
    tabs = res["tables"]
    cpu = res["cpu_s_per_video_min"]
    lines = ["# Training-free rPPG methods", ""]
    lines.append(
        f"HR from the PSD peak in {res['config']['band_hz'][0]:g}–{res['config']['band_hz'][1]:g} Hz after detrend + "
        "band-pass (`pseudopulse.signal.estimate_hr`, same routine for the ground-truth PPG). "
        "MAE / RMSE in bpm; r = Pearson correlation over clips. CPU = process time of the method alone "
        "(no decoding or face tracking) per minute of video."
    )
    lines.append("")
    head = "| method | " + " | ".join(f"{tabs[k]['title']} MAE" for k in tabs) + " | CPU s / video min |"
    lines += [head, "|" + "---|" * (len(tabs) + 2)]
    for n in names:
        cells = [_f(tabs[k]["methods"][n].get("mae")) for k in tabs]
        lines.append(f"| {n} | " + " | ".join(cells) + f" | {_f(cpu.get(n), 3)} |")
    for k, t in tabs.items():
        lines += ["", f"## {t['title']}", "", "| method | n | MAE | RMSE | r | mean error | SNR dB at true HR | failed |", "|---|---|---|---|---|---|---|---|"]
        for n in names:
            e = t["methods"][n]
            lines.append(
                f"| {n} | {e.get('n', 0)} | {_f(e.get('mae'))} | {_f(e.get('rmse'))} | {_f(e.get('pearson_r'), 3)} | "
                f"{_f(e.get('mean_error'))} | {_f(e.get('snr_db'), 1)} | {e.get('failed', 0)} |"
            )
    lines += ["", "Methods: " + "; ".join(f"**{n}** — {res['methods'][n]['paper']}" for n in names) + "."]
    if res["notes"]:
        lines += ["", "Notes:", *[f"- {s}" for s in res["notes"]]]
    lines += ["", f"{res['video_min']:.1f} min of video; benchmark wall time {res['wall_s']:.0f} s.", ""]
    return "\n".join(lines)


def write_results(res: dict, out_dir: str | Path) -> tuple[Path, Path]:
    """Write ``methods.md`` and ``methods.json`` under ``out_dir`` atomically; returns their paths."""
    out = Path(out_dir)
    md, js = out / "methods.md", out / "methods.json"
    atomic_write_text(js, json.dumps(_finite(res), indent=1, default=_json_default, allow_nan=False) + "\n")
    atomic_write_text(md, results_markdown(res))
    return md, js


def _finite(o):
    """NaN/inf -> None so the JSON is strict."""
    if isinstance(o, dict):
        return {k: _finite(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_finite(v) for v in o]
    if isinstance(o, (float, np.floating)) and not np.isfinite(o):
        return None
    return o


def _json_default(o):
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON-serialisable: {type(o)}")


__all__ = [
    "MethodsBenchConfig",
    "clip_bounds",
    "read_bias_eval_gt",
    "results_markdown",
    "run_methods_benchmark",
    "score_ppg_recording",
    "write_results",
]
