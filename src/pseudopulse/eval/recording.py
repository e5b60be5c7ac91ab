"""One recording: its STMap, read the way every evaluation reads it, scored clip by clip.

``load_stmap(rec, config)`` decodes (or reads from the cache) the STMap with the dataset's frame times;
``score_stmap(stmap, gt, predictor, ...)`` turns an STMap and its ground truth into per-clip predicted and true
heart rates (bpm). ``evaluate_recording`` is the two together, as the runner's workers call it; the methods
benchmark and the experiments call the same functions, so every table scores clips the same way.

Evaluation grid: the STMap's own frame times when they are regular (every interval within 5 % of the mean),
else a uniform grid (the dataset's ``eval_fs`` — 30 Hz for VIPL-HR — or the mean frame rate). Ground truth is
interpolated onto the grid by timestamps (``align_ground_truth``) and the grid is cut to the overlap.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from pseudopulse.datasets.base import GroundTruth, Recording, align_ground_truth
from pseudopulse.errors import DatasetError, PseudopulseError, SignalError
from pseudopulse.eval.clips import cut_clips, true_clip_hr
from pseudopulse.predictors import Predictor, resolve_predictor
from pseudopulse.signal import DEFAULT_BAND_HZ, estimate_hr, snr_db
from pseudopulse.signal.confidence import DEFAULT_THRESHOLD

REGULAR_TOLERANCE = 0.05
PSEUDO_METHOD = "2sr"


@dataclass(frozen=True)
class EvalConfig:
    """How to evaluate. ``clip_s`` None -> the dataset's clip length (10 s; V4V 5 s). ``per_clip`` None -> the
    predictor's natural mode. ``clip_offset_s``: start of the first clip (s; robustness seeds draw it).
    ``keep_pseudo``: also compute the 2SR pseudo-label wave (for the wave figure)."""

    clip_s: float | None = None
    band_hz: tuple[float, float] = DEFAULT_BAND_HZ
    roi: str = "face"
    grid: tuple[int, int] = (5, 5)
    detect_every: int = 10
    cache_dir: str | None = None
    per_clip: bool | None = None
    clip_offset_s: float = 0.0
    eval_fs: float | None = None
    keep_pseudo: bool = True
    model: str | None = None  # model file for the predictor "model" (None: the shipped weights)
    confidence: bool = True  # judge every clip (pseudopulse.reading.assess): confidence and coverage metrics
    min_confidence: float = DEFAULT_THRESHOLD  # a clip at or above this confidence counts as reliable
    keep_waves_for: int = 64  # recordings whose waves are kept for the figures (memory stays bounded)


@dataclass(frozen=True)
class ClipResult:
    """One clip: its place (s from the first frame), predicted and true HR (bpm)."""

    recording: str
    subject_id: str
    index: int
    start_s: float
    end_s: float
    hr_pred_bpm: float
    hr_true_bpm: float
    snr_db: float  # SNR of the predicted wave against the true HR
    confidence: float = float("nan")  # estimated P(|error| <= 5 bpm), label-free (pseudopulse.reading.assess)

    @property
    def error_bpm(self) -> float:
        return self.hr_pred_bpm - self.hr_true_bpm


@dataclass
class RecordingResult:
    """One recording's scored clips and, for the figures, its waves on the evaluation grid (rate ``fs`` Hz)."""

    name: str
    subject_id: str
    clips: list[ClipResult] = field(default_factory=list)
    fs: float | None = None
    t_s: np.ndarray | None = None  # (T,) evaluation-grid times over the GT overlap
    wave: np.ndarray | None = None  # (T,) raw predicted wave on t_s
    gt_ppg: np.ndarray | None = None  # (T,) GT PPG on t_s (None when the dataset gives only HR)
    pseudo: np.ndarray | None = None  # (T,) 2SR pseudo-label wave on t_s
    frame_pred_bpm: np.ndarray | None = None  # (F,) per frame inside clips: its clip's predicted HR
    frame_true_bpm: np.ndarray | None = None  # (F,) per frame inside clips: dataset HR (frame-level datasets)
    n_frames: int = 0
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    skipped: list[str] = field(default_factory=list)  # clips that could not be predicted or read, one line each

    @property
    def n_clips_tried(self) -> int:
        """Clips the recording was cut into: scored plus skipped."""
        return len(self.clips) + len(self.skipped)


# ---------------------------------------------------------------------------------------------- one recording
def _clip_confidence(clip_map, wave, hr_bpm: float, predictor_name: str, config: EvalConfig, clip_s: float,
                     name: str, index: int) -> float:  # fmt: skip
    """The label-free confidence of one clip's reading, judged as ``predict`` judges a reading (NaN, with a
    warning, where the evidence cannot be gathered)."""
    from pseudopulse.reading import assess

    try:
        return float(assess(clip_map, wave, clip_map.fs, hr_bpm, predictor_name, band_hz=config.band_hz,
                            min_confidence=config.min_confidence, window_s=clip_s,
                            wave_t_s=clip_map.timestamps_s).confidence.value)  # fmt: skip
    except PseudopulseError as e:
        warnings.warn(f"{name}: clip {index}: no confidence ({e})", stacklevel=2)
        return float("nan")


def _eval_grid(stmap, eval_fs: float | None):
    regular = stmap.is_uniform(REGULAR_TOLERANCE)
    if eval_fs is None and regular:
        return stmap, stmap.fs
    fs = float(eval_fs) if eval_fs else stmap.fs
    if eval_fs and regular and abs(stmap.fs - fs) / fs < 1e-3:
        return stmap, stmap.fs
    return stmap.resample(fs), fs


def extract_with(config: EvalConfig, path, *, fps: float | None = None, timestamps_s=None, progress=None):
    """The STMap of the video (or frame folder) at ``path`` with ``config``'s ROI, grid, face-detection interval
    and cache; ``fps`` (Hz) / ``timestamps_s`` (s) override the video's clock."""
    from pseudopulse.stmap.extract import extract_stmap

    return extract_stmap(path, roi=config.roi, grid=config.grid, detect_every=config.detect_every,
                         cache_dir=config.cache_dir, fps=fps, timestamps_s=timestamps_s, progress=progress)  # fmt: skip


def load_stmap(rec: Recording, config: EvalConfig, progress: Callable[[int, int | None], None] | None = None):
    """The STMap of ``rec`` (``extract_with``), timed by the dataset's frame times (its timestamp file or
    ``rec.fps``); warns when the video and the timestamp file disagree."""
    times = rec.frame_timestamps()
    stmap = extract_with(config, rec.video_path, fps=rec.fps, timestamps_s=times, progress=progress)
    if times is not None and abs(stmap.n_frames - len(times)) > 1:
        warnings.warn(
            f"{rec.name}: the video decoded {stmap.n_frames} frames but its timestamp file {rec.times_path} lists "
            f"{len(times)}; using the first {min(stmap.n_frames, len(times))}",
            stacklevel=2,
        )
    return stmap


def score_stmap(
    stmap,
    gt: GroundTruth,
    predictor: Predictor | str,
    config: EvalConfig,
    *,
    name: str,
    subject_id: str = "",
    hr_source: str = "auto",
    clip_s: float,
    eval_fs: float | None = None,
    frame_level: bool = False,
) -> RecordingResult:
    """Per-clip predicted and true HR (bpm) of one recording's STMap against its ground truth.

    The wave comes from the whole recording (then cut) or from each ``clip_s``-second clip alone, per
    ``config.per_clip`` or the predictor's natural mode; a whole-recording prediction that fails falls back to
    clips (with a warning). A clip that cannot be predicted or read is listed in ``skipped``, not raised."""
    pred = resolve_predictor(predictor, config.model) if isinstance(predictor, str) else predictor
    grid_map, fs = _eval_grid(stmap, config.eval_fs or eval_fs)
    grid_t = grid_map.timestamps_s - grid_map.timestamps_s[0]
    aligned = align_ground_truth(gt, grid_t, recording=name)
    first = int(np.searchsorted(grid_t, aligned.t_s[0] - 1e-9))
    last = first + len(aligned.t_s)
    clips = cut_clips(name, subject_id, aligned.t_s, fs=fs, clip_s=clip_s, offset_s=config.clip_offset_s, first=first)
    result = RecordingResult(name, subject_id, fs=fs, n_frames=stmap.n_frames, t_s=aligned.t_s, gt_ppg=aligned.ppg)
    if not clips:
        warnings.warn(
            f"{name}: only {len(aligned.t_s) / fs:.1f} s overlap the ground truth, shorter than one {clip_s:g}-s "
            "clip; no clip scored",
            stacklevel=2,
        )
        return result
    source = _resolve_source(hr_source, aligned, gt.source)
    per_clip = pred.per_clip if config.per_clip is None else config.per_clip
    wave = np.full(len(grid_t), np.nan)
    if not per_clip:
        try:
            wave = pred(grid_map)
        except SignalError as e:
            warnings.warn(f"{name}: whole-recording prediction failed ({e}); predicting each clip alone", stacklevel=2)
            per_clip = True
    pseudo = None
    if config.keep_pseudo:
        pseudo = wave if pred.name == PSEUDO_METHOD and not per_clip else _pseudo_wave(grid_map, name)
    frame_pred, frame_true = [], []
    for c in clips:
        a, b = c.start - first, c.stop - first
        try:
            if per_clip:
                wave[c.start : c.stop] = pred(grid_map.slice(c.start, c.stop))
            est = estimate_hr(wave[c.start : c.stop], fs, config.band_hz)
        except SignalError as e:
            result.skipped.append(f"clip {c.index} ({c.start_s:.1f}-{c.end_s:.1f} s): {e}")
            continue
        hr_true = true_clip_hr(
            ppg=None if aligned.ppg is None else aligned.ppg[a:b],
            hr_bpm=None if aligned.hr_bpm is None else aligned.hr_bpm[a:b],
            fs=fs, source=source, band_hz=config.band_hz,
        )  # fmt: skip
        snr = snr_db(est.wave, fs, hr_true)
        conf = _clip_confidence(grid_map.slice(c.start, c.stop), wave[c.start : c.stop], est.hr_bpm, pred.name, config,
                                clip_s, name, c.index) if config.confidence else float("nan")  # fmt: skip
        result.clips.append(ClipResult(c.recording, c.subject_id, c.index, c.start_s, c.end_s, est.hr_bpm, hr_true, snr,
                                       conf))  # fmt: skip
        if frame_level and aligned.hr_bpm is not None:
            frame_pred.append(np.full(b - a, est.hr_bpm))
            frame_true.append(aligned.hr_bpm[a:b])
    result.wave = wave[first:last]
    result.pseudo = None if pseudo is None else np.asarray(pseudo)[first:last]
    if frame_pred:
        result.frame_pred_bpm = np.concatenate(frame_pred)
        result.frame_true_bpm = np.concatenate(frame_true)
    return result


def evaluate_recording(
    rec: Recording,
    predictor: Predictor | str,
    config: EvalConfig,
    *,
    hr_source: str,
    clip_s: float,
    eval_fs: float | None = None,
    frame_level: bool = False,
    progress: Callable[[int, int | None], None] | None = None,
) -> RecordingResult:
    """``load_stmap`` then ``score_stmap`` for one recording of a dataset. Raises when no clip could be predicted
    (the runner turns that into a reported error); skipped clips are warned about by name."""
    t_start = time.perf_counter()
    pred = resolve_predictor(predictor, config.model) if isinstance(predictor, str) else predictor
    gt = rec.ground_truth()
    stmap = load_stmap(rec, config, progress)
    result = score_stmap(stmap, gt, pred, config, name=rec.name, subject_id=rec.subject_id, hr_source=hr_source,
                         clip_s=clip_s, eval_fs=eval_fs, frame_level=frame_level)  # fmt: skip
    if result.skipped and not result.clips:
        raise SignalError(f"no clip could be predicted ({len(result.skipped)} tried); first: {result.skipped[0]}")
    for msg in result.skipped:
        warnings.warn(f"{rec.name}: {msg} skipped", stacklevel=2)
    result.seconds = time.perf_counter() - t_start
    return result


def _resolve_source(hr_source: str, aligned, source: str) -> str:
    if hr_source == "auto":
        return "ppg" if aligned.ppg is not None else "hr"
    if hr_source == "ppg" and aligned.ppg is None:
        raise DatasetError(f"{source}: this dataset's GT heart rate comes from the PPG, but the file has no PPG")
    if hr_source == "hr" and aligned.hr_bpm is None:
        raise DatasetError(f"{source}: this dataset's GT heart rate comes from its HR values, but the file has none")
    return hr_source


def _pseudo_wave(stmap, name: str) -> np.ndarray | None:
    try:
        return resolve_predictor(PSEUDO_METHOD)(stmap)
    except (PseudopulseError, ValueError) as e:
        warnings.warn(f"{name}: 2SR pseudo-label wave unavailable for the figure ({e})", stacklevel=2)
        return None
