"""How `pseudopulse live` holds up as a live service: CPU, latency, and memory over a long session.

``benchmark_live(...)`` runs ``pseudopulse live CLIP --loop --jsonl`` as its own process (so what is measured is that
process alone, imports and model included only where said) on a generated face clip (``pseudopulse.synth``:
``SIZE`` px, ``FPS`` fps, a pulse at ``HR_BPM``) looped:

- **realtime** (``--pace realtime``, as a camera gives frames) for ``realtime_s`` seconds: CPU use in cores
  (the process's user + system time over wall time, from the first reading to the last, so start-up is not in
  it), latency from a frame's arrival to the update that first includes it (``latency_s`` of each reading: p50,
  p95, max), frames dropped, and the share of readings within 5 bpm of the clip's rate;
- **memory** (``--pace fast``) for the longest of ``memory_minutes`` minutes of stream time: resident set size
  (``/proc/PID/status`` VmRSS) when the stream passes each of ``memory_minutes``, and the peak (``wait4``).

Linux only (``/proc``). Results: a dict that ``to_markdown`` renders.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np

SIZE = (640, 480)
FPS = 30.0
HR_BPM = 72.0
CLIP_S = 20.0


def make_clip(path: str | Path, *, size=SIZE, fps: float = FPS, hr_bpm: float = HR_BPM, seconds: float = CLIP_S) -> Path:
    """A generated face clip with a known rate (``hr_bpm``), H.264 at CRF 18."""
    from pseudopulse.synth.config import SynthConfig
    from pseudopulse.synth.render import render

    path = Path(path)
    render(SynthConfig(hr_bpm=hr_bpm, duration_s=seconds, fps=fps, width=size[0], height=size[1], seed=7, crf=18,
                       motion_px=2.0), path)  # fmt: skip
    return path


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def run_session(clip: Path, *, pace: str, seconds: float, method: str, marks_s=(), truth_bpm: float | None = None,
                on_update: Callable | None = None) -> dict:  # fmt: skip
    """Run ``pseudopulse live`` on ``clip`` (looped) for ``seconds`` of stream time; what the process used, and the
    share of readings within 5 bpm of ``truth_bpm`` (the clip's rate, when known)."""
    cmd = [sys.executable, "-m", "pseudopulse", "live", str(clip), "--loop", "--pace", pace, "--jsonl",
           "--duration", f"{seconds:g}", "--method", method]  # fmt: skip
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, bufsize=1)
    updates, first, rss_at = [], None, {}
    marks = sorted(marks_s)
    for line in proc.stdout:
        u = json.loads(line)
        updates.append(u)
        if first is None and u["hr_bpm"] is not None:
            first = (time.perf_counter(), _cpu_s(proc.pid))
        last = (time.perf_counter(), _cpu_s(proc.pid))
        while marks and u["t_s"] >= marks[0]:
            rss_at[marks.pop(0)] = round(_rss_mb(proc.pid), 1)
        if on_update is not None:
            on_update(u)
    _, status, usage = os.wait4(proc.pid, 0)
    code = proc.returncode = os.waitstatus_to_exitcode(status)
    proc.stdout.close()
    if code != 0:
        raise RuntimeError(f"pseudopulse live exited with {code}: {' '.join(cmd)}")
    read = [u for u in updates if u["hr_bpm"] is not None]
    cores = (last[1] - first[1]) / (last[0] - first[0]) if first and last[0] > first[0] else float("nan")
    lat = np.array([u["latency_s"] for u in read]) if read else np.full(1, np.nan)
    return {
        "pace": pace, "stream_s": updates[-1]["t_s"] if updates else 0.0, "wall_s": round(time.perf_counter() - t0, 1),
        "updates": len(updates), "readings": len(read), "cpu_cores": round(float(cores), 3),
        "latency_p50_s": round(float(np.percentile(lat, 50)), 3), "latency_p95_s": round(float(np.percentile(lat, 95)), 3),
        "latency_max_s": round(float(lat.max()), 3), "frames_dropped": updates[-1]["frames_dropped"] if updates else 0,
        "within_5bpm_share": (round(float(np.mean([abs(u["hr_bpm"] - truth_bpm) <= 5 for u in read])), 3)
                              if read and truth_bpm else None),
        "reliable_share": round(float(np.mean([u["reliable"] for u in read])), 3) if read else None,
        "rss_mb_at_s": {str(int(k)): v for k, v in rss_at.items()}, "peak_rss_mb": round(usage.ru_maxrss / 1024.0, 1),
    }  # fmt: skip


def benchmark_live(*, work_dir: str | Path, realtime_s: float = 60.0, memory_minutes=(1.0, 10.0, 60.0),
                   method: str = "model", clip: str | Path | None = None,
                   progress: Callable[[str], None] = lambda message: None) -> dict:  # fmt: skip
    """The realtime and the memory session (see the module docstring) on ``clip`` (default: a generated one)."""
    truth = None
    if clip is None:
        progress(f"generating a {SIZE[0]}x{SIZE[1]} {FPS:g}-fps face clip at {HR_BPM:g} bpm ...")
        clip, truth = make_clip(Path(work_dir) / "face.mp4"), HR_BPM
    size, fps = _size_and_rate(Path(clip))
    out = {"clip": str(clip), "size": list(size), "fps": fps, "hr_bpm": truth, "method": method,
           "cpu_count": os.cpu_count(), "machine": _machine()}  # fmt: skip
    if realtime_s > 0:
        progress(f"realtime session: {realtime_s:g} s ...")
        out["realtime"] = run_session(Path(clip), pace="realtime", seconds=realtime_s, method=method, truth_bpm=truth)
    if memory_minutes:
        marks = [60.0 * m for m in memory_minutes]
        progress(f"memory session: {max(memory_minutes):g} min of stream at full speed ...")
        out["memory"] = run_session(Path(clip), pace="fast", seconds=max(marks), method=method, marks_s=marks,
                                    truth_bpm=truth)  # fmt: skip
    return out


def _size_and_rate(clip: Path) -> tuple[tuple[int, int], float]:
    """((width, height) px, declared frame rate Hz) of ``clip``."""
    from pseudopulse.io import open_video

    with open_video(clip) as r:
        return (r.info.width, r.info.height), float(r.info.fps_nominal or FPS)


def _machine() -> str:
    import platform

    return f"{platform.system()} {platform.machine()}, Python {platform.python_version()}"


def to_markdown(r: dict) -> str:
    lines = [f"# Live benchmark ({r['method']}, {r['size'][0]}x{r['size'][1]} at {r['fps']:g} fps, {r['cpu_count']} cores)", ""]
    if "realtime" in r:
        rt = r["realtime"]
        lines += ["| realtime session | value |", "|---|---:|",
                  f"| stream time | {rt['stream_s']:.0f} s |", f"| CPU use | {rt['cpu_cores']:.2f} cores |",
                  f"| latency p50 / p95 / max | {rt['latency_p50_s']:.2f} / {rt['latency_p95_s']:.2f} / {rt['latency_max_s']:.2f} s |",
                  f"| frames dropped | {rt['frames_dropped']} |",
                  f"| readings within 5 bpm of the clip's rate | {rt['within_5bpm_share'] if rt['within_5bpm_share'] is not None else 'unknown rate'} |",
                  f"| readings reliable | {rt['reliable_share']} |", ""]  # fmt: skip
    if "memory" in r:
        m = r["memory"]
        lines += ["| memory session: stream time | RSS |", "|---|---:|"]
        lines += [f"| {int(k) / 60:g} min | {v:.0f} MB |" for k, v in m["rss_mb_at_s"].items()]
        lines += [f"| peak | {m['peak_rss_mb']:.0f} MB |", "",
                  f"({m['stream_s'] / 60:.1f} min of stream in {m['wall_s'] / 60:.1f} min at full speed)", ""]  # fmt: skip
    return "\n".join(lines)
