"""PURE (Stricker et al. 2014).

Layout: a sequence ``NN-MM`` (subject NN 01–10, setup MM 01–06) is a folder of lossless PNG frames named
``Image<ns>.png`` plus ``NN-MM.json``. Both the flat layout (``ROOT/NN-MM/*.png`` + ``ROOT/NN-MM.json``) and the
release/rPPG-Toolbox layout (``ROOT/NN-MM/NN-MM/*.png`` + ``ROOT/NN-MM/NN-MM.json``) are accepted.
JSON: ``"/FullPackage"``: list of ``{"Timestamp": ns, "Value": {"waveform", "pulseRate", "o2saturation",
"signalStrength"}}`` at 60 Hz (pulse oximeter); ``"/Image"``: list of ``{"Timestamp": ns}``, one per frame.
Both clocks are the same nanosecond clock, so frame times and GT times are taken relative to the first image
timestamp and the 60-Hz PPG is interpolated onto the ~30-fps frame times.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from pseudopulse.datasets.base import Dataset, GroundTruth, Recording, merge_repeated_times
from pseudopulse.datasets.parse import read_text
from pseudopulse.errors import DatasetError

_NAME = re.compile(r"^(\d{2})-(\d{2})$")


def _load_json(path: Path) -> dict:
    text = read_text(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise DatasetError(f"{path}, line {e.lineno}: not valid JSON ({e.msg}); re-download the file") from None
    if not isinstance(data, dict):
        raise DatasetError(f"{path}: top level must be a JSON object with '/FullPackage' and '/Image'")
    return data


def _entries(data: dict, key: str, path: Path) -> list:
    if key not in data or not isinstance(data[key], list) or not data[key]:
        raise DatasetError(f"{path}: missing or empty {key!r} list (PURE JSON needs '/FullPackage' and '/Image')")
    return data[key]


def _timestamp_ns(entry, path: Path, key: str, i: int) -> int:
    try:
        return int(entry["Timestamp"])
    except (KeyError, TypeError, ValueError):
        raise DatasetError(f"{path}: {key}[{i}] has no integer 'Timestamp' (ns); got {entry!r:.80}") from None


def _image_ns(data: dict, path: Path) -> np.ndarray:
    imgs = _entries(data, "/Image", path)
    ns = np.array([_timestamp_ns(e, path, "/Image", i) for i, e in enumerate(imgs)], dtype=np.int64)
    d = np.diff(ns)
    if np.any(d <= 0):
        i = int(np.flatnonzero(d <= 0)[0]) + 1
        raise DatasetError(f"{path}: /Image[{i}] Timestamp {ns[i]} is not after /Image[{i - 1}] ({ns[i - 1]})")
    return ns


def read_pure_frame_times(path: Path) -> np.ndarray:
    """Frame times (s from the first frame) from the ``/Image`` list of a PURE JSON."""
    ns = _image_ns(_load_json(Path(path)), Path(path))
    return (ns - ns[0]) / 1e9


def read_pure_ground_truth(path: Path) -> GroundTruth:
    """60-Hz pulse wave and pulse rate of a PURE JSON, timed from the first image (s)."""
    path = Path(path)
    data = _load_json(path)
    t0 = _image_ns(data, path)[0]
    pkgs = _entries(data, "/FullPackage", path)
    ns = np.empty(len(pkgs), dtype=np.int64)
    wave = np.empty(len(pkgs))
    rate = np.empty(len(pkgs))
    for i, e in enumerate(pkgs):
        ns[i] = _timestamp_ns(e, path, "/FullPackage", i)
        try:
            v = e["Value"]
            wave[i] = float(v["waveform"])
            rate[i] = float(v["pulseRate"])
        except (KeyError, TypeError, ValueError):
            raise DatasetError(
                f"{path}: /FullPackage[{i}] needs 'Value' with numeric 'waveform' and 'pulseRate'; got {e!r:.120}"
            ) from None
    if np.any(np.diff(ns) < 0):
        i = int(np.flatnonzero(np.diff(ns) < 0)[0]) + 1
        raise DatasetError(f"{path}: /FullPackage[{i}] Timestamp {ns[i]} goes back before entry {i - 1} ({ns[i - 1]})")
    t, wave, rate = merge_repeated_times((ns - t0) / 1e9, wave, rate)
    return GroundTruth(timestamps_s=t, ppg=wave, hr_bpm=rate, source=str(path))


class PUREDataset(Dataset):
    name = "pure"
    clip_s = 10.0
    hr_source = "ppg"
    layout_help = (
        "Expected PURE layout: ROOT/NN-MM/ (PNG frames Image<ns>.png) + ROOT/NN-MM.json, "
        "or ROOT/NN-MM/NN-MM/ + ROOT/NN-MM/NN-MM.json."
    )

    def _scan(self) -> list[Recording]:
        recs = []
        for d in sorted(p for p in self.root.iterdir() if p.is_dir() and _NAME.match(p.name)):
            nested_frames, nested_json = d / d.name, d / f"{d.name}.json"
            flat_json = self.root / f"{d.name}.json"
            if nested_frames.is_dir() and nested_json.is_file():
                frames, js = nested_frames, nested_json
            elif flat_json.is_file():
                frames, js = d, flat_json
            elif nested_json.is_file():
                raise DatasetError(f"{d}: has {nested_json.name} but no frame folder {nested_frames}")
            else:
                raise DatasetError(f"{d}: no {d.name}.json beside or inside it; {self.layout_help}")
            if not any(frames.glob("*.png")):
                raise DatasetError(f"{frames}: holds no PNG frames; {self.layout_help}")
            recs.append(
                Recording(
                    name=d.name,
                    subject_id=_NAME.match(d.name).group(1),
                    video_path=frames,
                    gt_path=js,
                    gt_reader=read_pure_ground_truth,
                    times_path=js,
                    times_reader=read_pure_frame_times,
                    meta={"setup": _NAME.match(d.name).group(2)},
                )
            )
        return recs
