"""Generic folder: ``ROOT/<name>.<video>`` beside ``ROOT/<name>.csv`` holding the reference.

The CSV has a header line; columns (case-insensitive): a time column ``time_s`` / ``time`` / ``t`` (seconds) or
``time_ms`` (milliseconds), counted from the first video frame, plus ``ppg`` (aliases ``bvp``, ``wave``) and/or
``hr`` (aliases ``hr_bpm``, ``heart_rate``). GT HR per clip comes from the PPG when present (same routine as the
prediction), else from the mean of the HR column over the clip. Repeated timestamps are merged (mean).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pseudopulse.datasets.base import Dataset, GroundTruth, Recording, merge_repeated_times
from pseudopulse.datasets.parse import check_increasing, read_columns
from pseudopulse.errors import DatasetError
from pseudopulse.io import VIDEO_SUFFIXES

TIME_S = ("time_s", "time", "t", "timestamp_s", "seconds")
TIME_MS = ("time_ms", "timestamp_ms")
PPG = ("ppg", "bvp", "wave", "pulse")
HR = ("hr", "hr_bpm", "heart_rate", "bpm")


def read_folder_csv(path: Path) -> GroundTruth:
    """Read a ``(time, ppg)`` / ``(time, hr)`` / ``(time, ppg, hr)`` CSV into a ``GroundTruth``."""
    path = Path(path)
    cols = read_columns(path, {"t_s": TIME_S, "t_ms": TIME_MS, "ppg": PPG, "hr": HR}, optional=("t_s", "t_ms", "ppg", "hr"))
    if "t_s" in cols:
        t = cols["t_s"]
    elif "t_ms" in cols:
        t = cols["t_ms"] / 1000.0
    else:
        raise DatasetError(
            f"{path}, line 1: header has no time column (expected one of: {', '.join(TIME_S + TIME_MS)}; "
            "seconds unless named *_ms)"
        )
    if "ppg" not in cols and "hr" not in cols:
        raise DatasetError(f"{path}, line 1: header has neither a PPG column ({', '.join(PPG)}) nor an HR column ({', '.join(HR)})")
    check_increasing(t, path, "times", first_line=2)
    ppg, hr = cols.get("ppg"), cols.get("hr")
    if hr is not None and np.any(hr <= 0):
        raise DatasetError(f"{path}, line {int(np.flatnonzero(hr <= 0)[0]) + 2}: HR must be a positive number of bpm")
    t, ppg, hr = merge_repeated_times(t, ppg, hr)
    return GroundTruth(timestamps_s=t, ppg=ppg, hr_bpm=hr, source=str(path))


class FolderDataset(Dataset):
    name = "folder"
    clip_s = 10.0
    hr_source = "auto"
    layout_help = "Expected folder layout: ROOT/<name>.mp4 (or another video) beside ROOT/<name>.csv headed time_s,ppg or time_s,hr."

    def _scan(self) -> list[Recording]:
        videos = sorted(p for p in self.root.iterdir() if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES)
        return [self._recording(v) for v in videos]

    def _recording(self, video: Path) -> Recording:
        """The recording of one video and the CSV of the same name beside it."""
        csv = video.with_suffix(".csv")
        if not csv.is_file():
            raise DatasetError(f"{video}: no ground-truth file {csv.name} beside it; {self.layout_help}")
        return Recording(name=video.stem, subject_id=video.stem, video_path=video, gt_path=csv, gt_reader=read_folder_csv)
