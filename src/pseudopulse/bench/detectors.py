"""Face-detector comparison on real frames: detection rate, ms/frame, frame-to-frame box jitter.

Candidates (all offline; weights inside their wheels):
- ``mp-face-detection``: MediaPipe BlazeFace short range (box + 6 keypoints).
- ``mp-face-mesh``: MediaPipe face mesh, video (tracking) mode, every frame; box = landmark bounding box.
- ``mp-face-mesh@k`` : what ``extract_stmap`` does — mesh every k frames, landmarks interpolated between.
- ``opencv-haar``: OpenCV frontal-face Haar cascade (``cv2.data.haarcascades``), scale 1.1, 5 neighbours.

Jitter = sqrt(var(dx) + var(dy)) of the box centre's frame-to-frame displacement (px), over consecutive
frames that both have a box: real head motion adds the same amount for every detector, so the differences
are detector noise.
"""

from __future__ import annotations

import json
import platform
import time
from dataclasses import asdict, dataclass
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
    jitter_px: float  # see module docstring
    box_height_px: float  # median box height (scale reference for the jitter)


def _mp_face_detection():
    from pseudopulse.face.detector import mediapipe_solutions

    from pseudopulse.face.detector import quiet_native_stderr

    with quiet_native_stderr():
        det = mediapipe_solutions().face_detection.FaceDetection(model_selection=0, min_detection_confidence=0.5)
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
    from pseudopulse.face.detector import FaceMeshDetector

    det = FaceMeshDetector(tracking=True)

    def detect(rgb: np.ndarray) -> Box | None:
        lm = det.detect(rgb)
        return None if lm is None else _bbox(lm)

    return detect, det.close


def _haar():
    import cv2

    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")

    def detect(rgb: np.ndarray) -> Box | None:
        gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        faces = cascade.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5, minSize=(60, 60))
        if len(faces) == 0:
            return None
        x, y, w, h = max(faces, key=lambda f: f[2] * f[3])
        return (float(x), float(y), float(x + w), float(y + h))

    return detect, lambda: None


FRAME_DETECTORS: dict[str, Callable] = {
    "mp-face-detection": _mp_face_detection,
    "mp-face-mesh": _mp_face_mesh,
    "opencv-haar": _haar,
}


def _bbox(lm: np.ndarray) -> Box:
    x0, y0 = lm.min(axis=0)
    x1, y1 = lm.max(axis=0)
    return (float(x0), float(y0), float(x1), float(y1))


def _summarise(name: str, boxes: list[Box | None], seconds: float) -> DetectorResult:
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
    )


def _keyframe_mesh_boxes(frames, k: int) -> tuple[list[Box | None], float]:
    from pseudopulse.face.detector import FaceMeshDetector
    from pseudopulse.face.track import FaceTracker
    from pseudopulse.io import Frame

    with FaceMeshDetector() as det:
        t0 = time.perf_counter()
        out = [None if tf.landmarks is None else _bbox(tf.landmarks) for tf in FaceTracker(det, detect_every=k).track(
            Frame(f, i / 30.0, i) for i, f in enumerate(frames))]
        return out, time.perf_counter() - t0


def compare_detectors(
    videos: Sequence[str | Path], *, max_frames: int = 150, keyframe_every: int = 10, haar_max_frames: int | None = None
) -> list[DetectorResult]:
    """Run every detector on the first ``max_frames`` frames of each video; results pooled over videos
    (Haar on its first ``haar_max_frames`` frames per video when given: it is ~30x slower)."""
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
    for name, factory in FRAME_DETECTORS.items():
        boxes_all, secs = [], 0.0
        for frames in clips:
            use = frames[:haar_max_frames] if name == "opencv-haar" and haar_max_frames else frames
            detect, close = factory()
            try:
                t0 = time.perf_counter()
                boxes = [detect(f) for f in use]
                secs += time.perf_counter() - t0
            finally:
                close()
            boxes_all.append(boxes)
        results.append(_pooled(name, boxes_all, secs))
    boxes_all, secs = [], 0.0
    for frames in clips:
        boxes, s = _keyframe_mesh_boxes(frames, keyframe_every)
        boxes_all.append(boxes)
        secs += s
    results.append(_pooled(f"mp-face-mesh@{keyframe_every} (interpolated)", boxes_all, secs))
    return results


def _pooled(name: str, per_clip: list[list[Box | None]], seconds: float) -> DetectorResult:
    rs = [_summarise(name, b, 0.0) for b in per_clip]
    n = sum(r.n_frames for r in rs)
    w = np.array([r.n_frames for r in rs], dtype=float)
    jit = np.array([r.jitter_px for r in rs])
    ok = np.isfinite(jit)
    return DetectorResult(
        detector=name,
        n_frames=n,
        detection_rate=float(sum(r.detection_rate * r.n_frames for r in rs) / max(n, 1)),
        ms_per_frame=1e3 * seconds / max(n, 1),
        jitter_px=float(np.average(jit[ok], weights=w[ok])) if ok.any() else float("nan"),
        box_height_px=float(np.nanmedian([r.box_height_px for r in rs])),
    )


def detectors_markdown(results: Sequence[DetectorResult], videos: Sequence[str | Path]) -> str:
    lines = [
        "# Face detector comparison",
        "",
        f"Frames: first frames of {len(videos)} video(s): " + ", ".join(Path(v).parent.name + "/" + Path(v).name for v in videos),
        f"Machine: {platform.processor() or platform.machine()}, {_cpus()} CPU(s). ms/frame = detector only (decode excluded).",
        "Jitter = RMS-about-mean of the box centre's frame-to-frame displacement (px); box height for scale.",
        "",
        "| detector | frames | detection rate | ms / frame | jitter (px) | box height (px) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r.detector} | {r.n_frames} | {100 * r.detection_rate:.1f} % | {r.ms_per_frame:.2f} | {r.jitter_px:.2f} | {r.box_height_px:.0f} |"
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
