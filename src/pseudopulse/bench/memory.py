"""Peak memory of ``pseudopulse predict`` against video length: is it bounded?

``benchmark_memory(minutes=(1, 10, 60))`` writes one cheap generated stream per length (``SIZE`` px, ``FPS`` fps,
a skin colour pulsing at 72 bpm over a bank of noise frames; libx264 ultrafast), runs ``pseudopulse predict`` on each
in a fresh process (``--roi full-frame``: the frames are a skin patch, so the face detector is not part of what is
measured) and reads that process's peak resident set size (``wait4`` rusage). Small frames keep the generation
cheap; per-frame buffers do not grow with length either way, so the growth measured is the growth in length.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

SIZE = (64, 48)  # (width, height) px of the generated stream
FPS = 30
HR_BPM = 72.0
_SKIN = np.array([180.0, 130.0, 110.0])
_PULSE = np.array([0.33, 0.77, 0.53])


def write_stream(path: str | Path, minutes: float, *, fps: int = FPS, size=SIZE, seed: int = 0) -> Path:
    """A ``minutes`` long H.264 stream of a pulsing skin patch (cheap: 64 noise frames reused)."""
    import av

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    w, h = size
    rng = np.random.default_rng(seed)
    bank = rng.normal(0, 1.0, (64, h, w, 3))
    n = int(round(minutes * 60 * fps))
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=Fraction(fps), options={"preset": "ultrafast", "crf": "12"})
        s.width, s.height, s.pix_fmt = w, h, "yuv444p"
        for i in range(n):
            colour = _SKIN + 4.0 * _PULSE * np.sin(2 * np.pi * HR_BPM / 60.0 * i / fps)
            rgb = np.clip(np.round(colour + bank[i % 64]), 0, 255).astype(np.uint8)
            for p in s.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path


def peak_rss_of(cmd: list[str]) -> tuple[float, float, int, str]:
    """(peak RSS in MB, wall seconds, exit code, last stderr line) of ``cmd`` run as its own process."""
    t0 = time.perf_counter()
    with tempfile.TemporaryFile() as errf:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=errf)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        errf.seek(0)
        err = errf.read().decode(errors="replace")
    last = [ln for ln in err.splitlines() if ln.strip()][-1:] or [""]
    return usage.ru_maxrss / 1024.0, wall, proc.returncode, last[0]


def benchmark_memory(minutes=(1, 10, 60), *, work_dir: str | Path, method: str = "model", keep: bool = False,
                     progress=None) -> dict:  # fmt: skip
    """Peak RSS (MB) of ``predict`` per video length. Returns {"rows": [...], "setup": {...}}."""
    work_dir = Path(work_dir)
    rows = []
    for m in minutes:
        video = work_dir / f"stream_{m:g}min.mp4"
        t0 = time.perf_counter()
        if progress:
            progress(f"writing a {m:g}-min stream")
        write_stream(video, m)
        gen_s = time.perf_counter() - t0
        if progress:
            progress(f"predict on {m:g} min")
        cmd = [sys.executable, "-m", "pseudopulse", "predict", str(video), "--roi", "full-frame", "--method", method,
               "--json", "--no-progress"]  # fmt: skip
        rss, wall, code, last = peak_rss_of(cmd)
        rows.append({"minutes": m, "frames": int(round(m * 60 * FPS)), "peak_rss_mb": round(rss, 1),
                     "predict_s": round(wall, 1), "generate_s": round(gen_s, 1), "exit_code": code,
                     "stderr_last": last if code else ""})  # fmt: skip
        if not keep:
            video.unlink(missing_ok=True)
    base = rows[0]["peak_rss_mb"] if rows else None
    for r in rows:
        r["vs_first"] = None if not base else round(r["peak_rss_mb"] / base - 1.0, 4)
    return {"rows": rows, "setup": {"size": list(SIZE), "fps": FPS, "method": method, "roi": "full-frame",
                                    "codec": "libx264 ultrafast crf 12 yuv444p", "python": sys.version.split()[0]}}


def to_markdown(result: dict) -> str:
    s = result["setup"]
    lines = [
        "# Peak memory of `pseudopulse predict` against video length",
        "",
        f"Generated stream: {s['size'][0]}x{s['size'][1]} px at {s['fps']} fps ({s['codec']}), a skin patch pulsing at "
        f"72 bpm; `predict --roi full-frame --method {s['method']}` in a fresh process; peak RSS from `wait4`.",
        "Small frames keep generation cheap; the face detector is not exercised (full-frame ROI).",
        "",
        "| minutes | frames | peak RSS (MB) | vs first | predict (s) | exit |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in result["rows"]:
        vs = "" if r["vs_first"] is None else f"{100 * r['vs_first']:+.1f} %"
        lines.append(f"| {r['minutes']:g} | {r['frames']} | {r['peak_rss_mb']:.1f} | {vs} | {r['predict_s']:.1f} | "
                     f"{r['exit_code']} |")  # fmt: skip
    return "\n".join(lines) + "\n"
