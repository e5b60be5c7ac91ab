"""Side-by-side benchmark against a peer toolkit, open-rppg (supervised FacePhys models), on the same recordings.

open-rppg pulls JAX/Keras/numpy 2, so it runs in its own Python environment: we drive it through a subprocess
(``peer_python``) and never import it. Both sides are timed on the same machine in the same run.
"""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pseudopulse.errors import PseudopulseError
from pseudopulse.eval.metrics import hr_metrics
from pseudopulse.eval.recording import EvalConfig, load_stmap
from pseudopulse.eval.whole import recording_hr, true_recording_hr
from pseudopulse.predictors import resolve_predictor

PEER_SCRIPT = r"""
import json, sys, time
t0 = time.perf_counter()
import rppg
model = rppg.Model(sys.argv[1])
print(json.dumps({"event": "loaded", "seconds": time.perf_counter() - t0}), flush=True)
for path in sys.argv[2:]:
    t = time.perf_counter()
    try:
        out = model.process_video(path)
        print(json.dumps({"path": path, "hr_bpm": float(out["hr"]), "seconds": time.perf_counter() - t}), flush=True)
    except Exception as e:  # report and go on with the next video
        print(json.dumps({"path": path, "error": f"{type(e).__name__}: {e}"}), flush=True)
"""


@dataclass(frozen=True)
class Row:
    recording: str
    duration_s: float
    gt_hr_bpm: float
    hr_bpm: dict  # tool name -> HR (bpm) or nan
    seconds: dict  # tool name -> processing time (s)


def run_peer(peer_python: str, model: str, videos: list[Path], timeout_s: float = 3600) -> tuple[float, dict]:
    """Run open-rppg on ``videos`` in ``peer_python``. Returns (model load seconds, {path: record})."""
    try:
        proc = subprocess.run(
            [peer_python, "-c", PEER_SCRIPT, model, *map(str, videos)], capture_output=True, text=True, timeout=timeout_s
        )
    except FileNotFoundError:
        raise PseudopulseError(f"peer interpreter {peer_python} not found; create one with `python -m venv V && V/bin/pip install open-rppg`") from None
    records, load_s = {}, float("nan")
    for line in proc.stdout.splitlines():
        if not line.startswith("{"):
            continue
        rec = json.loads(line)
        if rec.get("event") == "loaded":
            load_s = rec["seconds"]
        elif "path" in rec:
            records[rec["path"]] = rec
    if proc.returncode != 0 and not records:
        tail = proc.stderr.strip().splitlines()[-1:] or ["(no output)"]
        raise PseudopulseError(f"open-rppg failed in {peer_python}: {tail[0]}")
    return load_s, records


def benchmark_peer(
    dataset, methods: list[str], peer_python: str | None, peer_model: str = "FacePhys.rlap", model: str | Path | None = None
) -> dict:
    """Per-recording HR of our methods and of the peer vs the GT PPG; MAE and speed (× real time) per tool.

    Our side reads each recording as ``evaluate`` does (``eval.recording.load_stmap``, no cache, so the time is
    decode + face + signal) and takes its HR with ``eval.whole.recording_hr``; the reference is
    ``eval.whole.true_recording_hr``. ``model``: model file for method ``model`` (default: the shipped weights).
    """
    predictors = {m: resolve_predictor(m, model if m == "model" else None) for m in methods}
    config = EvalConfig(cache_dir=None, keep_pseudo=False)
    recordings = dataset.recordings()
    rows, load = [], {}
    peer = {}
    if peer_python:
        load["open-rppg"], peer = run_peer(peer_python, peer_model, [r.video_path for r in recordings])
    for rec in recordings:
        hrs, secs = {}, {}
        duration = float("nan")
        for m, pred in predictors.items():
            t = time.perf_counter()
            stmap = load_stmap(rec, config)
            hrs[m] = recording_hr(stmap, pred).hr_bpm
            secs[m] = time.perf_counter() - t
            duration = stmap.duration_s
        if peer_python:
            p = peer.get(str(rec.video_path), {})
            hrs["open-rppg"] = p.get("hr_bpm", float("nan"))
            secs["open-rppg"] = p.get("seconds", float("nan"))
        rows.append(Row(rec.name, duration, true_recording_hr(rec.ground_truth()), hrs, secs))
    tools = list(methods) + (["open-rppg"] if peer_python else [])
    return {
        "dataset": str(dataset.root),
        "peer_model": peer_model if peer_python else None,
        "summary": {tool: _summary(rows, tool, load.get(tool, 0.0)) for tool in tools},
        "rows": [
            {"recording": r.recording, "duration_s": r.duration_s, "gt_hr_bpm": r.gt_hr_bpm, "hr_bpm": r.hr_bpm, "seconds": r.seconds}
            for r in rows
        ],
    }


def _summary(rows: list[Row], tool: str, load_s: float) -> dict:
    """MAE / RMSE (bpm, ``eval.metrics.hr_metrics`` over the recordings the tool answered) and speed of one tool."""
    pred = np.array([r.hr_bpm[tool] for r in rows], dtype=np.float64)
    true = np.array([r.gt_hr_bpm for r in rows], dtype=np.float64)
    ok = np.isfinite(pred)
    m = hr_metrics(pred[ok], true[ok]) if ok.any() else None
    total_s = sum(r.seconds[tool] for r in rows)
    total_video = sum(r.duration_s for r in rows)
    return {
        "mae": m.mae if m else float("nan"),
        "rmse": m.rmse if m else float("nan"),
        "n": int(ok.sum()),
        "x_real_time": float(total_video / total_s) if total_s > 0 else float("nan"),
        "load_s": load_s,
    }


def to_markdown(result: dict) -> str:
    tools = list(result["summary"])
    lines = [
        f"Whole-recording HR vs contact PPG, {len(result['rows'])} recordings of `{Path(result['dataset']).name}`. "
        "Speed = seconds of video per second of processing (decode + face + signal), model loading excluded.",
        "",
        "| tool | MAE (bpm) | RMSE (bpm) | × real time | load (s) |",
        "|---|---|---|---|---|",
    ]
    for t in tools:
        s = result["summary"][t]
        lines.append(f"| {t} | {s['mae']:.2f} | {s['rmse']:.2f} | {s['x_real_time']:.1f} | {s['load_s']:.1f} |")
    lines += ["", "| recording | GT (bpm) | " + " | ".join(tools) + " |", "|---|---|" + "---|" * len(tools)]
    for r in result["rows"]:
        lines.append(f"| {r['recording']} | {r['gt_hr_bpm']:.1f} | " + " | ".join(f"{r['hr_bpm'][t]:.1f}" for t in tools) + " |")
    return "\n".join(lines) + "\n"
