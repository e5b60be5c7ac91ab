"""Training data: cached STMaps + cached 2SR pseudo labels cut into clip windows.

Label-free by construction: a ``TrainSource`` carries an optional ``load_gt`` callable, and
``prepare_recordings`` calls it **only** when ``supervised=True``. ``ClipDataset`` batches hold no ``gt`` key
unless the dataset was built supervised, so the label-free trainer cannot see ground truth.

Each video is read once: ``extract_stmap`` caches the STMap, and the training cache
(``train-<key>.npz``: STMap values resampled to ``fs`` plus the 2SR pseudo wave) is reused by every epoch and run.

Big corpora stream: ``prepare_recordings(..., stream=True)`` keeps only ``CachedRecording`` handles (name, length,
cache file) and ``ClipDataset`` loads a recording from its cache file when a batch needs it, holding at most
``max_loaded`` recordings in memory (an LRU); batches are identical to the in-memory ones.
"""

from __future__ import annotations

import functools
import hashlib
import json
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from pseudopulse.errors import DatasetError, PseudopulseError, SignalError
from pseudopulse.io import VIDEO_SUFFIXES, atomic_path
from pseudopulse.stmap import STMap
from pseudopulse.synth.config import SYNTH_TRAIN_SIZE

TRAIN_CACHE_VERSION = 1
PSEUDO_BAND_HZ = (0.7, 3.5)  # band-pass of the 2SR pseudo wave (docs/design.md, "Pseudo labels")
FLAT_PSEUDO_BAND_HZ = (0.4, 4.0)  # pseudo_filter="flat"
MAX_GAP_S = 2.0  # longer face losses make a recording unusable for training (it is skipped and reported)



@dataclass(frozen=True)
class TrainSource:
    """One recording to train on. ``load_stmap() -> STMap``; ``load_gt() -> (t_s (N,), ppg (N,))`` seconds from the
    first frame, or None (unlabeled). ``key`` identifies the content for the cache (e.g. path + size + mtime)."""

    name: str
    key: str
    load_stmap: Callable[[], STMap]
    load_gt: Callable[[], tuple[np.ndarray, np.ndarray]] | None = None


@dataclass(frozen=True)
class TrainRecording:
    """A recording ready for clipping: ``values`` (T, R, 3) float32 at ``fs`` Hz, ``pseudo`` (T,) float32 2SR wave,
    ``gt`` (T,) float32 PPG only when built supervised."""

    name: str
    fs: float
    values: np.ndarray
    pseudo: np.ndarray
    gt: np.ndarray | None = None

    @property
    def n_frames(self) -> int:
        return int(len(self.values))

    @property
    def n_rois(self) -> int:
        return int(self.values.shape[1])

    @property
    def has_gt(self) -> bool:
        return self.gt is not None


@dataclass(frozen=True)
class CachedRecording:
    """A prepared recording left in its training-cache ``file`` (``n_frames`` frames of ``n_rois`` ROIs at ``fs``
    Hz) until ``load()`` reads it back as a ``TrainRecording`` (with the GT of ``source`` when ``has_gt``)."""

    name: str
    fs: float
    file: Path
    n_frames: int
    n_rois: int
    source: TrainSource
    has_gt: bool = False

    def load(self) -> TrainRecording:
        with np.load(self.file) as d:
            values, pseudo = d["values"].astype(np.float32), d["pseudo"].astype(np.float32)
        gt = _load_gt(self.source, len(values), self.fs) if self.has_gt else None
        return TrainRecording(name=self.name, fs=self.fs, values=values, pseudo=pseudo, gt=gt)


# ---------------------------------------------------------------------------------------------- pseudo labels
def pseudo_label(stmap: STMap, method: str = "2sr", pseudo_filter: str = "readout") -> np.ndarray:
    """Pseudo pulse wave of a uniformly sampled STMap (T,), from the whole recording. ``pseudo_filter`` "readout":
    the ``method`` (2SR) wave detrended (λ = 100 at 30 Hz) and band-passed 0.7–3.5 Hz like every read-out wave;
    "flat": a gentler detrend (λ = 1600, cut-off halved) and 0.4–4 Hz band-pass, so 45–60-bpm fundamentals keep
    > 90 % of their power against their harmonics; "pos-track": the POS wave kept only near the
    rate of its Viterbi HR track over the whole recording (``track_masked``) — a teacher with the recording's
    context, which a 10-s span of the wave alone does not have."""
    from pseudopulse.methods import get_method
    from pseudopulse.signal import clean_wave

    if pseudo_filter == "pos-track":
        return track_masked(get_method("pos").apply(stmap), stmap.fs).astype(np.float32)
    wave = get_method(method).apply(stmap)
    if pseudo_filter == "flat":
        return clean_wave(wave, stmap.fs, FLAT_PSEUDO_BAND_HZ, detrend_lambda=1600.0).astype(np.float32)
    return clean_wave(wave, stmap.fs, PSEUDO_BAND_HZ).astype(np.float32)


TRACK_WINDOW_S = 10.0  # window and hop (s) of the HR track and of the short-time spectrum of ``track_masked``
TRACK_HOP_S = 1.0
TRACK_KEEP_BPM = 6.0  # half-width (bpm, Gaussian sigma) kept around the tracked rate and around twice it


def track_masked(wave: np.ndarray, fs: float) -> np.ndarray:
    """``wave`` (T,) at ``fs`` Hz, cleaned by the package read-out (``signal.clean_wave``: detrend, 42–180 bpm
    band-pass), with only the power near its tracked heart rate kept: a Viterbi HR track over
    ``TRACK_WINDOW_S`` windows every ``TRACK_HOP_S`` (``signal.hr_track``, the product's prior on rate changes),
    then a short-time Fourier transform on the same windows whose bins are weighted by Gaussians (sigma
    ``TRACK_KEEP_BPM``) at the window's tracked rate f and at 2f (the pulse's shape), and inverted. The phase is the
    wave's own, so the label keeps its beat timing; a span whose own peak was a low-rate lock is given the rate the
    rest of the recording supports."""
    from scipy.signal import istft, stft

    from pseudopulse.signal import clean_wave
    from pseudopulse.signal.filters import DEFAULT_BAND_HZ
    from pseudopulse.signal.track import hr_track

    wave = clean_wave(np.asarray(wave, np.float64), fs, DEFAULT_BAND_HZ)
    n = len(wave)
    nper = int(round(TRACK_WINDOW_S * fs))
    if n < nper:  # shorter than one window: one rate for all of it
        nper = n
    track = hr_track(wave, fs=fs, window_s=nper / fs, hop_s=TRACK_HOP_S, tracked=True, clean=False)
    hop = max(1, int(round(TRACK_HOP_S * fs)))
    nfft = 4 * nper
    f_hz, t_s, z = stft(wave, fs=fs, window="hann", nperseg=nper, noverlap=nper - hop, nfft=nfft, boundary="even", padded=True)
    rate_hz = np.interp(t_s, track.t_s, track.hr_bpm) / 60.0
    sigma_hz = TRACK_KEEP_BPM / 60.0
    gain = np.exp(-0.5 * ((f_hz[:, None] - rate_hz[None, :]) / sigma_hz) ** 2)
    gain += np.exp(-0.5 * ((f_hz[:, None] - 2 * rate_hz[None, :]) / (2 * sigma_hz)) ** 2)
    _, out = istft(z * np.minimum(gain, 1.0), fs=fs, window="hann", nperseg=nper, noverlap=nper - hop, nfft=nfft, boundary=True)
    out = out[:n]
    if len(out) < n:
        out = np.pad(out, (0, n - len(out)))
    return out


def _uniform(stmap: STMap, fs: float) -> STMap:
    st = stmap.fill_gaps(max_gap_s=MAX_GAP_S)
    ts = st.timestamps_s
    if len(ts) < 2:
        raise SignalError(f"STMap of {len(ts)} frame(s) is too short to train on")
    if abs(st.fs - fs) > 1e-3 * fs or not st.is_uniform():
        st = st.resample(fs)
    return st


def _cache_file(cache_dir: Path, source: TrainSource, fs: float, method: str, pseudo_filter: str = "readout") -> Path:
    ident = {"key": source.key, "fs": fs, "method": method, "v": TRAIN_CACHE_VERSION}
    if pseudo_filter != "readout":
        ident["pseudo_filter"] = pseudo_filter
    ident = json.dumps(ident, sort_keys=True)
    return cache_dir / f"train-{hashlib.sha1(ident.encode()).hexdigest()[:32]}.npz"


def _load_or_build(
    source: TrainSource, fs: float, method: str, cache_dir: Path | None, pseudo_filter: str = "readout"
) -> tuple[np.ndarray, np.ndarray]:
    file = None if cache_dir is None else _cache_file(cache_dir, source, fs, method, pseudo_filter)
    if file is not None and file.is_file():
        try:
            with np.load(file) as d:
                return d["values"].astype(np.float32), d["pseudo"].astype(np.float32)
        except (OSError, ValueError, KeyError, zipfile.BadZipFile):
            file.unlink(missing_ok=True)  # damaged: rebuild
    st = _uniform(source.load_stmap(), fs)
    values = np.asarray(st.values, dtype=np.float32)
    pseudo = pseudo_label(st, method, pseudo_filter)
    if file is not None:
        with atomic_path(file) as tmp:
            with open(tmp, "wb") as fh:
                np.savez(fh, values=values, pseudo=pseudo)
    return values, pseudo


def _load_gt(source: TrainSource, n: int, fs: float) -> np.ndarray:
    t_s, ppg = source.load_gt()
    t_s, ppg = np.asarray(t_s, np.float64), np.asarray(ppg, np.float64)
    frame_t = np.arange(n) / fs
    if len(t_s) < 2 or t_s[-1] < frame_t[-1] - 1.0 or t_s[0] > 1.0:
        raise DatasetError(
            f"{source.name}: ground truth covers {t_s[0]:.1f}–{t_s[-1]:.1f} s but the video {frame_t[-1]:.1f} s; "
            "supervised training needs GT over the whole video"
        )
    return np.interp(frame_t, t_s, ppg).astype(np.float32)


def prepare_recordings(
    sources: Sequence[TrainSource],
    *,
    fs: float,
    cache_dir: str | Path | None = None,
    supervised: bool = False,
    method: str = "2sr",
    pseudo_filter: str = "readout",
    progress: Callable[[int, int, str], None] | None = None,
    stream: bool = False,
) -> tuple[list[TrainRecording] | list[CachedRecording], list[str]]:
    """Load (or build and cache) every source. Returns (recordings, skipped) where ``skipped`` lists
    "name: reason" for sources that cannot be used (unreadable video, no face, long face loss).

    Ground truth is read only when ``supervised`` (then a source without ``load_gt`` is an error).
    ``stream``: return ``CachedRecording`` handles instead of arrays (needs ``cache_dir``; GT is read on ``load``).
    """
    if stream and cache_dir is None:
        raise ValueError("streaming training data needs a cache folder (cache_dir)")
    cache = None if cache_dir is None else Path(cache_dir)
    out, skipped = [], []
    for i, src in enumerate(sources):
        if progress is not None:
            progress(i, len(sources), src.name)
        try:
            values, pseudo = _load_or_build(src, fs, method, cache, pseudo_filter)
        except PseudopulseError as e:
            skipped.append(f"{src.name}: {e}")
            continue
        gt = None
        if supervised and src.load_gt is None:
            raise DatasetError(f"{src.name}: supervised training needs ground truth, but this recording has none")
        if stream:
            out.append(CachedRecording(src.name, fs, _cache_file(cache, src, fs, method, pseudo_filter), len(values),
                                       values.shape[1], src, has_gt=supervised))  # fmt: skip
            continue
        if supervised:
            gt = _load_gt(src, len(values), fs)
        out.append(TrainRecording(name=src.name, fs=fs, values=values, pseudo=pseudo, gt=gt))
    if progress is not None:
        progress(len(sources), len(sources), "")
    return out, skipped


# ---------------------------------------------------------------------------------------------- sources
def _file_key(path: Path) -> str:
    st = path.stat()
    return f"{path.resolve()}|{st.st_size}|{int(st.st_mtime)}"


def video_sources(paths: Sequence[str | Path], *, cache_dir: str | Path | None = None, roi: str = "face") -> list[TrainSource]:
    """Unlabeled sources from video files (folders are searched for videos, non-recursively)."""
    from pseudopulse.stmap import extract_stmap

    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(f for f in p.iterdir() if f.suffix.lower() in VIDEO_SUFFIXES)
            if not found:
                raise DatasetError(f"{p}: folder holds no video files ({', '.join(VIDEO_SUFFIXES)})")
            files += found
        elif p.is_file():
            files.append(p)
        else:
            raise DatasetError(f"{p}: no such video file or folder")
    return [
        TrainSource(
            name=f.stem,
            key=_file_key(f) + f"|{roi}",
            load_stmap=(lambda f=f: extract_stmap(f, roi=roi, cache_dir=cache_dir)),
        )
        for f in files
    ]


def dataset_sources(
    dataset, *, cache_dir: str | Path | None = None, exclude_subjects: Sequence[str] = (), roi: str = "face"
) -> list[TrainSource]:
    """Sources from a ``pseudopulse.datasets`` Dataset, minus the recordings of ``exclude_subjects`` (held out).

    ``load_gt`` is attached but only called by supervised training.
    """
    from pseudopulse.stmap import extract_stmap

    exclude = {str(s) for s in exclude_subjects}
    out = []
    for rec in dataset.recordings():
        if rec.subject_id in exclude or rec.name in exclude:
            continue

        def load_stmap(rec=rec):
            return extract_stmap(rec.video_path, roi=roi, cache_dir=cache_dir, fps=rec.fps, timestamps_s=rec.frame_timestamps())

        def load_gt(rec=rec):
            gt = rec.ground_truth()
            if gt.ppg is None:
                raise DatasetError(f"{rec.name}: ground truth has no PPG wave; supervised training needs one")
            return gt.timestamps_s, gt.ppg

        key = _file_key(Path(rec.video_path)) + f"|{roi}"
        out.append(TrainSource(name=f"{dataset.name}/{rec.name}", key=key, load_stmap=load_stmap, load_gt=load_gt))
    return out


def consensus_mask(
    recording: TrainRecording, starts: Sequence[int], t: int, methods: Sequence[str], tol_bpm: float
) -> np.ndarray:
    """Per clip (frames ``s..s+t`` for s in ``starts``): True when every rgb method in ``methods`` (run on the ROI-mean
    colour trace of the recording) reads a heart rate within ``tol_bpm`` of the pseudo label's, both through the
    shared read-out (``estimate_hr``). Training-free methods that agree are rarely all wrong in the same way, so the
    agreement is a label-free confidence for the pseudo label. A clip with a face-lost frame, or every clip of a
    recording the methods cannot read, is False."""
    from pseudopulse.methods import get_method
    from pseudopulse.signal import estimate_hr

    keep = np.ones(len(starts), dtype=bool)
    if not methods:
        return keep
    with warnings.catch_warnings():  # a frame without any face ROI is all-NaN: its mean is NaN, as wanted
        warnings.simplefilter("ignore", RuntimeWarning)
        rgb = np.nanmean(recording.values.astype(np.float64), axis=1)
    valid = np.isfinite(rgb).all(axis=1)
    try:
        waves = [get_method(m)(rgb, fs=recording.fs) for m in methods]
    except (SignalError, ValueError):
        return np.zeros(len(starts), dtype=bool)
    for k, s in enumerate(starts):
        if not valid[s : s + t].all():
            keep[k] = False
            continue
        label = estimate_hr(recording.pseudo[s : s + t], recording.fs).hr_bpm
        keep[k] = all(abs(estimate_hr(w[s : s + t], recording.fs).hr_bpm - label) <= tol_bpm for w in waves)
    return keep


# ---------------------------------------------------------------------------------------------- clips
class ClipDataset:
    """Non-overlapping t-frame clips of every recording, served as longer raw windows.

    A window is ``W`` frames with the anchor clip at offset ``a`` (``augment.window_layout``): room for a shift of
    ±shift_max frames and for reading speed_max·t frames from the anchor start. Beyond a recording's ends the map
    is reflect-padded. ``recordings``: ``TrainRecording`` (held in memory) or ``CachedRecording`` (streamed: read
    from the cache when a batch needs them, at most ``max_loaded`` held at once). ``batch(indices)`` -> dict: ``raw`` (B, W, R, 3) float32, ``pseudo`` (B, t) float32,
    ``pseudo_mask`` (B,) float32 (0 where the ``consensus`` methods disagree with the pseudo label, see
    ``consensus_mask``; all 1 without them), ``ids`` list of "recording@start_frame", and ``gt`` (B, t) only when
    every recording carries GT (supervised build).
    """

    def __init__(
        self,
        recordings: Sequence[TrainRecording],
        *,
        clip_frames: int,
        shift_max: int,
        speed_max: float,
        consensus: Sequence[str] = (),
        consensus_tol_bpm: float = 6.0,
        max_loaded: int = 8,
    ):
        from pseudopulse.train.augment import window_layout

        if not recordings:
            raise DatasetError("no usable training recordings (all were skipped or none were given)")
        self.t = int(clip_frames)
        self.a, self.w = window_layout(self.t, shift_max=shift_max, speed_max=speed_max)
        self.recordings = list(recordings)
        self.supervised = all(r.has_gt for r in self.recordings)
        self.streamed = any(isinstance(r, CachedRecording) for r in self.recordings)
        rois = {r.n_rois for r in self.recordings}
        if len(rois) != 1:
            raise DatasetError(f"recordings have different ROI counts {sorted(rois)}; train on STMaps of one grid")
        self._padded = []
        self.clips: list[tuple[int, int]] = []
        masks = []
        for i, r in enumerate(self.recordings):
            if not self.streamed:
                self._padded.append(self._pad(r.values))
            starts = list(range(0, r.n_frames - self.t + 1, self.t))
            self.clips += [(i, s) for s in starts]
            loaded = r.load() if self.streamed and consensus else r
            masks.append(consensus_mask(loaded, starts, self.t, consensus, consensus_tol_bpm))
        self._loaded = functools.lru_cache(maxsize=max(1, int(max_loaded)))(self._load)
        self.pseudo_mask = np.concatenate(masks).astype(np.float32) if masks else np.zeros(0, np.float32)
        if not self.clips:
            raise DatasetError(
                f"every training recording is shorter than one {self.t}-frame clip; use longer videos or a shorter --clip-s"
            )

    def __len__(self) -> int:
        return len(self.clips)

    def _pad(self, values: np.ndarray) -> np.ndarray:
        return np.pad(values, ((self.a, self.w - self.a - self.t), (0, 0), (0, 0)), mode="reflect")

    def _load(self, i: int) -> tuple[np.ndarray, TrainRecording]:
        rec = self.recordings[i].load()
        return self._pad(rec.values), rec

    def _recording(self, i: int) -> tuple[np.ndarray, TrainRecording]:
        """(padded values, recording) of recording ``i``: held, or read from the cache (LRU) when streamed."""
        return self._loaded(i) if self.streamed else (self._padded[i], self.recordings[i])

    def batch(self, indices: Sequence[int]) -> dict:
        raw, pseudo, gt, ids = [], [], [], []
        for j in indices:
            i, s = self.clips[int(j)]
            padded, r = self._recording(i)
            raw.append(padded[s : s + self.w])  # padded index s == original s - a
            pseudo.append(r.pseudo[s : s + self.t])
            if self.supervised:
                gt.append(r.gt[s : s + self.t])
            ids.append(f"{r.name}@{s}")
        out = {"raw": np.stack(raw).astype(np.float32), "pseudo": np.stack(pseudo).astype(np.float32), "ids": ids,
               "pseudo_mask": self.pseudo_mask[np.asarray(indices, dtype=int)]}  # fmt: skip
        if self.supervised:
            out["gt"] = np.stack(gt).astype(np.float32)
        return out


def synth_sources(
    n: int, *, seed: int, cache_dir: str | Path, duration_s: float = 30.0, width: int = SYNTH_TRAIN_SIZE[0],
    height: int = SYNTH_TRAIN_SIZE[1]
) -> list[TrainSource]:
    """``n`` semi-synthetic clips (``synth.make_suite(n, seed)``) rendered once into ``cache_dir/synth``.

    ``load_gt`` returns the rendered pulse (used only for supervised runs and held-out evaluation).
    """
    from pseudopulse.stmap import extract_stmap
    from pseudopulse.synth import ground_truth, make_suite, render

    folder = Path(cache_dir) / "synth"
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i, cfg in enumerate(make_suite(n, seed, duration_s=duration_s, width=width, height=height)):
        path = folder / f"synth-s{seed}-{i:03d}-{cfg.seed}-{width}x{height}-{duration_s:g}s.mp4"

        def load_stmap(cfg=cfg, path=path):
            if not path.is_file():
                render(cfg, path)
            return extract_stmap(path, cache_dir=cache_dir)

        def load_gt(cfg=cfg):
            gt = ground_truth(cfg)
            return gt.timestamps_s, gt.ppg

        key = f"synth|{seed}|{i}|{cfg.seed}|{duration_s}|{width}x{height}"
        out.append(TrainSource(name=f"synth/{seed}-{i:03d}", key=key, load_stmap=load_stmap, load_gt=load_gt))
    return out


def sources_from_spec(spec: str, *, cache_dir: str | Path | None, exclude_subjects: Sequence[str] = (), roi: str = "face") -> list[TrainSource]:
    """Sources for one ``--data`` value: ``NAME:ROOT`` (a registered dataset), a dataset folder (layout detected),
    a folder of videos, or one video file."""
    from pseudopulse.datasets.base import DATASETS, get_dataset

    name, sep, root = spec.partition(":")
    if sep and name.lower().replace("_", "-") in {*DATASETS, "ubfc-rppg", "vipl-hr"}:
        return dataset_sources(get_dataset(name, root), cache_dir=cache_dir, exclude_subjects=exclude_subjects, roi=roi)
    p = Path(spec)
    if p.is_file():
        return video_sources([p], cache_dir=cache_dir, roi=roi)
    if p.is_dir():
        if any(f.suffix.lower() in VIDEO_SUFFIXES for f in p.iterdir() if f.is_file()):
            return video_sources([p], cache_dir=cache_dir, roi=roi)
        return dataset_sources(get_dataset(p), cache_dir=cache_dir, exclude_subjects=exclude_subjects, roi=roi)
    raise DatasetError(f"--data {spec!r}: not a video, a folder or NAME:ROOT of a dataset ({', '.join(DATASETS)})")
