"""Write synthetic subjects in the UBFC-rPPG DATASET_2 layout: ``root/<name>/vid.avi`` + ``ground_truth.txt``.

``ground_truth.txt`` matches the real files byte for byte in format (MATLAB ``save -ascii``): three lines, each
value written as ``%16.7e`` (two spaces before a negative number, three before a positive one), ``\\n`` line ends.
Line 1 = PPG wave per video frame, line 2 = heart rate (bpm) per frame, line 3 = timestamps (s) per frame.
Read it back with ``pseudopulse.datasets.ubfc.read_ubfc_ground_truth`` / ``UBFCDataset``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from pseudopulse.io.atomic import atomic_write_text
from pseudopulse.synth.config import SynthConfig, SynthConfigError
from pseudopulse.synth.render import render

VIDEO_NAME = "vid.avi"
GT_NAME = "ground_truth.txt"


def format_ground_truth(ppg: np.ndarray, hr_bpm: np.ndarray, timestamps_s: np.ndarray) -> str:
    """The three-line UBFC DATASET_2 text for equal-length (T,) arrays."""
    rows = [np.asarray(a, dtype=np.float64).ravel() for a in (ppg, hr_bpm, timestamps_s)]
    if len({len(r) for r in rows}) != 1 or len(rows[0]) == 0:
        raise SynthConfigError(f"ground truth rows must be non-empty and equal length; got {[len(r) for r in rows]}")
    return "".join("".join("%16.7e" % v for v in r) + "\n" for r in rows)


def write_ubfc_subject(root: str | Path, name: str, config: SynthConfig) -> Path:
    """Render ``config`` as subject ``name`` under ``root`` (``vid.avi`` + ``ground_truth.txt``); returns the folder."""
    if not name or Path(name).name != name or name in (".", ".."):
        raise SynthConfigError(f"subject name {name!r} must be a plain folder name, e.g. 'subject1'")
    folder = Path(root) / name
    folder.mkdir(parents=True, exist_ok=True)
    result = render(config, folder / VIDEO_NAME)
    atomic_write_text(folder / GT_NAME, format_ground_truth(result.ppg, result.hr_bpm, result.timestamps_s))
    return folder


def write_ubfc_dataset(
    root: str | Path, configs: Sequence[SynthConfig], names: Sequence[str] | None = None
) -> list[Path]:
    """Write one UBFC subject per config (names default to ``subject1``, ``subject2``, ...); returns the folders."""
    configs = list(configs)
    names = [f"subject{i + 1}" for i in range(len(configs))] if names is None else list(names)
    if len(names) != len(configs):
        raise SynthConfigError(f"{len(names)} names for {len(configs)} configs; pass one name per config")
    if len(set(names)) != len(names):
        raise SynthConfigError("subject names must be unique")
    return [write_ubfc_subject(root, n, c) for n, c in zip(names, configs)]


__all__ = ["GT_NAME", "VIDEO_NAME", "format_ground_truth", "write_ubfc_dataset",
           "write_ubfc_subject"]
