"""Builders of the bad-input zoo: small odd videos, frame folders, model files and caches, made by the tests.

Every builder writes into a given folder and returns the path to pass to ``pseudopulse predict``. Clips are tiny
(64x48 unless the case is about size), 10 s at 30 fps unless the case is about rate or length, with a skin colour
that pulses at ``HR_BPM`` (``fixtures_layouts.frame_rgb``), so ``--roi full-frame --method pos`` reads it cheaply.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image

from fixtures_layouts import frame_rgb

HR_BPM = 72.0
SIZE = (64, 48)


def pulse_frames(n: int, fps: float, size=SIZE, *, amp: float = 4.0, gray: bool = False, seed: int = 0):
    rng = np.random.default_rng(seed)
    for i in range(n):
        rgb = frame_rgb(i / fps, HR_BPM, rng, size, amp=amp)
        if gray:
            rgb = np.repeat(rgb.mean(axis=2, keepdims=True).astype(np.uint8), 3, axis=2)
        yield rgb


def encode(path, frames, *, fps: float = 30, size=SIZE, codec: str = "ffv1", pix_fmt: str = "yuv444p", pts=None,
           time_base=Fraction(1, 1000), options=None, container_options=None, rotate: int = 0) -> Path:  # fmt: skip
    """Encode RGB frames. ``pts``: one integer per frame in ``time_base`` units (None = constant rate)."""
    path = Path(path)
    w, h = size
    with av.open(str(path), "w", options=container_options or {}) as c:
        s = c.add_stream(codec, rate=Fraction(fps).limit_denominator(1000), options=options or {})
        s.width, s.height, s.pix_fmt = w, h, pix_fmt
        if pts is not None:
            s.codec_context.time_base = time_base
        if rotate:
            s.set_display_rotation(rotate)
        for i, rgb in enumerate(frames):
            f = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            if pix_fmt in ("gray", "pal8"):
                f = f.reformat(format=pix_fmt)
            if pts is not None:
                f.pts, f.time_base = int(pts[i]), time_base
            for p in s.encode(f):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path


def clip(path, *, seconds: float = 10.0, fps: float = 30, size=SIZE, codec: str = "ffv1", pix_fmt: str = "yuv444p",
         options=None, container_options=None, gray: bool = False) -> Path:  # fmt: skip
    n = int(round(seconds * fps))
    return encode(path, pulse_frames(n, fps, size, gray=gray), fps=fps, size=size, codec=codec, pix_fmt=pix_fmt,
                  options=options, container_options=container_options)  # fmt: skip


def clip_with_times(path, times_s, *, fps: float = 30, codec: str = "ffv1", pix_fmt: str = "yuv444p") -> Path:
    """Frames captured at ``times_s`` (s) with those times in the container (ms resolution)."""
    rng = np.random.default_rng(0)
    frames = (frame_rgb(t, HR_BPM, rng, SIZE, amp=4.0) for t in times_s)
    pts = np.round(np.asarray(times_s) * 1000).astype(int)
    return encode(path, frames, fps=fps, codec=codec, pix_fmt=pix_fmt, pts=pts)


def truncate(src: Path, dst: Path, fraction: float) -> Path:
    data = src.read_bytes()
    dst.write_bytes(data[: int(len(data) * fraction)])
    return dst


def insert_garbage(src: Path, dst: Path, at: float, n_bytes: int, *, replace: bool = False, seed: int = 0) -> Path:
    data = src.read_bytes()
    i = int(len(data) * at)
    junk = np.random.default_rng(seed).integers(0, 256, n_bytes, dtype=np.uint8).tobytes()
    dst.write_bytes(data[:i] + junk + data[i + (n_bytes if replace else 0) :])
    return dst


def frame_folder(folder: Path, n: int = 150, fps: float = 15, *, sizes=None, corrupt=(), ns_names: bool = False,
                 skip=()) -> Path:  # fmt: skip
    """PNG frames; ``sizes[i]`` overrides the size of frame i; ``corrupt`` frame indices get garbage bytes;
    ``ns_names`` names them Image<ns>.png (PURE) instead of frame_00000.png; ``skip`` leaves frames out."""
    folder.mkdir(parents=True, exist_ok=True)
    t0 = 1392643993642815000
    for i, rgb in enumerate(pulse_frames(n, fps)):
        if i in skip:
            continue
        name = f"Image{t0 + int(round(i / fps * 1e9))}.png" if ns_names else f"frame_{i:05d}.png"
        if sizes and i in sizes:
            rgb = np.asarray(Image.fromarray(rgb).resize(sizes[i]))
        if i in corrupt:
            (folder / name).write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
        else:
            Image.fromarray(rgb).save(folder / name)
    return folder


def face_clip(path, *, seconds: float = 8.0, hide=(), rotate: int = 0, fps: float = 15) -> Path:
    """A semi-synthetic face (pseudopulse.synth) at 160x120 with the face hidden during ``hide`` spans; ``rotate``
    stores the frames turned by that angle with rotation metadata that turns them back."""
    from pseudopulse.synth import SynthConfig
    from pseudopulse.synth.render import iter_frames

    cfg = SynthConfig(hr_bpm=HR_BPM, duration_s=seconds, fps=fps, width=160, height=120, hide_spans_s=tuple(hide),
                      pulse_amplitude=0.02, seed=1)  # fmt: skip
    frames = iter_frames(cfg)
    size = (160, 120)
    if rotate:
        # store the picture turned clockwise by ``rotate``; the display matrix (rotate counter-clockwise) undoes it
        frames = (np.ascontiguousarray(np.rot90(f, k=-(rotate // 90))) for f in frames)
        size = (120, 160) if rotate in (90, 270) else size
    return encode(path, frames, fps=fps, size=size, codec="libx264", pix_fmt="yuv420p", options={"qp": "0"},
                  rotate=rotate)  # fmt: skip
