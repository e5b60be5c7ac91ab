"""Face-detector comparison on real frames: detection rate, ms/frame, frame-to-frame box and landmark jitter.

Candidates (all offline; weights inside the package or the wheel):
- ``torch-blazeface``: the package's PyTorch port of MediaPipe BlazeFace short range (box + 6 keypoints).
- ``torch-face-mesh``: the package's default ``FaceMeshDetector`` (PyTorch port of MediaPipe's face mesh), video
  (tracking) mode, every frame; box = landmark bounding box.
- ``torch-face-mesh@k``: what ``extract_stmap`` does — mesh every k frames, landmarks interpolated between.
- ``mp-face-detection`` / ``mp-face-mesh``: the same models run by mediapipe 0.10.x's ``solutions`` — only when
  mediapipe happens to be installed (it is no dependency; Python <= 3.12 only).

Box jitter = sqrt(var(dx) + var(dy)) of the box centre's frame-to-frame displacement (px), over consecutive frames
that both have a box: real head motion adds the same amount for every detector, so the differences are detector
noise. Landmark jitter (mesh detectors only) = median over consecutive frame pairs of the RMS landmark displacement
after removing the pair's median displacement (head translation), in px: on still-ish faces, mostly detector noise.
"""

from __future__ import annotations

import json
import platform
import time
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from pseudopulse.io import atomic_write_text, open_video

Box = tuple[float, float, float, float]  # x0, y0, x1, y1 pixels


@dataclass(frozen=True)
class DetectorResult:
    detector: str
    n_frames: int
    detection_rate: float  # fraction of frames with a box
    ms_per_frame: float  # mean wall time per frame (detector only, decode excluded)
    jitter_px: float  # box-centre jitter, see module docstring
    box_height_px: float  # median box height (scale reference for the jitter)
    landmark_jitter_px: float = float("nan")  # mesh detectors only, see module docstring


def mediapipe_solutions_if_installed():
    """``mediapipe.solutions`` of an installed mediapipe 0.10.x with the legacy API, else None."""
    try:
        import mediapipe as mp

        return mp.solutions
    except (ImportError, AttributeError):
        return None


def _mp_face_detection():
    from pseudopulse.face.runtime import quiet_native_stderr

    with quiet_native_stderr():
        det = mediapipe_solutions_if_installed().face_detection.FaceDetection(model_selection=0, min_detection_confidence=0.5)
        det.process(np.zeros((64, 64, 3), np.uint8))

    def detect(rgb: np.ndarray) -> Box | None:
        res = det.process(rgb)
        if not res.detections:
            return None
        h, w = rgb.shape[:2]
        b = res.detections[0].location_data.relative_bounding_box
        return (b.xmin * w, b.ymin * h, (b.xmin + b.width) * w, (b.ymin + b.height) * h)

    return detect, det.close


def _mp_face_mesh():
    from pseudopulse.face.runtime import quiet_native_stderr

    with quiet_native_stderr():
        mesh = mediapipe_solutions_if_installed().face_mesh.FaceMesh(
            static_image_mode=False, max_num_faces=1, refine_landmarks=False, min_detection_confidence=0.5,
            min_tracking_confidence=0.5,
        )  # fmt: skip
        mesh.process(np.zeros((64, 64, 3), np.uint8))

    quiet = [True]  # mediapipe logs natively once, at the first face it finds

    def detect(rgb: np.ndarray) -> np.ndarray | None:
        if quiet[0]:
            with quiet_native_stderr():
                res = mesh.process(np.ascontiguousarray(rgb))
            quiet[0] = not res.multi_face_landmarks
        else:
            res = mesh.process(np.ascontiguousarray(rgb))
        if not res.multi_face_landmarks:
            return None
        h, w = rgb.shape[:2]
        return np.array([(p.x * w, p.y * h) for p in res.multi_face_landmarks[0].landmark], np.float32)

    return detect, mesh.close


def _blazeface(backend: str):
    import torch

    from pseudopulse.face.blazeface import BlazeFace
    from pseudopulse.face.detector import DEFAULT_TORCH_THREADS

    saved = torch.get_num_threads()
    torch.set_num_threads(DEFAULT_TORCH_THREADS)  # as FaceMeshDetector runs it
    det = BlazeFace(backend=backend)

    def detect(rgb: np.ndarray) -> Box | None:
        (d,) = det.detect(rgb)
        return tuple(float(v) for v in d.boxes[0]) if len(d) else None

    return detect, lambda: torch.set_num_threads(saved)


def _face_mesh(backend: str):
    from pseudopulse.face.detector import FaceMeshDetector

    det = FaceMeshDetector(tracking=True, backend=backend)
    return det.detect, det.close


_torch_face_mesh = partial(_face_mesh, "torch")
_litert_face_mesh = partial(_face_mesh, "litert")

# name -> factory returning (detect(rgb) -> Box | (468, 2) landmarks | None, close)
FRAME_DETECTORS: dict[str, Callable] = {"torch-blazeface": partial(_blazeface, "torch"), "torch-face-mesh": _torch_face_mesh}
LITERT_DETECTORS: dict[str, Callable] = {"litert-blazeface": partial(_blazeface, "litert"), "litert-face-mesh": _litert_face_mesh}
MEDIAPIPE_DETECTORS: dict[str, Callable] = {"mp-face-detection": _mp_face_detection, "mp-face-mesh": _mp_face_mesh}


def frame_detectors() -> dict[str, Callable]:
    """The candidates of this run: the package's own (torch, and LiteRT when the litert extra is installed), plus
    mediapipe's when mediapipe is installed."""
    from pseudopulse.face.runtime import litert_available

    out = dict(FRAME_DETECTORS)
    if litert_available():
        out.update(LITERT_DETECTORS)
    if mediapipe_solutions_if_installed() is not None:
        out.update(MEDIAPIPE_DETECTORS)
    return out


def _bbox(lm: np.ndarray) -> Box:
    x0, y0 = lm.min(axis=0)
    x1, y1 = lm.max(axis=0)
    return (float(x0), float(y0), float(x1), float(y1))


def _landmark_jitter(lms: list) -> float:
    """Median over consecutive frame pairs of the RMS landmark displacement about the pair's median (px)."""
    vals = []
    for a, b in zip(lms[:-1], lms[1:]):
        if a is None or b is None:
            continue
        d = np.asarray(b, np.float64) - np.asarray(a, np.float64)
        d -= np.median(d, axis=0)
        vals.append(np.sqrt((d**2).sum(axis=1).mean()))
    return float(np.median(vals)) if vals else float("nan")


def _summarise(name: str, outputs: list, seconds: float) -> DetectorResult:
    is_mesh = any(isinstance(o, np.ndarray) for o in outputs)
    boxes = [_bbox(o) if isinstance(o, np.ndarray) else o for o in outputs]
    n = len(boxes)
    found = [b is not None for b in boxes]
    c = np.array([[(b[0] + b[2]) / 2, (b[1] + b[3]) / 2] if b is not None else [np.nan, np.nan] for b in boxes])
    d = np.diff(c, axis=0)
    d = d[np.isfinite(d).all(axis=1)]
    jitter = float(np.sqrt(d.var(axis=0).sum())) if len(d) > 1 else float("nan")
    heights = [b[3] - b[1] for b in boxes if b is not None]
    return DetectorResult(
        detector=name,
        n_frames=n,
        detection_rate=float(np.mean(found)) if n else 0.0,
        ms_per_frame=1e3 * seconds / max(n, 1),
        jitter_px=jitter,
        box_height_px=float(np.median(heights)) if heights else float("nan"),
        landmark_jitter_px=_landmark_jitter(outputs) if is_mesh else float("nan"),
    )


class _Mesh:
    """A mesh factory's (detect, close) as the ``detect``/``name`` object ``FaceTracker`` takes."""

    def __init__(self, factory: Callable, name: str):
        self.detect, self.close = factory()
        self.name = name


def _keyframe_mesh_landmarks(frames, k: int, factory: Callable) -> tuple[list[np.ndarray | None], float]:
    from pseudopulse.face.track import FaceTracker
    from pseudopulse.io import Frame

    det = _Mesh(factory, "mesh")
    try:
        t0 = time.perf_counter()
        out = [tf.landmarks for tf in FaceTracker(det, detect_every=k).track(
            Frame(f, i / 30.0, i) for i, f in enumerate(frames))]
        return out, time.perf_counter() - t0
    finally:
        det.close()


def compare_detectors(
    videos: Sequence[str | Path], *, max_frames: int = 150, keyframe_every: int = 10, haar_max_frames: int | None = None
) -> list[DetectorResult]:
    """Run every detector on the first ``max_frames`` frames of each video; results pooled over videos
    (Haar on its first ``haar_max_frames`` frames per video when given: it is ~30x slower). MediaPipe's own
    detectors are compared only when mediapipe is installed (``frame_detectors``)."""
    clips = []
    for v in videos:
        with open_video(v) as reader:
            frames = []
            for fr in reader:
                frames.append(fr.rgb)
                if len(frames) >= max_frames:
                    break
        clips.append(frames)
    results = []
    for name, factory in frame_detectors().items():
        outs_all, secs = [], 0.0
        for frames in clips:
            use = frames[:haar_max_frames] if name == "opencv-haar" and haar_max_frames else frames
            detect, close = factory()
            try:
                detect(use[0])  # warm-up (first-call allocations), not timed; tracking restarts below
                close()
                detect, close = factory()
                t0 = time.perf_counter()
                outs = [detect(f) for f in use]
                secs += time.perf_counter() - t0
            finally:
                close()
            outs_all.append(outs)
        results.append(_pooled(name, outs_all, secs))
    for name in ("torch-face-mesh", "mp-face-mesh"):
        factory = frame_detectors().get(name)
        if factory is None:
            continue
        outs_all, secs = [], 0.0
        for frames in clips:
            outs, s = _keyframe_mesh_landmarks(frames, keyframe_every, factory)
            outs_all.append(outs)
            secs += s
        results.append(_pooled(f"{name}@{keyframe_every} (interpolated)", outs_all, secs))
    return results


def _pooled(name: str, per_clip: list[list], seconds: float) -> DetectorResult:
    rs = [_summarise(name, o, 0.0) for o in per_clip]
    n = sum(r.n_frames for r in rs)
    w = np.array([r.n_frames for r in rs], dtype=float)

    def wmean(x):
        x = np.array(x)
        ok = np.isfinite(x)
        return float(np.average(x[ok], weights=w[ok])) if ok.any() else float("nan")

    return DetectorResult(
        detector=name,
        n_frames=n,
        detection_rate=float(sum(r.detection_rate * r.n_frames for r in rs) / max(n, 1)),
        ms_per_frame=1e3 * seconds / max(n, 1),
        jitter_px=wmean([r.jitter_px for r in rs]),
        box_height_px=float(np.nanmedian([r.box_height_px for r in rs])),
        landmark_jitter_px=wmean([r.landmark_jitter_px for r in rs]),
    )


def detectors_markdown(results: Sequence[DetectorResult], videos: Sequence[str | Path]) -> str:
    lines = [
        "# Face detector comparison",
        "",
        f"Frames: first frames of {len(videos)} video(s): " + ", ".join(Path(v).parent.name + "/" + Path(v).name for v in videos),
        f"Machine: {platform.processor() or platform.machine()}, {_cpus()} CPU(s). ms/frame = detector only (decode excluded).",
        "Box jitter = RMS-about-mean of the box centre's frame-to-frame displacement (px); box height for scale.",
        "Landmark jitter (mesh detectors) = median frame-to-frame RMS landmark motion after removing translation (px).",
        "mediapipe's own detectors (mp-*) appear only when mediapipe is installed: "
        + ("yes" if mediapipe_solutions_if_installed() is not None else "no") + ".",
        "",
        "| detector | frames | detection rate | ms / frame | box jitter (px) | landmark jitter (px) | box height (px) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r.detector} | {r.n_frames} | {100 * r.detection_rate:.1f} % | {r.ms_per_frame:.2f} | {r.jitter_px:.2f} "
            f"| {r.landmark_jitter_px:.3f} | {r.box_height_px:.0f} |"
        )
    return "\n".join(lines) + "\n"


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def run_detector_benchmark(
    videos: Sequence[str | Path], out_dir: str | Path = "results", *, max_frames: int = 150, haar_max_frames: int | None = 60
) -> list[DetectorResult]:
    """Compare detectors on ``videos`` and write ``out_dir``/detectors.md and .json (atomically)."""
    results = compare_detectors(videos, max_frames=max_frames, haar_max_frames=haar_max_frames)
    out = Path(out_dir)
    atomic_write_text(out / "detectors.md", detectors_markdown(results, videos))
    payload = {"videos": [str(v) for v in videos], "max_frames": max_frames, "haar_max_frames": haar_max_frames,
               "cpus": _cpus(), "results": [asdict(r) for r in results]}  # fmt: skip
    atomic_write_text(out / "detectors.json", json.dumps(payload, indent=2))
    return results
