"""Video -> STMap: face tracking, skin ROI blocks, per-frame colour statistics.

``extract_stmap(path)`` streams a video file or image folder (decoded in a background thread) through
``FaceTracker`` (landmarks every ``detect_every`` frames, interpolated in between) and
``FaceSkinSampler`` (aligned face, skin mask, grid blocks; the mask outline is smoothed over keyframes with
time constant ``mask_tau_s``, 0 = this frame's landmarks), or with ``roi="full-frame"`` treats every pixel
as skin (pre-cropped skin videos). Frames without usable face geometry get ``valid=False`` and NaN values.
``STMap.meta`` summarises the run: detector, keyframes, spans without a face, invalid spans, fallbacks.
"""

from __future__ import annotations

import hashlib
import warnings
from collections import deque
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np

from pseudopulse.errors import FaceError, VideoError
from pseudopulse.face.roi import FaceSkinSampler, SmoothedSkinMask, full_frame_stats, rgb_to_yuv
from pseudopulse.io import Frame, open_video
from pseudopulse.io.handoff import Prefetch
from pseudopulse.io.video import ReadLoss
from pseudopulse.stmap import cache as _cache
from pseudopulse.stmap.spill import RowWriter
from pseudopulse.stmap.types import STMap

ROIS = ("face", "full-frame")
COLORSPACES = ("rgb", "yuv")
DEFAULT_CANONICAL_PX = 64
DEFAULT_HOLD_S = 1.0
DEFAULT_MASK_TAU_S = 2.0

Progress = Callable[[int, "int | None"], None]


def _check_params(roi: str, grid, colorspace: str, detect_every: int) -> tuple[int, int]:
    if roi not in ROIS:
        raise ValueError(f"roi must be one of {ROIS}; got {roi!r}")
    if colorspace not in COLORSPACES:
        raise ValueError(f"colorspace must be one of {COLORSPACES}; got {colorspace!r}")
    if int(detect_every) < 1:
        raise ValueError(f"detect_every must be >= 1 frame; got {detect_every}")
    try:
        gy, gx = (int(g) for g in grid)
    except (TypeError, ValueError):
        raise ValueError(f"grid must be (rows, cols) of positive ints; got {grid!r}") from None
    if gy < 1 or gx < 1:
        raise ValueError(f"grid must be (rows, cols) of positive ints; got {grid!r}")
    return gy, gx


def _default_face_model() -> str:
    """The name of the face model + runtime a default extraction uses (``FaceMeshDetector()`` on the CPU: LiteRT or
    PyTorch, ``$PSEUDOPULSE_FACE_BACKEND`` honoured), without loading it."""
    from pseudopulse.face.detector import detector_name
    from pseudopulse.face.runtime import resolve_backend

    return detector_name(resolve_backend("auto", "cpu"))


def extract_stmap(
    path: str | Path,
    *,
    roi: str = "face",
    grid: tuple[int, int] = (5, 5),
    colorspace: str = "rgb",
    detect_every: int = 10,
    cache_dir: str | Path | None = None,
    fps: float | None = None,
    timestamps_s: Sequence[float] | None = None,
    progress: Progress | None = None,
    canonical_px: int = DEFAULT_CANONICAL_PX,
    hold_s: float = DEFAULT_HOLD_S,
    mask_tau_s: float = DEFAULT_MASK_TAU_S,
) -> STMap:
    """STMap of the video file / image folder at ``path``: values (T, gy*gx, 3), T = decoded frames.

    ``fps`` (Hz) / ``timestamps_s`` override the stream's timing (see ``open_video``). ``cache_dir``: read
    and write the cached result there (None = no cache). ``progress(frames_done, frames_total_or_None)``.
    Raises VideoError (unreadable input) or FaceError (no face anywhere, with the ``--roi full-frame`` hint).
    """
    grid = _check_params(roi, grid, colorspace, detect_every)
    path = Path(path)
    if not path.exists():
        raise VideoError(f"{path}: no such file or folder")
    entry = key = None
    if cache_dir is not None:
        params = {
            "roi": roi, "grid": list(grid), "colorspace": colorspace, "detect_every": int(detect_every),
            "fps": fps, "canonical_px": int(canonical_px), "hold_s": float(hold_s), "mask_tau_s": float(mask_tau_s),
            "timestamps_s": None if timestamps_s is None else hashlib.sha256(np.asarray(timestamps_s, np.float64).tobytes()).hexdigest(),
            "face_model": _default_face_model() if roi == "face" else None,  # the runtimes' maps differ: one entry each
        }  # fmt: skip
        _cache.check_cache_dir(cache_dir)
        fingerprint = _cache.video_fingerprint(path)
        key = _cache.cache_key(path, params, fingerprint=fingerprint)
        entry = _cache.cache_file(cache_dir, key)
        hit = _cache.load_cached(entry, key, fingerprint=fingerprint, params=params)
        if hit is not None:
            hit.meta["source"] = str(path)  # same content may sit at another path
            for message in (read_loss_message(hit.meta, str(path)), face_loss_message(hit.meta, str(path))):
                if message:  # the same warnings as the run that built the entry
                    warnings.warn(message, stacklevel=2)
            return hit
        _cache.discard(entry)  # absent or damaged: rebuild
    with open_video(path, fps=fps, timestamps_s=timestamps_s) as reader:
        frames = Prefetch(reader, depth=2 * int(detect_every) + 2, name="pseudopulse-decode")
        try:
            stmap = extract_stmap_from_frames(
                frames, roi=roi, grid=grid, colorspace=colorspace, detect_every=detect_every, progress=progress,
                frames_total=reader.info.n_frames_hint, source=str(path), canonical_px=canonical_px, hold_s=hold_s,
                mask_tau_s=mask_tau_s,
            )  # fmt: skip
        finally:
            frames.close()  # stop the decode thread before the container closes
        if reader.loss is not None:
            stmap.meta["read_loss"] = reader.loss.to_dict()
        if reader.decode_errors:
            stmap.meta["decode_errors"] = list(reader.decode_errors)
    message = face_loss_message(stmap.meta, str(path))
    if message:
        warnings.warn(message, stacklevel=2)
    if entry is not None:
        _cache.save_cached(entry, key, stmap, fingerprint=fingerprint, params=params)
        stmap.meta["cache"] = "miss"
    return stmap


def read_loss_summary(meta: dict) -> dict:
    """Plain-JSON fields of what reading lost: ``frames_lost``, ``frames_declared``, ``gaps_s`` ([before_s, after_s]
    per time gap), ``missing_end_s``, ``duplicate_timestamps``, ``read_warning`` (the warning text, or None). An STMap
    not read from a video (no record) gives ``frames_lost: None``."""
    loss = meta.get("read_loss") if isinstance(meta, dict) else None
    if not isinstance(loss, dict):
        return {"frames_lost": None, "frames_declared": None, "gaps_s": [], "missing_end_s": None,
                "duplicate_timestamps": None, "read_warning": None}  # fmt: skip
    return {"frames_lost": int(loss.get("frames_lost") or 0), "frames_declared": loss.get("frames_declared"),
            "gaps_s": [list(g) for g in loss.get("gaps_s") or []], "missing_end_s": loss.get("missing_end_s"),
            "duplicate_timestamps": loss.get("duplicates"),
            "read_warning": read_loss_message(meta, str(meta.get("source", ""))) or None}  # fmt: skip


def face_loss_message(meta: dict, source: str) -> str:
    """The warning about frames without a face ('' when every frame had one, or for full-frame maps)."""
    spans = meta.get("invalid_spans_s") or []
    if meta.get("roi") != "face" or not spans:
        return ""
    shown = ", ".join(f"{a:.2f}-{b:.2f} s" for a, b in spans[:3]) + (" ..." if len(spans) > 3 else "")
    return (f"{source}: no face in {meta.get('n_invalid', '?')} of {meta.get('n_frames', '?')} frames ({shown}); those "
            "frames are not measured (gaps up to 1 s are bridged by interpolation, longer ones refused)")


def read_loss_message(meta: dict, source: str) -> str:
    """The warning about frames lost in reading, rebuilt from an STMap's meta ('' when nothing was lost)."""
    loss = meta.get("read_loss")
    return ReadLoss.from_dict(loss).describe(source) if isinstance(loss, dict) else ""


def extract_stmap_from_frames(
    frames: Iterable[Frame | np.ndarray],
    *,
    roi: str = "face",
    grid: tuple[int, int] = (5, 5),
    colorspace: str = "rgb",
    detect_every: int = 10,
    fps: float | None = None,
    timestamps_s: Sequence[float] | None = None,
    progress: Progress | None = None,
    frames_total: int | None = None,
    source: str = "<frames>",
    canonical_px: int = DEFAULT_CANONICAL_PX,
    hold_s: float = DEFAULT_HOLD_S,
    mask_tau_s: float = DEFAULT_MASK_TAU_S,
    detector=None,
) -> STMap:
    """STMap from in-memory frames: ``Frame`` objects, or (H, W, 3) uint8 RGB arrays timed by ``fps`` (Hz)
    or ``timestamps_s``. ``detector``: any object with ``detect(rgb) -> (468, 2) | None`` and ``name``
    (default: a fresh ``FaceMeshDetector``; closed afterwards only if created here)."""
    gy, gx = _check_params(roi, grid, colorspace, detect_every)
    frames = _as_frames(frames, fps, timestamps_s, source)
    cols = _Columns(gy * gx, frames_hint=frames_total)
    meta: dict = {"source": source, "roi": roi, "grid": [gy, gx], "code_version": _cache.STMAP_CODE_VERSION}
    rows = SkinRows(roi=roi, grid=(gy, gx), detect_every=detect_every, canonical_px=canonical_px, hold_s=hold_s,
                    mask_tau_s=mask_tau_s, detector=detector, source=source)  # fmt: skip
    with rows:
        for fr, st in rows.rows(frames):
            cols.add(fr.t_s, st)
            _tick(progress, cols.n, frames_total)
        meta.update(rows.summary())
    if cols.n == 0:
        raise VideoError(f"{source}: no frames to extract an STMap from")
    if progress is not None:
        progress(cols.n, cols.n)
    stmap = cols.to_stmap((gy, gx), colorspace, meta)
    return stmap


# ---------------------------------------------------------------------- frames -> skin statistics
class SkinRows:
    """Frames in, one row of skin statistics per frame out (``BlockStats``, or None for a frame without a face),
    as the frames arrive: the face pipeline (``FaceTracker`` landmarks every ``detect_every`` frames, interpolated
    in between, so a row comes out at most ``detect_every - 1`` frames after its frame went in; the skin mask
    smoothed over keyframes) or, with ``roi="full-frame"``, every pixel as skin. ``extract_stmap`` and the live
    stream both read frames through this. Use as a context manager (it closes a detector it created).

    ``detector``: any object with ``detect(rgb) -> (468, 2) | None`` and ``name`` (default: a fresh
    ``FaceMeshDetector``). ``keep_face_px``: how many of the latest face sizes ``summary`` takes the median of
    (None: all; a stream bounds it so memory stays flat)."""

    def __init__(self, *, roi: str = "face", grid=(5, 5), detect_every: int = 10, canonical_px: int = DEFAULT_CANONICAL_PX,
                 hold_s: float = DEFAULT_HOLD_S, mask_tau_s: float = DEFAULT_MASK_TAU_S, detector=None,
                 source: str = "<frames>", keep_face_px: int | None = None):  # fmt: skip
        self.grid = _check_params(roi, grid, "rgb", detect_every)
        self.roi, self.detect_every, self.source = roi, int(detect_every), source
        self.canonical_px, self.hold_s, self.mask_tau_s = int(canonical_px), float(hold_s), float(mask_tau_s)
        self._own = detector is None and roi == "face"
        self._detector = detector
        self.tracker = None
        self.n_fallback = 0
        self.face_px: deque = deque(maxlen=keep_face_px)  # area (source px) of the face mesh's outline per detection
        self.frame_px = 0  # pixels of the latest frame (full-frame ROI)

    def __enter__(self) -> "SkinRows":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._own and self._detector is not None:
            self._detector.close()
            self._detector = None

    @property
    def detector(self):
        if self._detector is None and self.roi == "face":
            from pseudopulse.face.detector import FaceMeshDetector

            self._detector = FaceMeshDetector()
        return self._detector

    def rows(self, frames: Iterable[Frame]) -> Iterator[tuple[Frame, object]]:
        """(frame, its ``BlockStats`` or None) for every frame of ``frames``, in order."""
        if self.roi == "full-frame":
            for fr in frames:
                self.frame_px = fr.rgb.shape[0] * fr.rgb.shape[1]
                yield fr, full_frame_stats(fr.rgb, self.grid)
            return
        from pseudopulse.face.track import FaceTracker

        self.tracker = FaceTracker(self.detector, detect_every=self.detect_every, hold_s=self.hold_s)
        sampler = FaceSkinSampler(self.grid, size_px=self.canonical_px)
        smask = SmoothedSkinMask(sampler, tau_s=self.mask_tau_s)
        for tf in self.tracker.track(frames):
            if tf.detected:
                self.face_px.append(_polygon_area(tf.landmarks))
                if self.mask_tau_s > 0:
                    smask.update(tf.frame.t_s, tf.landmarks)
            st = sampler.sample(tf.frame.rgb, tf.landmarks, smask.mask) if tf.landmarks is not None else None
            if st is not None:
                self.n_fallback += st.n_fallback
            yield tf.frame, st

    def roi_px(self) -> float:
        """Size of the skin region (px): the median face size over the detections kept, or the frame's area."""
        if self.roi == "full-frame":
            return float(self.frame_px)
        return float(np.median(self.face_px)) if self.face_px else float("nan")

    def summary(self) -> dict:
        """The STMap meta of what was read so far: detector, keyframes, spans without a face, skin-region size.
        Raises FaceError when the face pipeline found no face in any keyframe."""
        if self.roi == "full-frame":
            return {"detector": None, "roi_px": self.roi_px()}
        s = self.tracker.stats if self.tracker is not None else None
        if s is not None and s.n_frames and s.n_detected == 0:
            raise FaceError(
                f"{self.source}: no face found in any of {s.n_keyframes} keyframes ({s.n_frames} frames, detector every "
                f"{self.detect_every} frames); if the video shows a skin patch rather than a face, use --roi full-frame "
                "for skin crops (roi='full-frame')"
            )
        det = self.detector
        return {
            "detector": getattr(det, "name", type(det).__name__),
            "detect_every": self.detect_every,
            "hold_s": self.hold_s,
            "canonical_px": self.canonical_px,
            "mask_tau_s": self.mask_tau_s,
            "n_keyframes": s.n_keyframes if s else 0,
            "n_keyframes_with_face": s.n_detected if s else 0,
            "no_face_spans_s": s.no_face_spans_s if s else [],
            "empty_block_fallbacks": int(self.n_fallback),
            "roi_px": self.roi_px(),
        }


def _polygon_area(landmarks: np.ndarray) -> float:
    """Area (px²) of the convex hull of the face mesh's landmarks (x, y in source pixels)."""
    from scipy.spatial import ConvexHull

    try:
        return float(ConvexHull(np.asarray(landmarks, dtype=np.float64)[:, :2]).volume)  # in 2-D, .volume is the area
    except Exception:  # noqa: BLE001 - degenerate geometry (all points on a line) has no area
        return 0.0


# ---------------------------------------------------------------------- helpers
class _Columns:
    """Per-frame arrays grown in chunks (no Python object per frame: a long video costs its numbers only);
    invalid frames (stats None) become NaN / 0 / False. The block means (``values``, 300 B a frame on a 5x5 grid)
    go through a ``spill.RowWriter``: past ``spill.SPILL_BYTES`` they are written to a temporary file as they come
    and the map's ``values`` are mapped from it (a long recording's map is not held in memory). The other columns
    (61 B a frame): ``frames_hint``, the container's declared frame count, sizes their first chunk, so a video that
    keeps its word ends in one chunk that is handed over as it is, with no second copy at the end."""

    CHUNK = 4096  # frames per chunk after the first
    SLACK = 64  # frames beyond the hint in the first chunk (declared counts are often a few frames off)

    def __init__(self, n_rois: int, frames_hint: int | None = None):
        self.n_rois = n_rois
        self.values = RowWriter((n_rois, 3), np.float32)
        self.chunks: list[dict] = []
        self.n = 0
        self.first = int(frames_hint) + self.SLACK if frames_hint and frames_hint > 0 else self.CHUNK
        self._filled = 0  # frames in the chunks before the last

    def _new_chunk(self) -> dict:
        c = self.first if not self.chunks else self.CHUNK
        return {"t": np.empty(c, np.float64), "mean": np.empty((c, 3), np.float32), "corr": np.empty((c, 3, 3), np.float32),
                "count": np.empty(c, np.int32), "valid": np.empty(c, bool)}  # fmt: skip

    def add(self, t_s: float, st) -> None:
        j = self.n - self._filled
        if not self.chunks or j == len(self.chunks[-1]["t"]):
            if self.chunks:
                self._filled, j = self.n, 0
            self.chunks.append(self._new_chunk())
        c = self.chunks[-1]
        c["t"][j] = t_s
        self.values.add(np.nan if st is None else st.values)
        if st is None:
            c["mean"][j] = np.nan
            c["corr"][j] = np.nan
            c["count"][j] = 0
            c["valid"][j] = False
        else:
            c["mean"][j] = st.skin_mean
            c["corr"][j] = st.skin_corr
            c["count"][j] = st.skin_count
            c["valid"][j] = True
        self.n += 1

    def _column(self, name: str) -> np.ndarray:
        last = self.n - self._filled
        parts = [c[name] for c in self.chunks[:-1]] + [self.chunks[-1][name][:last]]
        if len(parts) == 1:  # the hint held: hand the chunk over (a copy only when most of it went unused)
            out = parts[0] if 2 * last >= len(self.chunks[-1][name]) else parts[0].copy()
        else:
            out = np.concatenate(parts)
        for c in self.chunks:  # free as we go: peak stays near one copy
            c.pop(name)
        return out

    def to_stmap(self, grid, colorspace, meta) -> STMap:
        ts = self._column("t")
        valid = self._column("valid")
        values = self.values.finish()
        if colorspace == "yuv":
            values = rgb_to_yuv(values).astype(np.float32)
        meta["n_frames"] = int(len(ts))
        meta["n_invalid"] = int((~valid).sum())
        meta["invalid_spans_s"] = _spans(ts, valid)
        return STMap(
            values=values,
            timestamps_s=ts,
            skin_mean=self._column("mean"),
            skin_corr=self._column("corr"),
            skin_count=self._column("count"),
            valid=valid,
            grid=tuple(grid),
            colorspace=colorspace,
            meta=meta,
        )


def _spans(ts: np.ndarray, valid: np.ndarray) -> list[list[float]]:
    """[first_s, last_s] of each run of invalid frames."""
    bad = np.flatnonzero(np.diff(np.r_[0, (~valid).astype(np.int8), 0]))
    return [[round(float(ts[a]), 4), round(float(ts[b - 1]), 4)] for a, b in zip(bad[::2], bad[1::2])]


def _tick(progress, done, total, every=16):
    if progress is not None and done % every == 0:
        progress(done, total)


def _as_frames(frames, fps, timestamps_s, source) -> Iterator[Frame]:
    ts = None if timestamps_s is None else np.asarray(timestamps_s, np.float64)
    for i, fr in enumerate(frames):
        if isinstance(fr, Frame):
            yield fr
            continue
        arr = np.asarray(fr)
        if arr.ndim != 3 or arr.shape[2] != 3 or arr.dtype != np.uint8:
            raise VideoError(f"{source}: frame {i} must be (H, W, 3) uint8 RGB; got {arr.dtype} {arr.shape}")
        if ts is not None:
            if i >= len(ts):
                raise VideoError(f"{source}: more frames than the {len(ts)} timestamps given")
            t = float(ts[i])
        elif fps:
            t = i / float(fps)
        else:
            raise VideoError(f"{source}: frames given as arrays need fps= (Hz) or timestamps_s= to time them")
        yield Frame(np.ascontiguousarray(arr), t, i)
