"""Dataset contract: recordings, ground truth, alignment of ground truth to video frames, and the registry.

Time convention (one rule for every loader): ``GroundTruth`` times are **seconds from the first video frame**.
Each loader converts its file's clock to that: PURE and VIPL-HR subtract the first image / frame timestamp of the
same clock; UBFC-rPPG has no shared clock, so its GT timestamps are taken relative to their own first value (the
oximeter log starts with the video; real files start at 0, 1.65, 17.4 or 23.6 s). Video frame times come from
``pseudopulse.io.open_video`` (also 0 at the first frame), so ground truth is aligned to frames by interpolation
on these times — never by assuming the two have equal rates or equal lengths.
"""

from __future__ import annotations

import importlib
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from pseudopulse.errors import DatasetError


@dataclass(frozen=True)
class GroundTruth:
    """Reference signals of one recording.

    ``timestamps_s`` (N,) seconds from the first video frame, strictly increasing, for ``ppg`` (N,) (contact PPG,
    arbitrary units) and, unless ``hr_timestamps_s`` is given, for ``hr_bpm`` (N,). ``hr_timestamps_s`` (M,) is
    the separate time base of ``hr_bpm`` (M,) when the dataset logs HR at its own rate (VIPL-HR: 1 Hz).
    ``source`` names the file the values came from (used in messages).
    """

    timestamps_s: np.ndarray
    ppg: np.ndarray | None = None
    hr_bpm: np.ndarray | None = None
    hr_timestamps_s: np.ndarray | None = None
    source: str = ""

    def __post_init__(self):
        if self.ppg is None and self.hr_bpm is None:
            raise DatasetError(f"{self.source}: ground truth holds neither a PPG wave nor heart rates")
        _check_times(self.timestamps_s, self.source, "timestamps")
        if self.ppg is not None and len(self.ppg) != len(self.timestamps_s):
            raise DatasetError(
                f"{self.source}: {len(self.ppg)} PPG samples but {len(self.timestamps_s)} timestamps; "
                "each PPG sample needs one timestamp"
            )
        if self.hr_bpm is not None:
            hr_t = self.hr_times_s
            _check_times(hr_t, self.source, "HR timestamps")
            if len(self.hr_bpm) != len(hr_t):
                raise DatasetError(f"{self.source}: {len(self.hr_bpm)} HR values but {len(hr_t)} HR timestamps")

    @property
    def hr_times_s(self) -> np.ndarray:
        return self.timestamps_s if self.hr_timestamps_s is None else self.hr_timestamps_s

    def span_s(self) -> tuple[float, float]:
        """(start, end) seconds covered by every series present. A separately timed HR series (``hr_timestamps_s``)
        is sample-and-hold: each value stands for the interval centred on its time, so it covers half an HR
        interval beyond its first and last time."""
        lo, hi = -np.inf, np.inf
        if self.ppg is not None:
            lo, hi = float(self.timestamps_s[0]), float(self.timestamps_s[-1])
        if self.hr_bpm is not None:
            t = self.hr_times_s
            half = 0.5 * float(np.median(np.diff(t))) if self.hr_timestamps_s is not None else 0.0
            lo, hi = max(lo, float(t[0]) - half), min(hi, float(t[-1]) + half)
        return lo, hi


def _check_times(t: np.ndarray, source: str, what: str) -> None:
    t = np.asarray(t)
    if t.ndim != 1 or len(t) < 2:
        raise DatasetError(f"{source}: needs at least 2 {what}; got {t.size}")
    if not np.all(np.isfinite(t)):
        bad = int(np.flatnonzero(~np.isfinite(t))[0])
        raise DatasetError(f"{source}: {what} value #{bad + 1} is not a finite number")
    d = np.diff(t)
    if np.any(d <= 0):
        bad = int(np.flatnonzero(d <= 0)[0])
        raise DatasetError(
            f"{source}: {what} must increase strictly; value #{bad + 2} ({t[bad + 1]!r}) is not after #{bad + 1} "
            f"({t[bad]!r}); fix or remove the repeated sample"
        )


WARN_CUT_S = 0.5


@dataclass(frozen=True)
class AlignedGT:
    """Ground truth resampled onto frame (or evaluation-grid) times ``t_s`` (T,), cut to the overlap."""

    t_s: np.ndarray  # (T,) seconds from the first frame
    ppg: np.ndarray | None  # (T,) or None
    hr_bpm: np.ndarray | None  # (T,) or None
    n_dropped: int  # frames at the end of the video not covered by ground truth


def align_ground_truth(gt: GroundTruth, frame_t_s: np.ndarray, *, recording: str = "") -> AlignedGT:
    """Linearly interpolate ``gt`` onto ``frame_t_s`` (seconds from the first frame).

    Frames after the end of the ground truth are cut (with a warning naming the recording when more than
    ``WARN_CUT_S`` = 0.5 s is lost: clocks of video and oximeter differ by a few frames in every real recording);
    frames before its start would need extrapolation and are cut too.
    Raises ``DatasetError`` when the two do not overlap at all.
    """
    t = np.asarray(frame_t_s, dtype=np.float64)
    if len(t) < 2:
        raise DatasetError(f"{recording}: video has {len(t)} frame(s); nothing to align ground truth to")
    dt = float(np.median(np.diff(t)))
    lo, hi = gt.span_s()
    # half a frame of tolerance at both ends: hold the edge value over that sliver
    keep = (t >= lo - 0.5 * dt) & (t <= hi + 0.5 * dt)
    if keep.sum() < 2:
        raise DatasetError(
            f"{recording}: ground truth ({gt.source}) covers {lo:.2f}–{hi:.2f} s but the video covers "
            f"{t[0]:.2f}–{t[-1]:.2f} s from its first frame; they do not overlap"
        )
    n_dropped = int(np.sum(t > hi + 0.5 * dt))
    if t[-1] - hi > max(WARN_CUT_S, 1.5 * dt):
        warnings.warn(
            f"{recording}: ground truth ({gt.source}) ends at {hi:.2f} s but the video runs to {t[-1]:.2f} s; "
            f"evaluating only the {hi - max(lo, t[0]):.2f} s they overlap ({n_dropped} frames cut)",
            stacklevel=2,
        )
    tk = t[keep]
    ppg = None if gt.ppg is None else np.interp(tk, gt.timestamps_s, np.asarray(gt.ppg, dtype=np.float64))
    hr = None if gt.hr_bpm is None else np.interp(tk, gt.hr_times_s, np.asarray(gt.hr_bpm, dtype=np.float64))
    return AlignedGT(t_s=tk, ppg=ppg, hr_bpm=hr, n_dropped=n_dropped)


@dataclass(frozen=True)
class Recording:
    """One video of a dataset and how to read its ground truth.

    ``video_path`` is a video file or an image-frame folder (PURE). ``gt_reader(gt_path) -> GroundTruth`` and
    ``times_reader(times_path) -> timestamps (s, from the first frame)`` are module-level functions (so a
    Recording pickles into worker processes). ``fps`` (Hz) overrides the video's clock when neither the container
    nor a timestamp file can be trusted. ``group`` is a dataset-defined subset tag (V4V: train/valid/test).
    """

    name: str
    subject_id: str
    video_path: Path
    gt_path: Path
    gt_reader: Callable[[Path], GroundTruth]
    times_path: Path | None = None
    times_reader: Callable[[Path], np.ndarray] | None = None
    fps: float | None = None
    group: str = ""
    meta: dict = field(default_factory=dict)

    def ground_truth(self) -> GroundTruth:
        """Read the ground truth (raises ``DatasetError`` naming the file and line when malformed)."""
        return self.gt_reader(self.gt_path)

    def frame_timestamps(self) -> np.ndarray | None:
        """Per-frame times (s, 0 at the first frame) from the dataset's timestamp file, or None to use the
        video container's own timestamps."""
        if self.times_reader is None or self.times_path is None:
            return None
        return self.times_reader(self.times_path)


@dataclass(frozen=True)
class Clip:
    """A time window [start_s, end_s) of a recording; samples [start, stop) of its evaluation grid."""

    recording: str
    subject_id: str
    index: int
    start_s: float
    end_s: float
    start: int
    stop: int


class Dataset:
    """Base class of a dataset adapter: validates the layout in ``__init__`` and lists recordings.

    Class attributes: ``name``; ``clip_s`` (paper's clip length, s); ``hr_source`` — "ppg" (GT HR per clip from
    the GT PPG with the same routine as the prediction) or "hr" (mean of the dataset's HR values over the clip);
    ``eval_fs`` — rate (Hz) every recording is resampled to before prediction (None: keep the video's rate
    unless its frame times are irregular); ``frame_level`` — report V4V-style frame-wise HR metrics too.
    """

    name: str = "dataset"
    clip_s: float = 10.0
    hr_source: str = "ppg"
    eval_fs: float | None = None
    frame_level: bool = False
    layout_help: str = ""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        if not self.root.is_dir():
            raise DatasetError(f"{self.root}: dataset root folder does not exist. {self.layout_help}")
        self._recordings: list[Recording] | None = None

    def recordings(self) -> list[Recording]:
        """All recordings, sorted by name (cached after the first scan)."""
        if self._recordings is None:
            recs = sorted(self._scan(), key=lambda r: natural_key(r.name))
            if not recs:
                raise DatasetError(f"{self.root}: no {self.name} recordings found. {self.layout_help}")
            self._recordings = recs
        return list(self._recordings)

    def _scan(self) -> list[Recording]:  # pragma: no cover - abstract
        raise NotImplementedError

    def recording(self, name: str) -> Recording:
        for r in self.recordings():
            if r.name == name:
                return r
        raise DatasetError(f"{self.root}: no recording named {name!r} in this {self.name} dataset")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(root={str(self.root)!r})"


def merge_repeated_times(t: np.ndarray, *series: np.ndarray | None) -> tuple[np.ndarray, ...]:
    """Collapse runs of equal timestamps (loggers with ms resolution repeat them) into one sample holding the
    mean of each series. ``t`` must be non-decreasing. Returns ``(t_unique, *series_merged)`` (None stays None)."""
    t = np.asarray(t, dtype=np.float64)
    uniq, inverse, counts = np.unique(t, return_inverse=True, return_counts=True)
    if len(uniq) == len(t):
        return (t, *series)
    out = []
    for s in series:
        if s is None:
            out.append(None)
            continue
        sums = np.zeros(len(uniq))
        np.add.at(sums, inverse, np.asarray(s, dtype=np.float64))
        out.append(sums / counts)
    return (uniq, *out)


def spread_repeated_times(t: np.ndarray) -> np.ndarray:
    """Make non-decreasing per-sample times strictly increasing by spreading each run of equal values evenly up
    to the next distinct value (loggers with ms resolution repeat stamps; each sample is still its own frame).
    A run at the very end is spread by the median interval."""
    t = np.asarray(t, dtype=np.float64).copy()
    if len(t) < 2:
        return t
    step = float(np.median(np.diff(t)[np.diff(t) > 0])) if np.any(np.diff(t) > 0) else 1.0
    i = 0
    while i < len(t):
        j = i
        while j + 1 < len(t) and t[j + 1] == t[i]:
            j += 1
        if j > i:
            nxt = t[j + 1] if j + 1 < len(t) else t[i] + (j - i + 1) * step
            t[i : j + 1] = t[i] + (nxt - t[i]) * np.arange(j - i + 1) / (j - i + 1)
        i = j + 1
    return t


def natural_key(s: str):
    """Sort key that orders 'subject9' before 'subject10'."""
    import re

    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", s)]


# ---------------------------------------------------------------------------------------------- registry
DATASETS: dict[str, str] = {
    "ubfc": "pseudopulse.datasets.ubfc:UBFCDataset",
    "pure": "pseudopulse.datasets.pure:PUREDataset",
    "vipl": "pseudopulse.datasets.vipl:VIPLDataset",
    "v4v": "pseudopulse.datasets.v4v:V4VDataset",
    "folder": "pseudopulse.datasets.folder:FolderDataset",
}
ALIASES = {"ubfc-rppg": "ubfc", "ubfc_rppg": "ubfc", "vipl-hr": "vipl", "vipl_hr": "vipl"}


def dataset_class(name: str) -> type[Dataset]:
    key = ALIASES.get(name.lower(), name.lower())
    if key not in DATASETS:
        raise DatasetError(f"unknown dataset {name!r}; valid names: {', '.join(DATASETS)} (or a folder path)")
    module, cls = DATASETS[key].split(":")
    return getattr(importlib.import_module(module), cls)


def get_dataset(name_or_path: str | Path, root: str | Path | None = None) -> Dataset:
    """A dataset adapter by registry name (``ubfc``, ``pure``, ``vipl``, ``v4v``, ``folder``) with its ``root``,
    or a folder path whose layout is detected (UBFC layout with any subject names, PURE, VIPL-HR, else the generic
    video + CSV folder)."""
    key = ALIASES.get(str(name_or_path).lower(), str(name_or_path).lower())
    if key in DATASETS:
        if root is None:
            raise DatasetError(f"dataset {name_or_path!r} needs its root folder (--root PATH)")
        return dataset_class(key)(root)
    path = Path(name_or_path)
    if not path.is_dir():
        raise DatasetError(
            f"{name_or_path!r} is neither a dataset name ({', '.join(DATASETS)}) nor an existing folder"
        )
    if root is not None and Path(root).resolve() != path.resolve():
        raise DatasetError(f"--dataset is the folder {path} but --root is {root}; give one of them")
    return detect_layout(path)(path)


def detect_layout(path: Path) -> type[Dataset]:
    """The adapter class whose documented layout ``path`` has."""
    subs = [p for p in path.iterdir() if p.is_dir()]
    if any((p / "ground_truth.txt").is_file() for p in subs):
        return dataset_class("ubfc")
    if any((path / f"{p.name}.json").is_file() or (p / f"{p.name}.json").is_file() for p in subs):
        return dataset_class("pure")
    if any(p.name.startswith("p") and any(v.is_dir() and v.name.startswith("v") for v in p.iterdir()) for p in subs):
        vipl = dataset_class("vipl")
        if any(path.glob("p*/v*/source*/video.avi")):
            return vipl
    return dataset_class("folder")
