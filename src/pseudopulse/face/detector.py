"""Face landmark detector: MediaPipe's 468-point face mesh (mediapipe 0.10.21's models) run by the package — the
PyTorch port (``pseudopulse.face.blazeface`` + ``pseudopulse.face.facemesh``) or, with the optional ``litert`` extra,
the original TFLite files on LiteRT (``pseudopulse.face.runtime``) — no mediapipe install needed.

``FaceMeshDetector`` is the detector ``extract_stmap`` builds by default: BlazeFace finds the face, the face mesh
tracks it from keyframe to keyframe (MediaPipe's video mode). Landmarks agree with mediapipe 0.10.21's
``solutions.face_mesh`` within ~0.3 px (``tests/test_face_port.py``).
"""

from __future__ import annotations

import numpy as np

from pseudopulse.errors import FaceError

# ``STMap.meta["detector"]`` is the models (mediapipe 0.10.21's) + the runtime that ran them ("-torch" or "-litert").
# The STMap cache key contains it too: the two runtimes' maps differ slightly, enough to flip ambiguous 10-s clips
# (the model on the 63 UBFC clips: MAE 8.86 from PyTorch-made maps, 8.99 from LiteRT-made ones).
FACE_MODELS = "mediapipe-face-mesh-0.10.21"
DETECTOR_NAME = f"{FACE_MODELS}-torch"  # the PyTorch port's name (the default runtime without the litert extra)

# Intra-op threads for the face networks. Measured on 2 shared cores (face_lm 192x192, batch 1, tracking):
# 1 thread 6.8 ms/frame, 2 threads 196 ms/frame (oversubscribed: the STMap decode thread and other processes
# compete) — small batch-1 networks gain nothing from more threads.
DEFAULT_TORCH_THREADS = 1


def detector_name(backend: str) -> str:
    """``STMap.meta["detector"]`` of a ``FaceMeshDetector`` whose networks run on ``backend`` ("torch" / "litert")."""
    return f"{FACE_MODELS}-{backend}"


class FaceMeshDetector:
    """Detect one face per frame and return its 468 landmarks in pixels.

    ``tracking=True`` is MediaPipe's video mode: the previous landmarks give the next crop, BlazeFace runs again
    only after a frame whose face presence fell below ``min_tracking_confidence``. ``tracking=False`` detects on
    every call. ``device``: where the networks run ("cpu"). ``backend``: "auto" (LiteRT when installed and on the
    CPU, else torch; ``$PSEUDOPULSE_FACE_BACKEND`` overrides), "torch" or "litert". ``torch_threads``: torch intra-op
    threads while this detector is open (set at construction, restored by ``close()``; None leaves torch's setting alone) — 1 is
    fastest on small machines, see ``DEFAULT_TORCH_THREADS``. Use as a context manager or call ``close()``.
    """

    def __init__(self, *, tracking: bool = True, min_detection_confidence: float = 0.5,
                 min_tracking_confidence: float = 0.5, device: str = "cpu",
                 torch_threads: int | None = DEFAULT_TORCH_THREADS, backend: str = "auto"):
        import torch

        from pseudopulse.face.facemesh import FaceMeshTracker

        if torch_threads is not None and int(torch_threads) < 1:
            raise ValueError(f"torch_threads must be >= 1 or None; got {torch_threads}")
        self._tracker = FaceMeshTracker(
            tracking=tracking, min_detection_confidence=min_detection_confidence,
            min_tracking_confidence=min_tracking_confidence, device=device, backend=backend,
        )  # fmt: skip
        self.backend = self._tracker.backend
        self.name = detector_name(self.backend)
        self._saved_threads = None
        if torch_threads is not None and torch.get_num_threads() != int(torch_threads):
            self._saved_threads = torch.get_num_threads()
            torch.set_num_threads(int(torch_threads))

    def detect(self, rgb: np.ndarray) -> np.ndarray | None:
        """Landmarks (468, 2) float32 pixel (x, y) of the face in ``rgb`` (H, W, 3) uint8 RGB, or None when no face
        is found."""
        if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
            raise FaceError(f"detector input must be (H, W, 3) uint8 RGB; got {rgb.dtype} {rgb.shape}")
        if self._tracker is None:
            raise FaceError("FaceMeshDetector.detect() called after close()")
        return self._tracker.detect(rgb)

    def process(self, rgb: np.ndarray) -> np.ndarray | None:
        """Like ``detect`` but (468, 3) float32 pixels (x, y, z; z in the units of x)."""
        if self._tracker is None:
            raise FaceError("FaceMeshDetector.process() called after close()")
        return self._tracker.process(rgb)

    def close(self) -> None:
        if self._tracker is not None:
            self._tracker.close()
            self._tracker = None
            if self._saved_threads is not None:
                import torch

                torch.set_num_threads(self._saved_threads)
                self._saved_threads = None

    def __enter__(self) -> "FaceMeshDetector":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
