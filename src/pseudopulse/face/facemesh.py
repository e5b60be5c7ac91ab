"""MediaPipe's 468-point face mesh (``face_landmark.tflite`` of mediapipe 0.10.21) in PyTorch.

Paper: Kartynnik et al., "Real-time Facial Surface Geometry from Monocular Video on Mobile GPUs", CVPR-W 2019.
Weights: ``pseudopulse/face/weights/face_landmark.npz`` (float16 as in the .tflite file; Apache-2.0, see
``weights/NOTICE``), converted by ``tools/convert_mediapipe_face.py``.

Around the network this module reproduces MediaPipe's ``solutions.face_mesh`` graph (``FaceLandmarkFrontCpu``,
``refine_landmarks=False``):

1. region of interest (``FaceDetectionFrontDetectionToRoi`` / ``FaceLandmarkLandmarksToRoi``): the detection's box
   (or the bounding box of the previous frame's 468 landmarks when tracking), rotated so that the eyes are level —
   angle of the vector from keypoint 0 to keypoint 1 of the detection (landmarks 33 -> 263 when tracking) —,
   made square on its longer side and enlarged 1.5x;
2. crop: the rotated square resampled to 192 x 192 as OpenCV's ``warpPerspective`` does (bilinear on uint8, border
   replicated; ``face.warp``), mapped to [0, 1];
3. network: 468 x (x, y, z) in input pixels and a face-presence logit; the face counts when
   sigmoid(logit) >= ``min_presence`` (MediaPipe's ``min_tracking_confidence``);
4. inverse transform (``LandmarkProjectionCalculator``): un-rotate about the crop centre and scale back to the
   frame; z is scaled like x (same units as x, in pixels here; MediaPipe reports it normalised by image width).

MediaPipe's face mesh has no temporal landmark smoothing; its video mode only reuses the previous landmarks as the
next region of interest (``FaceMeshTracker`` reproduces that).

Shapes: frames (N, H, W, 3) uint8 RGB; landmarks (N, 468, 3) float32 pixels (x, y, z); NaN rows where no face.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from pseudopulse.face.blazeface import (
    BlazeBlock,
    BlazeFace,
    Detections,
    block_mapping,
    check_frames,
    pad_same,
    rect_transform,
    run_batched,
    shipped_net,
    warp,
)
from pseudopulse.face.runtime import LiteRTNet, resolve_backend

INPUT_SIZE = 192
NUM_LANDMARKS = 468
ROI_SCALE = 1.5
# landmarks whose vector sets the roll angle when tracking (MediaPipe: outer eye corners 33 -> 263)
TRACK_ROTATION_LANDMARKS = (33, 263)


# ----------------------------------------------------------------------------------------------- network
class FaceMeshNet(nn.Module):
    """The face-landmark network. Input (N, 3, 192, 192) float in [0, 1]; output
    ``(landmarks (N, 468, 3) in input pixels, presence logit (N,))``."""

    # trunk: (cin, cout, stride) of blocks 1..14 -> depthwise_conv2d_k, conv2d_{k+1}, p_re_lu_{k+1}
    TRUNK = [(16, 16, 1), (16, 16, 1), (16, 32, 2), (32, 32, 1), (32, 32, 1), (32, 64, 2), (64, 64, 1),
             (64, 64, 1), (64, 128, 2), (128, 128, 1), (128, 128, 1), (128, 128, 2), (128, 128, 1), (128, 128, 1)]

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, stride=2)
        self.stem_act = nn.PReLU(16)
        self.trunk = nn.ModuleList(
            BlazeBlock(ci, co, s, "prelu", (f"depthwise_conv2d_{k}", f"conv2d_{k + 1}", f"p_re_lu_{k + 1}"))
            for k, (ci, co, s) in enumerate(self.TRUNK, start=1)
        )
        # landmark head (6x6 -> 3x3 -> 1x1)
        self.lm_blocks = nn.ModuleList([
            BlazeBlock(128, 128, 2, "prelu", ("depthwise_conv2d_15", "conv2d_16", "p_re_lu_16")),
            BlazeBlock(128, 128, 1, "prelu", ("depthwise_conv2d_16", "conv2d_17", "p_re_lu_17")),
            BlazeBlock(128, 128, 1, "prelu", ("depthwise_conv2d_17", "conv2d_18", "p_re_lu_18")),
        ])
        self.lm_reduce, self.lm_reduce_act = nn.Conv2d(128, 32, 1), nn.PReLU(32)
        self.lm_block = BlazeBlock(32, 32, 1, "prelu", ("depthwise_conv2d_18", "conv2d_20", "p_re_lu_20"))
        self.lm_out = nn.Conv2d(32, NUM_LANDMARKS * 3, 3)
        # face-presence head
        self.score_block1 = BlazeBlock(128, 128, 2, "prelu", ("depthwise_conv2d_23", "conv2d_28", "p_re_lu_26"))
        self.score_reduce, self.score_reduce_act = nn.Conv2d(128, 32, 1), nn.PReLU(32)
        self.score_block2 = BlazeBlock(32, 32, 1, "prelu", ("depthwise_conv2d_24", "conv2d_30", "p_re_lu_28"))
        self.score_out = nn.Conv2d(32, 1, 3)

    def tflite_mapping(self) -> dict[str, str]:
        m = {"stem": "conv2d_1", "stem_act": "p_re_lu_1", "lm_reduce": "conv2d_19", "lm_reduce_act": "p_re_lu_19",
             "lm_out": "conv2d_21", "score_reduce": "conv2d_29", "score_reduce_act": "p_re_lu_27",
             "score_out": "conv2d_31"}
        m.update(block_mapping(self.trunk, "trunk"))
        m.update(block_mapping(self.lm_blocks, "lm_blocks"))
        for name in ("lm_block", "score_block1", "score_block2"):
            dw, pw, act = getattr(self, name).names
            m.update({f"{name}.dw": dw, f"{name}.pw": pw, f"{name}.act": act})
        return m

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.stem_act(self.stem(pad_same(x, 3, 2)))
        for b in self.trunk:
            x = b(x)  # (N, 128, 6, 6)
        y = x
        for b in self.lm_blocks:
            y = b(y)
        y = self.lm_block(self.lm_reduce_act(self.lm_reduce(y)))
        lm = self.lm_out(y).reshape(-1, NUM_LANDMARKS, 3)
        s = self.score_block2(self.score_reduce_act(self.score_reduce(self.score_block1(x))))
        return lm, self.score_out(s).reshape(-1)


def facemesh_net() -> FaceMeshNet:
    """A ``FaceMeshNet`` (eval mode, CPU) with the shipped MediaPipe weights."""
    return shipped_net(FaceMeshNet, "face_landmark.npz")


# ----------------------------------------------------------------------------------------------- regions of interest
@dataclass(frozen=True)
class FaceRoi:
    """Rotated square crops, one per frame, in pixels: centre (N, 2), side (N,), rotation (N,) radians
    (MediaPipe's convention: the angle that levels the eyes; 0 = upright). ``valid`` (N,) bool."""

    center: np.ndarray
    side: np.ndarray
    rotation: np.ndarray
    valid: np.ndarray


def _normalize_radians(a: np.ndarray) -> np.ndarray:
    return a - 2 * np.pi * np.floor((a + np.pi) / (2 * np.pi))


def _roi_from_box(box: np.ndarray, p0: np.ndarray, p1: np.ndarray, scale: float) -> tuple[np.ndarray, float, float]:
    """``DetectionsToRectsCalculator`` (rotation from p0 -> p1, target angle 0) + ``RectTransformationCalculator``
    (square_long, scale) for one face; box (x0, y0, x1, y1) and points in pixels."""
    center = np.array([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2], np.float64)
    rotation = float(_normalize_radians(np.float64(0.0) - np.arctan2(-(p1[1] - p0[1]), p1[0] - p0[0])))
    side = max(box[2] - box[0], box[3] - box[1]) * scale
    return center, float(side), rotation


def roi_from_detections(dets: list[Detections], scale: float = ROI_SCALE) -> FaceRoi:
    """Crop of the best face of each frame from BlazeFace detections (eye keypoints 0 -> 1 level the crop)."""
    n = len(dets)
    c, s, r, v = np.zeros((n, 2)), np.zeros(n), np.zeros(n), np.zeros(n, bool)
    for i, d in enumerate(dets):
        if len(d):
            k = d.keypoints[0].astype(np.float64)
            c[i], s[i], r[i] = _roi_from_box(d.boxes[0].astype(np.float64), k[0], k[1], scale)
            v[i] = True
    return FaceRoi(c, s, r, v)


def roi_from_landmarks(landmarks: np.ndarray, scale: float = ROI_SCALE) -> FaceRoi:
    """Crop from the previous frame's landmarks (N, 468, 2 or 3) pixels, NaN rows = none
    (``FaceLandmarkLandmarksToRoi``: landmark bounding box, landmarks 33 -> 263 level the crop)."""
    lm = np.asarray(landmarks, np.float64)
    if lm.ndim == 2:
        lm = lm[None]
    n = len(lm)
    c, s, r, v = np.zeros((n, 2)), np.zeros(n), np.zeros(n), np.zeros(n, bool)
    a, b = TRACK_ROTATION_LANDMARKS
    for i in range(n):
        p = lm[i, :, :2]
        if not np.isfinite(p).all():
            continue
        box = np.array([p[:, 0].min(), p[:, 1].min(), p[:, 0].max(), p[:, 1].max()])
        c[i], s[i], r[i] = _roi_from_box(box, p[a], p[b], scale)
        v[i] = True
    return FaceRoi(c, s, r, v)


# ----------------------------------------------------------------------------------------------- public API
@dataclass(frozen=True)
class MeshResult:
    """landmarks (N, 468, 3) float32 pixels (x, y, z; z in the units of x, smaller = nearer the camera), NaN where
    no face; presence (N,) float32 face probability (NaN where no crop was given); roi the crops used."""

    landmarks: np.ndarray
    presence: np.ndarray
    roi: FaceRoi


class FaceMesh:
    """MediaPipe's 468-point face mesh, batched over frames.

    ``FaceMesh().landmarks(frames, boxes_or_previous)`` -> (N, 468, 3) float32 pixels (NaN rows: no face), where
    ``boxes_or_previous`` is the ``list[Detections]`` of ``BlazeFace.detect`` on the same frames, or landmarks
    (N, 468, 2|3) of the previous frames (tracking), or a ``FaceRoi``. ``run`` returns the presence scores and
    crops as well. ``device``: where the network runs ("cpu" default). ``backend``: "torch", "litert" or "auto"
    (``face.runtime.resolve_backend``)."""

    def __init__(self, *, min_presence: float = 0.5, device: str | torch.device = "cpu", batch_size: int = 64,
                 backend: str = "auto"):
        if not 0.0 <= min_presence <= 1.0:
            raise ValueError(f"min_presence must be a probability in [0, 1]; got {min_presence}")
        self.min_presence = float(min_presence)
        self.device = torch.device(device)
        self.batch_size = int(batch_size)
        self.backend = resolve_backend(backend, self.device)
        if self.backend == "litert":
            self.net = LiteRTNet("face_landmark.tflite", ("conv2d_21", "conv2d_31"), ((NUM_LANDMARKS, 3), ()))
        else:
            self.net = facemesh_net().to(self.device, memory_format=torch.channels_last)  # NHWC: faster depthwise convs

    @staticmethod
    def crop_matrix(roi: FaceRoi, i: int) -> np.ndarray:
        """(3, 3) frame pixels -> 192 x 192 crop of frame ``i``."""
        return rect_transform(roi.center[i, 0], roi.center[i, 1], roi.side[i], roi.side[i], roi.rotation[i], INPUT_SIZE)

    def preprocess(self, frames: np.ndarray, roi: FaceRoi) -> np.ndarray:
        """(M, 192, 192, 3) float32 crops in [0, 1] for the frames with a valid roi, in frame order."""
        idx = np.flatnonzero(roi.valid)
        x = np.empty((len(idx), INPUT_SIZE, INPUT_SIZE, 3), np.float32)
        for j, i in enumerate(idx):
            x[j] = warp(frames[i], self.crop_matrix(roi, i), INPUT_SIZE, "replicate")
        x *= np.float32(1.0 / 255.0)
        return x

    @torch.inference_mode()
    def raw(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Network on crops (M, 192, 192, 3) float32 -> (landmarks (M, 468, 3) crop pixels, presence logits (M,))."""
        if len(x) == 0:
            return np.zeros((0, NUM_LANDMARKS, 3), np.float32), np.zeros((0,), np.float32)
        return run_batched(self.net, x, self.batch_size, self.device)

    @staticmethod
    def project(raw_lm: np.ndarray, roi: FaceRoi, idx: np.ndarray) -> np.ndarray:
        """Crop pixels (M, 468, 3) -> frame pixels (``LandmarkProjectionCalculator``)."""
        u = raw_lm.astype(np.float64) / INPUT_SIZE - np.array([0.5, 0.5, 0.0])
        a = roi.rotation[idx][:, None]
        cos, sin = np.cos(a), np.sin(a)
        side = roi.side[idx][:, None]
        out = np.empty_like(u)
        out[..., 0] = (cos * u[..., 0] - sin * u[..., 1]) * side + roi.center[idx, 0][:, None]
        out[..., 1] = (sin * u[..., 0] + cos * u[..., 1]) * side + roi.center[idx, 1][:, None]
        out[..., 2] = u[..., 2] * side
        return out.astype(np.float32)

    def run(self, frames, boxes_or_previous) -> MeshResult:
        frames = check_frames(frames)
        n = len(frames)
        if isinstance(boxes_or_previous, FaceRoi):
            roi = boxes_or_previous
        elif isinstance(boxes_or_previous, (list, tuple)) and all(isinstance(d, Detections) for d in boxes_or_previous):
            roi = roi_from_detections(list(boxes_or_previous))
        else:
            roi = roi_from_landmarks(boxes_or_previous)
        if len(roi.valid) != n:
            raise ValueError(f"boxes_or_previous covers {len(roi.valid)} frames; frames has {n}")
        out = np.full((n, NUM_LANDMARKS, 3), np.nan, np.float32)
        presence = np.full(n, np.nan, np.float32)
        idx = np.flatnonzero(roi.valid)
        for s in range(0, len(idx), self.batch_size):
            part = idx[s:s + self.batch_size]
            sub = FaceRoi(roi.center[part], roi.side[part], roi.rotation[part], np.ones(len(part), bool))
            raw_lm, logit = self.raw(self.preprocess(frames[part], sub))
            p = (1.0 / (1.0 + np.exp(-np.clip(logit.astype(np.float64), -100, 100)))).astype(np.float32)
            presence[part] = p
            lm = self.project(raw_lm, sub, np.arange(len(part)))
            ok = p >= self.min_presence
            out[part[ok]] = lm[ok]
        return MeshResult(out, presence, roi)

    def landmarks(self, frames, boxes_or_previous) -> np.ndarray:
        """(N, 468, 3) float32 landmark pixels (x, y, z) of each frame; NaN rows where no face."""
        return self.run(frames, boxes_or_previous).landmarks


class FaceMeshTracker:
    """MediaPipe ``solutions.face_mesh`` for one face, frame by frame: BlazeFace + face mesh.

    ``tracking=False`` = ``static_image_mode=True`` (detect on every frame). ``tracking=True`` = video mode: the
    previous landmarks give the next crop; BlazeFace runs again only after a frame whose face presence fell below
    ``min_presence`` (that frame itself has no landmarks, as in MediaPipe). ``detect(rgb)`` returns (468, 2) float32
    pixels or None, the interface of ``pseudopulse.face.detector.FaceMeshDetector``."""

    def __init__(self, *, tracking: bool = True, min_detection_confidence: float = 0.5,
                 min_tracking_confidence: float = 0.5, device: str | torch.device = "cpu", backend: str = "auto"):
        self.tracking = bool(tracking)
        self.detector = BlazeFace(min_score=min_detection_confidence, device=device, backend=backend)
        self.mesh = FaceMesh(min_presence=min_tracking_confidence, device=device, backend=backend)
        self.backend = self.mesh.backend
        self.name = f"pseudopulse-facemesh-{self.backend} (mediapipe 0.10.21 models)"
        self._prev: np.ndarray | None = None

    def process(self, rgb: np.ndarray) -> np.ndarray | None:
        """(468, 3) float32 pixel landmarks of the face in ``rgb`` (H, W, 3) uint8, or None."""
        frames = check_frames(rgb)
        if self.tracking and self._prev is not None:
            lm = self.mesh.landmarks(frames, self._prev[None])[0]
        else:
            dets = self.detector.detect(frames)
            lm = self.mesh.landmarks(frames, dets)[0]
        ok = bool(np.isfinite(lm).all())
        self._prev = lm if (ok and self.tracking) else None
        return lm if ok else None

    def detect(self, rgb: np.ndarray) -> np.ndarray | None:
        lm = self.process(rgb)
        return None if lm is None else np.ascontiguousarray(lm[:, :2])

    def reset(self) -> None:
        self._prev = None

    def close(self) -> None:
        self._prev = None

    def __enter__(self) -> "FaceMeshTracker":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
