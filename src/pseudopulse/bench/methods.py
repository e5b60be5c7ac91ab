"""Benchmark of the training-free methods: heart-rate accuracy (MAE / RMSE / Pearson r) and CPU time.

Lab code: every number is scored by ``pseudopulse.eval`` — clips by ``eval.recording.score_stmap`` (the function
``pseudopulse evaluate`` runs on each recording), whole recordings by ``eval.whole.recording_hr`` and
``true_recording_hr`` — so this table and ``evaluate``'s agree clip for clip on the same recording.

Data (each part optional; real data only from an explicit ``real_root``, there is no default path):
- synth: ``pseudopulse.synth.make_suite(n, seed)`` rendered to video (kept under ``cache_dir`` so re-runs skip
  rendering), STMaps extracted like any video; GT HR = ``estimate_hr`` of the rendered PPG per clip.
- UBFC-rPPG (``<real_root>/ubfc_rppg_h264``): read as ``evaluate -d ubfc`` reads it (``eval.recording.load_stmap``:
  frame times from the GT file); GT HR per clip from the PPG with the same ``estimate_hr``.
- bias_eval_rppg (``<real_root>/bias_eval_rppg``): skin-crop videos read with ``roi="full-frame"``, one HR per
  crop over the whole recording against the per-video mean HR of ``<country>_GT.csv`` (row key ``video<N>``).

Each method runs once per recording on the whole STMap (per clip instead where that fails on a long face loss);
its wave is cut into non-overlapping ``clip_s``-second clips, and the whole recording is also scored.
CPU time = process time of the method's own calls only (not decoding / face tracking), per minute of video.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import re
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from pseudopulse.datasets import GroundTruth, get_dataset
from pseudopulse.errors import DatasetError, SignalError
from pseudopulse.eval.metrics import hr_metrics
from pseudopulse.eval.recording import EvalConfig, extract_with, load_stmap, score_stmap
from pseudopulse.eval.whole import recording_hr, true_recording_hr
from pseudopulse.io import atomic_write_text
from pseudopulse.methods import METHODS, get_method
from pseudopulse.predictors import Predictor, resolve_predictor
from pseudopulse.signal import DEFAULT_BAND_HZ, HREstimate, snr_db
from pseudopulse.stmap import STMap

Progress = Callable[[str, int, int], None]  # (stage, done, total)
UBFC_DIR, BIAS_DIR = "ubfc_rppg_h264", "bias_eval_rppg"


@dataclass(frozen=True)
class MethodsBenchConfig:
    """``real_root``: folder holding ``ubfc_rppg_h264/`` and/or ``bias_eval_rppg/`` (None: synthetic clips only).
    ``roi``: ROI of the face videos (synthetic, UBFC-rPPG); the bias_eval_rppg crops are always full-frame.
    ``clip_s``: clip length (s); ``band_hz``: heart-rate band (Hz)."""

    out_dir: Path = Path("results")
    synth_n: int = 30
    seed: int = 0
    real_root: Path | None = None
    clip_s: float = 10.0
    cache_dir: Path | None = None  # default: <out_dir>/cache
    band_hz: tuple[float, float] = DEFAULT_BAND_HZ
    methods: tuple[str, ...] = tuple(METHODS)
    roi: str = "face"

    @property
    def cache(self) -> Path:
        return Path(self.cache_dir) if self.cache_dir is not None else Path(self.out_dir) / "cache"

    def eval_config(self, roi: str | None = None) -> EvalConfig:
        """The evaluation settings every recording is scored with (whole-recording prediction, no pseudo wave)."""
        return EvalConfig(clip_s=self.clip_s, band_hz=tuple(self.band_hz), roi=roi or self.roi,
                          cache_dir=str(self.cache / "stmap"), per_clip=False, keep_pseudo=False)  # fmt: skip


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
        self.plain = {m.name: resolve_predictor(m.name) for m in self.methods}
        self.timed = {name: self._timed(p) for name, p in self.plain.items()}
        self.video_min = 0.0
        self.recordings: list[dict] = []
        self.notes: list[str] = []

    def table(self, key: str, title: str) -> _Table:
        return self.tables.setdefault(key, _Table(title))

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def _timed(self, pred: Predictor) -> Predictor:
        """``pred`` with its calls' process time added to ``cpu_s[pred.name]``."""

        def clock(fn):
            if fn is None:
                return None

            def timed(stmap):
                t0 = time.process_time()
                try:
                    return fn(stmap)
                finally:
                    self.cpu_s[pred.name] += time.process_time() - t0

            return timed

        return dataclasses.replace(pred, at_frames=clock(pred.at_frames), on_grid=clock(pred.on_grid))


# ---------------------------------------------------------------------------------------------- scoring
def _whole(stmap: STMap, pred: Predictor, band_hz) -> HREstimate | None:
    """``recording_hr``, None where the method or the read-out refuses the recording."""
    try:
        return recording_hr(stmap, pred, band_hz)
    except SignalError:
        return None


def _add(tab: _Table, method: str, est: HREstimate | None, true_bpm: float) -> None:
    """Record one whole-recording prediction; its SNR is measured at the TRUE heart rate (de Haan's SNR against
    the reference)."""
    if est is None:
        tab.add(method, None, true_bpm)
    else:
        tab.add(method, est.hr_bpm, true_bpm, snr_db(est.wave, est.fs, true_bpm))


def _bpm(x: float | None) -> float | None:
    return None if x is None else round(float(x), 2)


def score_ppg_recording(
    run: _Run, label: str, name: str, stmap: STMap, gt: GroundTruth, *, subject_id: str = "", eval_fs: float | None = None
) -> None:
    """Score every method on one recording with a GT PPG: ``clip_s`` clips (``eval.recording.score_stmap``, as
    ``evaluate`` does) and the whole recording (``eval.whole``)."""
    cfg = run.cfg
    config = cfg.eval_config()
    run.video_min += stmap.duration_s / 60.0
    clips_tab = run.table(f"{label}-clips", f"{label}, {cfg.clip_s:g}-s clips")
    whole_tab = run.table(f"{label}-whole", f"{label}, whole recordings")
    try:
        gt_whole = true_recording_hr(gt, cfg.band_hz)
    except SignalError:
        gt_whole = None
    rec = {"dataset": label, "recording": name, "duration_s": round(stmap.duration_s, 2), "fs": round(float(stmap.fs), 3),
           "gt_whole_bpm": _bpm(gt_whole), "gt_clips_bpm": [], "pred": {}}  # fmt: skip
    gt_clips: dict[int, float] = {}
    n_clips = 0
    for m in run.methods:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            res = score_stmap(stmap, gt, run.timed[m.name], config, name=name, subject_id=subject_id, hr_source="ppg",
                              clip_s=cfg.clip_s, eval_fs=eval_fs)  # fmt: skip
        for w in caught:
            run.note(str(w.message))
        run.notes += [f"{name}: {m.name}: {msg} skipped" for msg in res.skipped]
        n_clips = max(n_clips, res.n_clips_tried)
        pred = {}
        for c in res.clips:
            clips_tab.add(m.name, c.hr_pred_bpm, c.hr_true_bpm, c.snr_db)
            gt_clips[c.index] = c.hr_true_bpm
            pred[c.index] = c.hr_pred_bpm
        for _ in res.skipped:
            clips_tab.add(m.name, None, float("nan"))
        p_whole = _whole(stmap, run.plain[m.name], cfg.band_hz)  # untimed: the clip pass above is the timed run
        if gt_whole is not None:
            _add(whole_tab, m.name, p_whole, gt_whole)
        rec["pred"][m.name] = {"whole_bpm": _bpm(None if p_whole is None else p_whole.hr_bpm),
                               "clips_bpm": [_bpm(pred.get(k)) for k in range(res.n_clips_tried)]}  # fmt: skip
    rec["gt_clips_bpm"] = [_bpm(gt_clips.get(k)) for k in range(n_clips)]
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
        stmap = extract_with(run.cfg.eval_config(), path)
        score_ppg_recording(run, "synth", path.stem, stmap, gt)
    if progress:
        progress("synth", len(configs), len(configs))


def _config_key(config) -> str:
    import hashlib

    blob = json.dumps(config.to_dict() if hasattr(config, "to_dict") else repr(config), sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def _ubfc(run: _Run, root: Path, progress: Progress | None) -> None:
    """UBFC-rPPG read exactly as ``evaluate -d ubfc`` reads it (same STMap, frame times and clips)."""
    ds = get_dataset("ubfc", root)
    recs = ds.recordings()
    config = run.cfg.eval_config()
    for i, rec in enumerate(recs):
        if progress:
            progress("UBFC-rPPG", i, len(recs))
        gt = rec.ground_truth()
        stmap = load_stmap(rec, config)
        score_ppg_recording(run, "UBFC-rPPG", rec.name, stmap, gt, subject_id=rec.subject_id, eval_fs=ds.eval_fs)
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


def _bias_eval(run: _Run, root: Path, progress: Progress | None) -> None:
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
        stmap = extract_with(cfg.eval_config(roi="full-frame"), video)
        run.video_min += stmap.duration_s / 60.0
        rec = {"dataset": "bias_eval_rppg", "recording": video.stem, "duration_s": round(stmap.duration_s, 2),
               "fs": round(float(stmap.fs), 3), "gt_whole_bpm": hr_true, "pred": {}}  # fmt: skip
        for m in run.methods:
            p = _whole(stmap, run.timed[m.name], cfg.band_hz)  # the only pass over a crop: timed
            _add(run.table("bias-whole", "bias_eval_rppg skin crops, whole recordings"), m.name, p, hr_true)
            rec["pred"][m.name] = {"whole_bpm": _bpm(None if p is None else p.hr_bpm)}
        run.recordings.append(rec)
    if progress:
        progress("bias_eval_rppg", len(items), len(items))


# ---------------------------------------------------------------------------------------------- driver
def check_real_root(root: Path) -> tuple[Path | None, Path | None]:
    """The UBFC-rPPG and bias_eval_rppg folders under ``root`` (None where absent); ``DatasetError`` naming the
    folder when ``root`` is missing or holds neither."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: real-data folder does not exist; pass --root DIR holding {UBFC_DIR}/ and/or "
                           f"{BIAS_DIR}/, or --no-real for the synthetic clips only")  # fmt: skip
    ubfc, bias = root / UBFC_DIR, root / BIAS_DIR
    if not ubfc.is_dir() and not bias.is_dir():
        raise DatasetError(f"{root}: holds neither {UBFC_DIR}/ nor {BIAS_DIR}/; pass the folder that does (--root), "
                           "or --no-real for the synthetic clips only")  # fmt: skip
    return (ubfc if ubfc.is_dir() else None), (bias if bias.is_dir() else None)


def run_methods_benchmark(cfg: MethodsBenchConfig, progress: Progress | None = None) -> dict:
    """Run the benchmark; returns the results dict (written by ``write_results``)."""
    run = _Run(cfg)
    t0 = time.time()
    ubfc, bias = check_real_root(cfg.real_root) if cfg.real_root is not None else (None, None)
    if cfg.synth_n > 0:
        _synth(run, cfg.cache, progress)
    if cfg.real_root is not None:
        if ubfc is not None:
            _ubfc(run, ubfc, progress)
        else:
            run.notes.append(f"UBFC-rPPG skipped: {Path(cfg.real_root) / UBFC_DIR} is absent")
        if bias is not None:
            _bias_eval(run, bias, progress)
        else:
            run.notes.append(f"bias_eval_rppg skipped: {Path(cfg.real_root) / BIAS_DIR} is absent")
    if not run.tables:
        raise DatasetError("nothing to benchmark: no synthetic clips (--synth-n 0) and no real recordings (--no-real); "
                           "give --synth-n N or --root DIR")  # fmt: skip
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
    "check_real_root",
    "read_bias_eval_gt",
    "results_markdown",
    "run_methods_benchmark",
    "score_ppg_recording",
    "write_results",
]
