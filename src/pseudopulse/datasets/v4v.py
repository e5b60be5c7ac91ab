"""V4V challenge data (Revanur et al., ICCV-W 2021; derived from BP4D+).

Layout (as released): videos ``F001_T1.mkv`` at 25 fps anywhere under ROOT, e.g.
``Phase 1_ Training_Validation sets/Videos/train-001_of_002/`` (+ ``valid/``) and ``Phase 2_ Testing set/Videos/Test/``.
Labels are text lines ``F001_T1.mkv, HR, v1, v2, ...`` (one HR value in bpm per video frame; ``RR`` lines are
ignored), found in ``Ground truth/Physiology/*.txt``, ``validation_set_gt_release.txt`` and
``test_set_gt_release.txt``; a per-video file ``F001-T1-HR.txt`` with one value per line is accepted too.
``BP_raw_1KHz`` folders are not read. The subset (train / valid / test) is taken from the video's folder name.

Label i belongs to frame i, so label times are i / 25 s (the dataset's stated label rate); they are aligned to
the video's own frame times like every other dataset. GT HR per 5-s clip = mean of the frame labels; V4V is also
scored frame-wise (each frame gets its clip's HR).
"""

from __future__ import annotations

import functools
import re
import warnings
from pathlib import Path

import numpy as np

from pseudopulse.datasets.base import Dataset, GroundTruth, Recording
from pseudopulse.datasets.parse import parse_floats, read_text
from pseudopulse.errors import DatasetError
from pseudopulse.io import VIDEO_SUFFIXES

V4V_LABEL_FPS = 25.0
_VIDEO = re.compile(r"^(F|M)\d{3}[_-]T\d+$", re.IGNORECASE)


def _key(name: str) -> str:
    """'F001_T1.mkv' / 'F001-T1' -> 'F001_T1'."""
    stem = Path(name.strip().strip('"')).stem if "." in name else name.strip().strip('"')
    return stem.replace("-", "_").upper()


def read_v4v_hr(path: Path, *, video: str) -> GroundTruth:
    """Per-frame HR (bpm) of ``video`` from a V4V label file (``name, HR, ...`` lines, or one value per line)."""
    path = Path(path)
    lines = read_text(path).splitlines()
    want = _key(video)
    hr = None
    for i, ln in enumerate(lines, start=1):
        parts = ln.split(",", 2)
        if len(parts) == 3 and parts[1].strip().upper() == "HR" and _key(parts[0]) == want:
            hr = parse_floats(parts[2], path, i, f"{video} HR")
            break
    if hr is None:
        nonblank = [(i, ln) for i, ln in enumerate(lines, start=1) if ln.strip()]
        if nonblank and all("," not in ln for _, ln in nonblank):
            hr = np.concatenate([parse_floats(ln, path, i, "HR") for i, ln in nonblank])
        else:
            raise DatasetError(f"{path}: no '{want}, HR, ...' line; the label file does not cover video {video}")
    if len(hr) < 2:
        raise DatasetError(f"{path}: {video} has {len(hr)} HR label(s); need one per frame")
    if np.any(hr <= 0):
        raise DatasetError(f"{path}: {video} HR label #{int(np.flatnonzero(hr <= 0)[0]) + 1} is not a positive bpm value")
    t = np.arange(len(hr)) / V4V_LABEL_FPS
    return GroundTruth(timestamps_s=t, hr_bpm=hr, source=f"{path} ({video})")


def _group(video: Path) -> str:
    for part in reversed(video.parent.parts):
        p = part.lower()
        if p.startswith("train"):
            return "train"
        if p.startswith("val"):
            return "valid"
        if p.startswith("test"):
            return "test"
    return ""


class V4VDataset(Dataset):
    name = "v4v"
    clip_s = 5.0
    hr_source = "hr"
    frame_level = True
    layout_help = (
        "Expected V4V layout: videos F001_T1.mkv under ROOT (Videos/train-*/, valid/, Test/) and label text files "
        "with lines 'F001_T1.mkv, HR, v1, v2, ...' (Ground truth/Physiology/*.txt, *_gt_release.txt)."
    )

    def _label_index(self) -> dict[str, Path]:
        index: dict[str, Path] = {}
        for txt in self.root.rglob("*.txt"):
            if any(p.lower().startswith("bp_raw") for p in txt.parts) or txt.name.lower() == "template.txt":
                continue
            m = re.match(r"^([FM]\d{3})[-_](T\d+)[-_]HR$", txt.stem, re.IGNORECASE)
            if m:
                index.setdefault(f"{m.group(1)}_{m.group(2)}".upper(), txt)
                continue
            try:
                text = read_text(txt)
            except DatasetError:
                continue
            for ln in text.splitlines():
                parts = ln.split(",", 2)
                if len(parts) == 3 and parts[1].strip().upper() == "HR":
                    index.setdefault(_key(parts[0]), txt)
        return index

    def _scan(self) -> list[Recording]:
        videos = [p for p in self.root.rglob("*") if p.suffix.lower() in VIDEO_SUFFIXES and _VIDEO.match(p.stem)]
        if not videos:
            return []
        labels = self._label_index()
        recs, missing = [], []
        for v in videos:
            key = _key(v.name)
            if key not in labels:
                missing.append(v.name)
                continue
            recs.append(
                Recording(
                    name=key,
                    subject_id=key.split("_")[0],
                    video_path=v,
                    gt_path=labels[key],
                    gt_reader=functools.partial(read_v4v_hr, video=v.name),
                    group=_group(v),
                    meta={"task": key.split("_")[1]},
                )
            )
        if missing and not recs:
            raise DatasetError(
                f"{self.root}: found {len(missing)} V4V videos (e.g. {missing[0]}) but no HR label line for any; "
                f"{self.layout_help}"
            )
        if missing:
            warnings.warn(
                f"{self.root}: {len(missing)} V4V video(s) have no HR labels and are skipped (e.g. {', '.join(missing[:3])})",
                stacklevel=2,
            )
        return recs
