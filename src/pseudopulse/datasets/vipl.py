"""VIPL-HR V1 (Niu et al. 2019).

Layout: ``ROOT/p<person>/v<scenario>[-<repeat>]/source<k>/`` holding ``video.avi``, ``gt_HR.csv`` (header ``HR``,
one value per second), ``wave.csv`` (header ``Wave``, contact BVP at ~60 Hz, not well synchronised to the
video), ``time.txt`` (one timestamp per frame in milliseconds; absent for some videos) and ``gt_SpO2.csv``.
source1 = webcam (25 fps), source2 = RealSense RGB (30 fps), source3 = phone (variable frame rate),
source4 = RealSense NIR (skipped unless ``include_nir=True``).

Frame rate is unstable, so frame times come from ``time.txt`` (relative to its first value) when present and the
recording is resampled to 30 fps for prediction (``eval_fs``). GT HR per clip = mean of ``gt_HR.csv`` over the
clip (the paper's protocol); each HR value stands for the second [k, k+1) s and is placed at k + 0.5 s.
``wave.csv`` carries no timestamps: it is spread evenly over the video's duration (time.txt span, else the
number of HR seconds) and only used for plots.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from pseudopulse.datasets.base import Dataset, GroundTruth, Recording, merge_repeated_times
from pseudopulse.datasets.parse import parse_floats, read_columns, read_text
from pseudopulse.errors import DatasetError

_SOURCE = re.compile(r"^source(\d+)$")


def read_vipl_time_txt(path: Path) -> np.ndarray:
    """Frame times (s from the first frame) from a VIPL-HR ``time.txt`` (one ms timestamp per line)."""
    path = Path(path)
    lines = read_text(path).splitlines()
    vals, line_nos = [], []
    for i, ln in enumerate(lines, start=1):
        if not ln.strip():
            continue
        v = parse_floats(ln, path, i, "frame timestamp (ms)")
        if len(v) != 1:
            raise DatasetError(f"{path}, line {i}: expected one timestamp in ms per line; got {len(v)} values")
        vals.append(v[0])
        line_nos.append(i)
    if len(vals) < 2:
        raise DatasetError(f"{path}: needs one timestamp (ms) per frame; found {len(vals)}")
    t = np.asarray(vals)
    d = np.diff(t)
    if np.any(d <= 0):
        j = int(np.flatnonzero(d <= 0)[0]) + 1
        raise DatasetError(
            f"{path}, line {line_nos[j]}: frame timestamp {t[j]!r} ms is not after the previous one ({t[j - 1]!r} ms)"
        )
    return (t - t[0]) / 1000.0


def read_vipl_ground_truth(folder: Path) -> GroundTruth:
    """Dataset HR (``gt_HR.csv``, 1 Hz) and BVP (``wave.csv``) of one VIPL-HR source folder."""
    folder = Path(folder)
    hr = read_columns(folder / "gt_HR.csv", {"hr": ("HR", "hr_bpm", "heart rate")})["hr"]
    if np.any(hr <= 0):
        i = int(np.flatnonzero(hr <= 0)[0])
        raise DatasetError(f"{folder / 'gt_HR.csv'}, line {i + 2}: HR {hr[i]!r} bpm is not positive")
    hr_t = np.arange(len(hr)) + 0.5
    if len(hr) < 2:
        raise DatasetError(f"{folder / 'gt_HR.csv'}: needs at least 2 HR values (one per second); got {len(hr)}")
    duration = float(len(hr))
    times = folder / "time.txt"
    if times.is_file():
        ft = read_vipl_time_txt(times)
        duration = float(ft[-1] + np.median(np.diff(ft)))
    wave_path = folder / "wave.csv"
    ppg = None
    t = hr_t
    if wave_path.is_file():
        ppg = read_columns(wave_path, {"wave": ("Wave", "bvp", "ppg")})["wave"]
        t = np.linspace(0.0, duration, len(ppg))
        t, ppg = merge_repeated_times(t, ppg)
    return GroundTruth(timestamps_s=t, ppg=ppg, hr_bpm=hr, hr_timestamps_s=hr_t, source=str(folder / "gt_HR.csv"))


class VIPLDataset(Dataset):
    name = "vipl"
    clip_s = 10.0
    hr_source = "hr"
    eval_fs = 30.0
    layout_help = (
        "Expected VIPL-HR layout: ROOT/p<N>/v<M>/source<K>/video.avi + gt_HR.csv (header HR) "
        "[+ wave.csv, time.txt (ms per frame)]."
    )

    def __init__(self, root: str | Path, include_nir: bool = False):
        super().__init__(root)
        self.include_nir = include_nir

    def _scan(self) -> list[Recording]:
        recs = []
        for video in self.root.glob("p*/v*/source*/video.avi"):
            src = video.parent
            m = _SOURCE.match(src.name)
            if not m:
                continue
            if m.group(1) == "4" and not self.include_nir:
                continue
            person, scenario = src.parent.parent.name, src.parent.name
            if not (src / "gt_HR.csv").is_file():
                raise DatasetError(f"{src}: has video.avi but no gt_HR.csv; {self.layout_help}")
            times = src / "time.txt"
            recs.append(
                Recording(
                    name=f"{person}-{scenario}-{src.name}",
                    subject_id=person,
                    video_path=video,
                    gt_path=src,
                    gt_reader=read_vipl_ground_truth,
                    times_path=times if times.is_file() else None,
                    times_reader=read_vipl_time_txt if times.is_file() else None,
                    meta={"scenario": scenario, "source": src.name},
                )
            )
        return recs


__all__ = ["VIPLDataset", "read_vipl_ground_truth", "read_vipl_time_txt"]
