"""Seeded sets of clip configurations: the varied benchmark suite and the demo clip."""

from __future__ import annotations

import numpy as np

from pseudopulse.synth.config import SynthConfig, SynthConfigError

SUITE_CRFS = (0, 10, 18, 23, 28)  # x264 CRF; 0 = lossless
SUITE_HR_BPM = (45.0, 150.0)


def make_suite(
    n: int = 30, seed: int = 0, *, duration_s: float = 20.0, width: int = 640, height: int = 480
) -> list[SynthConfig]:
    """``n`` varied, reproducible clip configs for benchmarking methods.

    Heart rates are stratified over 45-150 bpm (one per stratum, non-round); motion (none / mild / strong),
    illumination change and flicker, skin tone (-1..+0.6), CRF (``SUITE_CRFS``), frame rate (30 or 25 fps), sensor
    noise, specular highlight, HR drift and capture-time jitter are spread so each level appears about equally often.
    Each config gets its own render seed derived from ``seed``.
    """
    if n < 1:
        raise SynthConfigError(f"make_suite: n={n!r} must be >= 1")
    rng = np.random.default_rng(seed)
    lo, hi = SUITE_HR_BPM
    edges = np.linspace(lo, hi, n + 1)
    hr = rng.permutation(edges[:-1] + rng.uniform(0.1, 0.9, n) * np.diff(edges))

    def balanced(levels):
        return rng.permutation(np.resize(np.arange(len(levels)), n))

    motion = balanced(("none", "mild", "strong"))
    light = balanced(("steady", "slow", "flicker"))
    crf = balanced(SUITE_CRFS)
    fps = balanced((30.0, 30.0, 25.0))
    def r(x):
        return round(float(x), 3)

    configs = []
    for i in range(n):
        m = int(motion[i])
        motion_px, rotation_deg, scale_amp = (
            (0.0, 0.0, 0.0),
            (r(rng.uniform(1.5, 4.0)), r(rng.uniform(0.5, 2.0)), r(rng.uniform(0.005, 0.015))),
            (r(rng.uniform(6.0, 14.0)), r(rng.uniform(2.0, 6.0)), r(rng.uniform(0.02, 0.05))),
        )[m]
        li = int(light[i])
        illumination_amp = 0.0 if li == 0 else r(rng.uniform(0.05, 0.2))
        flicker_hz, flicker_amp = (r(rng.uniform(0.3, 1.0)), r(rng.uniform(0.005, 0.02))) if li == 2 else (0.0, 0.0)
        f = (30.0, 30.0, 25.0)[int(fps[i])]
        configs.append(
            SynthConfig(
                hr_bpm=round(float(hr[i]), 1),
                duration_s=duration_s,
                fps=f,
                width=width,
                height=height,
                seed=int(rng.integers(0, 2**31 - 1)),
                pulse_amplitude=round(rng.uniform(0.007, 0.015), 4),
                hr_drift_bpm=r(rng.choice([0.0, 0.0, rng.uniform(-8, 8)])),
                resp_rate_hz=r(rng.uniform(0.15, 0.4)),
                motion_px=motion_px,
                rotation_deg=rotation_deg,
                scale_amp=scale_amp,
                motion_hz=r(rng.uniform(0.15, 0.6)),
                illumination_amp=illumination_amp,
                flicker_hz=flicker_hz,
                flicker_amp=flicker_amp,
                specular=r(rng.choice([0.0, rng.uniform(0.1, 0.35)])),
                skin_tone=round(rng.uniform(-1.0, 0.6), 2),
                noise_sigma=r(rng.uniform(0.5, 3.0)),
                frame_jitter_ms=r(rng.choice([0.0, rng.uniform(0.5, 3.0)])),
                crf=int(SUITE_CRFS[int(crf[i])]),
            )
        )
    return configs


def demo_config(seed: int = 0) -> SynthConfig:
    """The ``pseudopulse demo`` clip: 12 s, 640x480, 30 fps, 74 bpm, mild head motion and light change, CRF 14."""
    return SynthConfig(
        hr_bpm=74.0,
        duration_s=12.0,
        fps=30.0,
        width=640,
        height=480,
        seed=seed,
        pulse_amplitude=0.012,
        motion_px=1.5,
        rotation_deg=0.5,
        motion_hz=0.25,
        illumination_amp=0.03,
        noise_sigma=1.5,
        crf=14,
    )
