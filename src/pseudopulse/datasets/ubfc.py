"""UBFC-rPPG DATASET_2 (Bobbia et al. 2019).

Layout: ``ROOT/<subject>/vid.avi`` (or ``vid.mp4`` etc.) + ``ROOT/<subject>/ground_truth.txt``; subjects are
usually ``subject1`` … ``subject49`` but any folder names are accepted. ``ground_truth.txt`` has three lines of
whitespace-separated numbers, one value per video frame: line 1 = PPG (CMS50E oximeter), line 2 = HR (bpm, from
the oximeter), line 3 = timestamps (s). GT HR per clip is computed from the PPG line with the same routine as the
prediction (the paper's protocol), so a garbage HR line (real subject20) does not matter; an unreadable or
implausible HR line is dropped with a warning. Timestamps are made relative to their first value (they start
at 17–24 s in some real files); repeated timestamps (ms logging) are spread evenly to the next distinct one.

Frame times: line 3 is the capture time of each video frame (one PPG sample per frame), and capture is
irregular — intervals vary by ~10 ms and real files have gaps of up to 0.9 s that the video container's constant
frame rate hides. So the recording's frame timestamps are taken from line 3 as well: video frame i and PPG
sample i share one clock, sample-exact.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np

from pseudopulse.datasets.base import Dataset, GroundTruth, Recording, spread_repeated_times
from pseudopulse.datasets.parse import check_increasing, parse_floats, read_text
from pseudopulse.errors import DatasetError

VIDEO_NAMES = ("vid.avi", "vid.mp4", "vid.mkv", "vid.mov")
PLAUSIBLE_HR_BPM = (30.0, 240.0)


def read_ubfc_ground_truth(path: Path) -> GroundTruth:
    """Parse a DATASET_2 ``ground_truth.txt`` (PPG / HR / timestamps lines) into a ``GroundTruth``."""
    path = Path(path)
    lines = read_text(path).splitlines()
    nonblank = [(i + 1, ln) for i, ln in enumerate(lines) if ln.strip()]
    if len(nonblank) < 3:
        raise DatasetError(
            f"{path}: has {len(nonblank)} non-empty line(s); UBFC DATASET_2 ground truth needs 3 "
            "(line 1 PPG, line 2 HR in bpm, line 3 timestamps in s)"
        )
    (l_ppg, s_ppg), (l_hr, s_hr), (l_t, s_t) = nonblank[:3]
    ppg = parse_floats(s_ppg, path, l_ppg, "PPG")
    t = parse_floats(s_t, path, l_t, "timestamp")
    if len(ppg) != len(t):
        raise DatasetError(
            f"{path}: line {l_ppg} has {len(ppg)} PPG values but line {l_t} has {len(t)} timestamps; "
            "they must be equal (one of each per video frame)"
        )
    check_increasing(t, path, "timestamps", first_line=l_t, one_line=True)
    hr = _read_hr_line(s_hr, path, l_hr, len(t))
    t = spread_repeated_times(t - t[0])
    return GroundTruth(timestamps_s=t, ppg=ppg, hr_bpm=hr, source=str(path))


def read_ubfc_frame_times(path: Path) -> np.ndarray:
    """Capture time of each video frame (s, 0 at the first frame) from line 3 of ``ground_truth.txt``.

    Reads the timestamp line only: label-free training uses frame times but must never read the PPG/HR labels."""
    path = Path(path)
    nonblank = [(i + 1, ln) for i, ln in enumerate(read_text(path).splitlines()) if ln.strip()]
    if len(nonblank) < 3:
        raise DatasetError(f"{path}: has {len(nonblank)} non-empty line(s); line 3 (frame timestamps in s) is missing")
    lineno, text = nonblank[2]
    t = parse_floats(text, path, lineno, "timestamp")
    check_increasing(t, path, "timestamps", first_line=lineno, one_line=True)
    return spread_repeated_times(t - t[0])


def _read_hr_line(text: str, path: Path, lineno: int, n: int) -> np.ndarray | None:
    try:
        hr = parse_floats(text, path, lineno, "HR")
    except DatasetError as e:
        warnings.warn(f"{e}; ignoring the HR line (GT heart rate comes from the PPG line)", stacklevel=3)
        return None
    med = float(np.median(hr))
    if len(hr) != n:
        warnings.warn(
            f"{path}, line {lineno}: {len(hr)} HR values for {n} timestamps; ignoring the HR line "
            "(GT heart rate comes from the PPG line)",
            stacklevel=3,
        )
        return None
    if not PLAUSIBLE_HR_BPM[0] <= med <= PLAUSIBLE_HR_BPM[1]:
        warnings.warn(
            f"{path}, line {lineno}: HR line has median {med:.1f} bpm (outside {PLAUSIBLE_HR_BPM} bpm); ignoring it "
            "(GT heart rate comes from the PPG line)",
            stacklevel=3,
        )
        return None
    return hr


def subject_id(folder_name: str) -> str:
    """'subject12' -> '12'; any other folder name is its own subject id."""
    m = re.fullmatch(r"subject[_-]?0*(\d+)", folder_name, flags=re.IGNORECASE)
    return m.group(1) if m else folder_name


class UBFCDataset(Dataset):
    name = "ubfc"
    clip_s = 10.0
    hr_source = "ppg"
    layout_help = (
        "Expected UBFC-rPPG DATASET_2 layout: ROOT/<subject>/vid.avi (or vid.mp4) and ROOT/<subject>/ground_truth.txt."
    )

    def _scan(self) -> list[Recording]:
        recs = []
        for sub in sorted(p for p in self.root.iterdir() if p.is_dir()):
            gt = sub / "ground_truth.txt"
            video = next((sub / v for v in VIDEO_NAMES if (sub / v).is_file()), None)
            if video is None and gt.is_file():
                raise DatasetError(
                    f"{sub}: has ground_truth.txt but no video ({' or '.join(VIDEO_NAMES)}); add the video or remove the folder"
                )
            if video is None:
                continue
            if not gt.is_file():
                raise DatasetError(f"{sub}: has {video.name} but no ground_truth.txt; {self.layout_help}")
            recs.append(
                Recording(
                    name=sub.name,
                    subject_id=subject_id(sub.name),
                    video_path=video,
                    gt_path=gt,
                    gt_reader=read_ubfc_ground_truth,
                    times_path=gt,
                    times_reader=read_ubfc_frame_times,
                )
            )
        return recs
