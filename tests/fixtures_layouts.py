"""Builders of tiny dataset trees in the exact real layouts (file names, header lines, timestamp units).

Videos are small uniform "skin" frames whose colour pulses at a known heart rate at the given capture times,
so a full-frame ROI + a training-free method recovers the rate: loaders can be tested end to end without faces.
"""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image

SKIN_RGB = np.array([180.0, 120.0, 100.0])
PULSE_RGB = np.array([0.33, 0.77, 0.53])  # blood-volume signature: strongest in green


def pulse(t_s, hr_bpm: float) -> np.ndarray:
    return np.sin(2 * np.pi * hr_bpm / 60.0 * np.asarray(t_s, dtype=float))


def frame_rgb(t: float, hr_bpm: float, rng, size=(32, 24), amp: float = 3.0) -> np.ndarray:
    w, h = size
    colour = SKIN_RGB + amp * PULSE_RGB * pulse(t, hr_bpm)
    img = colour[None, None, :] + rng.normal(0, 1.0, (h, w, 3))
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def encode_frames(path, frames, *, fps: float, size, codec: str, pix_fmt: str, times_s=None, options=None) -> Path:
    """Encode RGB ``frames`` (H, W, 3 uint8) to ``path``. The container gets constant-rate timestamps at ``fps``
    unless ``times_s`` is given (then frame i has pts = times_s[i] in ms: a variable-frame-rate file)."""
    w, h = size
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as c:
        s = c.add_stream(codec, rate=int(round(fps)), options=options or {})
        s.width, s.height, s.pix_fmt = w, h, pix_fmt
        if times_s is not None:
            s.codec_context.time_base = Fraction(1, 1000)
        for i, rgb in enumerate(frames):
            f = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            if times_s is not None:
                f.pts = int(round(times_s[i] * 1000))
                f.time_base = Fraction(1, 1000)
            for p in s.encode(f):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path


def write_pulse_video(path, times_s, hr_bpm: float, *, fps: float = 30, size=(32, 24), codec: str = "ffv1",
                      container_times: bool = False, seed: int = 0) -> Path:  # fmt: skip
    """Frames whose colour pulses at ``hr_bpm`` at the capture times ``times_s`` (s). The container gets
    constant-rate timestamps at ``fps`` unless ``container_times`` (then pts = times_s in ms)."""
    rng = np.random.default_rng(seed)
    pix_fmt = {"ffv1": "yuv444p", "mjpeg": "yuvj444p", "libx264": "yuv444p"}.get(codec, "yuv420p")
    frames = (frame_rgb(t, hr_bpm, rng, size) for t in times_s)
    return encode_frames(path, frames, fps=fps, size=size, codec=codec, pix_fmt=pix_fmt,
                         times_s=times_s if container_times else None,
                         options={"qp": "0"} if codec == "libx264" else None)  # fmt: skip


# ------------------------------------------------------------------------------------------------ UBFC
def ubfc_gt_text(ppg, hr, t) -> str:
    """DATASET_2 ground_truth.txt: three lines (PPG, HR, timestamps s), values in %.7e separated by spaces."""
    return "\n".join("  ".join(f"{v:.7e}" for v in row) for row in (ppg, hr, t)) + "\n"


def write_ubfc_subject(root, name, *, hr_bpm=72.0, duration_s=12.0, fps=30.0, t0_s=0.0, gt_len_s=None,
                       video="vid.avi", seed=0) -> Path:  # fmt: skip
    """ROOT/name/{vid.avi, ground_truth.txt}; GT timestamps start at ``t0_s`` (real files start at 0–24 s),
    one GT sample per frame with ms-rounded capture times (so repeats occur), GT cut to ``gt_len_s``."""
    d = Path(root) / name
    n = int(round(duration_s * fps))
    t = np.arange(n) / fps
    write_pulse_video(d / video, t, hr_bpm, fps=fps, codec="ffv1" if video.endswith((".avi", ".mkv")) else "libx264", seed=seed)
    m = n if gt_len_s is None else int(round(gt_len_s * fps))
    ts = np.round(t0_s + t[:m], 3)
    (d / "ground_truth.txt").write_text(ubfc_gt_text(pulse(t[:m], hr_bpm), np.full(m, hr_bpm), ts))
    return d


# ------------------------------------------------------------------------------------------------ PURE
def write_pure_sequence(root, name="01-01", *, hr_bpm=66.0, duration_s=3.0, fps=30.0, nested=False,
                        pulse_lead_s=0.2, t0_ns=1392643993642815000) -> dict:  # fmt: skip
    """PNG frames Image<ns>.png + NN-MM.json ("/FullPackage" 60-Hz pulse, "/Image" timestamps, ns).
    The oximeter log starts ``pulse_lead_s`` before the first image (same clock)."""
    root = Path(root)
    frames = root / name / name if nested else root / name
    js = root / name / f"{name}.json" if nested else root / f"{name}.json"
    frames.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    n = int(round(duration_s * fps))
    jitter = rng.uniform(-3e6, 3e6, n).astype(np.int64)
    img_ns = t0_ns + (np.arange(n) * 1e9 / fps).astype(np.int64) + jitter
    img_ns[0] = t0_ns
    for ns in img_ns:
        t = (ns - t0_ns) / 1e9
        Image.fromarray(frame_rgb(t, hr_bpm, rng, size=(16, 12))).save(frames / f"Image{ns}.png")
    pk_ns = t0_ns - int(pulse_lead_s * 1e9) + (np.arange(int((duration_s + pulse_lead_s + 0.3) * 60)) * 1e9 / 60).astype(np.int64)
    wave = 50 + 40 * pulse((pk_ns - t0_ns) / 1e9, hr_bpm)
    data = {
        "/FullPackage": [
            {"Timestamp": int(ns), "Value": {"waveform": int(round(w)), "pulseRate": int(hr_bpm), "o2saturation": 98, "signalStrength": 4}}
            for ns, w in zip(pk_ns, wave)
        ],
        "/Image": [{"Timestamp": int(ns)} for ns in img_ns],
    }
    js.write_text(json.dumps(data))
    return {"frames": frames, "json": js, "img_ns": img_ns, "pk_ns": pk_ns}


# ------------------------------------------------------------------------------------------------ VIPL-HR
def write_vipl_source(root, person="p1", scenario="v1", source="source3", *, times_s, hr_bpm=75.0, fps=30.0,
                      with_time=True, seed=0) -> Path:  # fmt: skip
    """ROOT/pN/vM/sourceK/{video.avi, gt_HR.csv ("HR", one per second), wave.csv ("Wave"), time.txt (ms)}."""
    d = Path(root) / person / scenario / source
    write_pulse_video(d / "video.avi", times_s, hr_bpm, fps=fps, codec="ffv1", seed=seed)
    dur = float(times_s[-1])
    n_hr = int(np.ceil(dur))
    (d / "gt_HR.csv").write_text("HR\n" + "".join(f"{hr_bpm:g}\n" for _ in range(n_hr)))
    wave = 100 + 50 * pulse(np.arange(int(dur * 60)) / 60.0, hr_bpm)
    (d / "wave.csv").write_text("Wave\n" + "".join(f"{int(v)}\n" for v in wave))
    (d / "gt_SpO2.csv").write_text("SpO2\n" + "98\n" * n_hr)
    if with_time:
        ms = 1574150000000 + np.round(np.asarray(times_s) * 1000).astype(np.int64)
        (d / "time.txt").write_text("".join(f"{v}\n" for v in ms))
    return d


def vfr_times(duration_s: float = 21.0, slow_s: float = 14.0) -> np.ndarray:
    """Capture times: 15 fps for the first ``slow_s`` seconds, then 30 fps (a phone camera raising its rate
    when the light improves)."""
    a = np.arange(0, slow_s, 1 / 15)
    b = slow_s + np.arange(0, duration_s - slow_s, 1 / 30)
    return np.concatenate([a, b])


# ------------------------------------------------------------------------------------------------ V4V
V4V_TRAIN = "Phase 1_ Training_Validation sets"


def write_v4v(root, *, hr_bpm=80.0, duration_s=11.0) -> dict:
    """Train video + Physiology label file, validation video + validation_set_gt_release.txt (25 fps)."""
    root = Path(root)
    n = int(duration_s * 25)
    t = np.arange(n) / 25.0
    tr = write_pulse_video(root / V4V_TRAIN / "Videos" / "train-001_of_002" / "F001_T1.mkv", t, hr_bpm, fps=25)
    va = write_pulse_video(root / V4V_TRAIN / "Videos" / "valid" / "M002_T3.mkv", t, hr_bpm + 10, fps=25, seed=3)
    phys = root / V4V_TRAIN / "Ground truth" / "Physiology"
    phys.mkdir(parents=True)
    hr_line = ", ".join(f"{hr_bpm + 0.5 * np.sin(i / 25):.4f}" for i in range(n))
    rr_line = ", ".join("16.0" for _ in range(n))
    (phys / "F001-T1.txt").write_text(f"F001_T1.mkv, HR, {hr_line}\nF001_T1.mkv, RR, {rr_line}\n")
    bp = root / V4V_TRAIN / "Ground truth" / "BP_raw_1KHz"
    bp.mkdir(parents=True)
    (bp / "F001-T1-BP.txt").write_text("80.1\n80.2\n")
    p2 = root / "Phase 2_ Testing set"
    p2.mkdir(parents=True)
    (p2 / "validation_set_gt_release.txt").write_text(
        "M002_T3.mkv, HR, " + ", ".join(f"{hr_bpm + 10:.1f}" for _ in range(n)) + "\n"
    )
    return {"train": tr, "valid": va, "n": n}
