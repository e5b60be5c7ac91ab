"""Face landmark detector: MediaPipe 0.10.x legacy face mesh (468 points; the weights ship in its wheel)."""

from __future__ import annotations

import contextlib
import os

import numpy as np

from pseudopulse.errors import FaceError

# mediapipe's C++ side logs through glog/absl to stderr; library code stays quiet.
os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

DETECTOR_NAME = "mediapipe-face-mesh-0.10"


@contextlib.contextmanager
def quiet_native_stderr():
    """Silence C++ log lines (TFLite/absl "INFO:"/"W0000") written straight to file descriptor 2."""
    try:
        saved = os.dup(2)
    except OSError:  # no fd 2 (embedded interpreters): nothing to silence
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def mediapipe_solutions():
    """MediaPipe's legacy ``solutions`` package (face mesh, face detection; weights inside the wheel).

    Raises ``FaceError`` with the fix when mediapipe is missing or is a release without ``solutions``
    (0.10.22+ and 1.x ship no legacy API / no models)."""
    try:
        import mediapipe as mp

        return mp.solutions
    except (ImportError, AttributeError) as e:
        raise FaceError(
            f"mediapipe's face mesh is unavailable ({e}); pseudopulse needs mediapipe>=0.10.14,<=0.10.21 "
            "(later releases dropped the legacy `solutions` API and its bundled models): "
            "pip install 'mediapipe==0.10.21'"
        ) from None


class FaceMeshDetector:
    """Detect one face per frame and return its 468 landmarks in pixels.

    ``tracking=True`` uses MediaPipe's video mode (the previous landmarks seed the next search, falling
    back to the BlazeFace detector when tracking confidence drops) — faster on consecutive keyframes.
    Use as a context manager or call ``close()``.
    """

    name = DETECTOR_NAME

    def __init__(self, *, tracking: bool = True, min_detection_confidence: float = 0.5, min_tracking_confidence: float = 0.5):
        face_mesh = mediapipe_solutions().face_mesh
        with quiet_native_stderr():
            self._mesh = face_mesh.FaceMesh(
                static_image_mode=not tracking,
                max_num_faces=1,
                refine_landmarks=False,
                min_detection_confidence=min_detection_confidence,
                min_tracking_confidence=min_tracking_confidence,
            )
            # the graph builds its TFLite interpreters asynchronously (and logs natively while doing so);
            # one blank frame waits for that to finish inside the silenced window
            self._mesh.process(np.zeros((64, 64, 3), np.uint8))
        self._quiet = True  # mediapipe also logs once natively at the first found face

    def detect(self, rgb: np.ndarray) -> np.ndarray | None:
        """Landmarks (468, 2) float32 pixel (x, y) of the most prominent face in ``rgb`` (H, W, 3) uint8
        C-contiguous RGB, or None when no face is found."""
        if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
            raise FaceError(f"detector input must be (H, W, 3) uint8 RGB; got {rgb.dtype} {rgb.shape}")
        if not rgb.flags.c_contiguous:
            rgb = np.ascontiguousarray(rgb)
        if self._mesh is None:
            raise FaceError("FaceMeshDetector.detect() called after close()")
        if self._quiet:
            with quiet_native_stderr():
                res = self._mesh.process(rgb)
            self._quiet = not res.multi_face_landmarks
        else:
            res = self._mesh.process(rgb)
        if not res.multi_face_landmarks:
            return None
        h, w = rgb.shape[:2]
        lm = res.multi_face_landmarks[0].landmark
        xy = np.fromiter((v for p in lm for v in (p.x, p.y)), dtype=np.float32, count=2 * len(lm)).reshape(-1, 2)
        xy *= np.array([w, h], dtype=np.float32)
        return xy

    def close(self) -> None:
        if self._mesh is not None:
            self._mesh.close()
            self._mesh = None

    def __enter__(self) -> "FaceMeshDetector":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
