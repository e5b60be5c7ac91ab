"""BlazeFace short-range face detector (MediaPipe 0.10.21's ``face_detection_short_range.tflite``) in PyTorch.

Paper: Bazarevsky et al., "BlazeFace: Sub-millisecond Neural Face Detection on Mobile GPUs", CVPR-W 2019.
Weights: converted once from the mediapipe 0.10.21 wheel (Apache-2.0, see ``weights/NOTICE``) by
``tools/convert_mediapipe_face.py``; shipped in ``pseudopulse/face/weights/blazeface_short_range.npz`` (float16,
as stored in the .tflite file).

This module reproduces what MediaPipe's ``solutions.face_detection`` graph (``FaceDetectionShortRangeCpu``) does
around the network:

1. letterbox: the frame is padded to a centred square (zeros) and resampled to 128 x 128 the way OpenCV's
   ``warpPerspective`` does (bilinear, fixed point, on uint8, as MediaPipe's CPU ``ImageToTensorCalculator``;
   ``face.warp``), then mapped to [-1, 1];
2. network: ``regressors`` (896, 16) and score logits (896,) over 896 SSD anchors (16x16 grid x 2 + 8x8 x 6);
3. decoding (``TensorsToDetectionsCalculator``): box centre/size and 6 keypoints relative to the anchor centres,
   scale 128; score = sigmoid(clip(logit, +-100)); keep score >= ``min_score``;
4. weighted non-maximum suppression (``NonMaxSuppressionCalculator``, WEIGHTED, IoU > 0.3), in the letterboxed
   square; then the letterbox is removed (``DetectionLetterboxRemovalCalculator``).

Shapes: frames (N, H, W, 3) uint8 RGB. Output: one ``Detections`` per frame, coordinates in pixels of that frame.
Keypoints, in MediaPipe's order: 0 right eye (the subject's; left in the image), 1 left eye, 2 nose tip, 3 mouth
centre, 4 right ear tragion, 5 left ear tragion.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from pseudopulse.face.runtime import LiteRTNet, resolve_backend
from pseudopulse.face.warp import box_points, invert_perspective, perspective_transform, warp_perspective

INPUT_SIZE = 128
NUM_ANCHORS = 896
NUM_KEYPOINTS = 6
KEYPOINT_NAMES = ("right_eye", "left_eye", "nose_tip", "mouth_center", "right_ear_tragion", "left_ear_tragion")


# ----------------------------------------------------------------------------------------------- network
def pad_same(x: torch.Tensor, kernel: int, stride: int) -> torch.Tensor:
    """TensorFlow "SAME" padding (asymmetric: the extra row/column goes to the bottom/right)."""
    h, w = x.shape[-2:]
    ph = max((-(-h // stride) - 1) * stride + kernel - h, 0)
    pw = max((-(-w // stride) - 1) * stride + kernel - w, 0)
    if ph == 0 and pw == 0:
        return x
    return F.pad(x, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2))


class BlazeBlock(nn.Module):
    """Residual block: depthwise 3x3 (stride 1 or 2, SAME) -> pointwise 1x1 conv, plus the skip path
    (2x2 max-pool when strided, zero channel padding when widening), then ReLU or PReLU.

    ``names`` = (depthwise, pointwise, activation) tensor names in the TFLite graph (the keys of the weight file).
    """

    def __init__(self, cin: int, cout: int, stride: int, act: str, names: tuple[str, str, str | None]):
        super().__init__()
        self.stride, self.cin, self.cout = stride, cin, cout
        # stride 1: "SAME" is symmetric (1 px), done inside the conv; stride 2: asymmetric, padded explicitly
        self.dw = nn.Conv2d(cin, cin, 3, stride=stride, groups=cin, padding=1 if stride == 1 else 0)
        self.pw = nn.Conv2d(cin, cout, 1)
        self.act = nn.PReLU(cout) if act == "prelu" else nn.ReLU(inplace=True)
        self.names = names

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.pw(self.dw(x if self.stride == 1 else pad_same(x, 3, 2)))
        if self.stride == 2:
            x = F.max_pool2d(x, 2, 2)
        if self.cout > self.cin:  # skip path zero-padded in channels: add to the first cin channels only
            y[:, : self.cin] += x
        else:
            y += x
        return self.act(y)


def load_tflite_weights(module: nn.Module, weights: dict[str, np.ndarray], mapping: dict[str, str]) -> None:
    """Copy ``weights[tflite_name.weight|bias|alpha]`` into ``module`` parameters named in ``mapping``
    (torch submodule path -> TFLite tensor name). Every parameter of ``module`` must be covered."""
    params = dict(module.named_parameters())
    done = set()
    for path, tname in mapping.items():
        sub = module.get_submodule(path)
        if isinstance(sub, nn.PReLU):
            pairs = [("weight", f"{tname}.alpha")]
        else:
            pairs = [("weight", f"{tname}.weight"), ("bias", f"{tname}.bias")]
        for attr, key in pairs:
            src = torch.from_numpy(np.asarray(weights[key], dtype=np.float32))
            dst = getattr(sub, attr)
            if tuple(dst.shape) != tuple(src.shape):
                raise ValueError(f"weight {key}: shape {tuple(src.shape)} does not fit {path}.{attr} {tuple(dst.shape)}")
            with torch.no_grad():
                dst.copy_(src)
            done.add(f"{path}.{attr}")
    missing = set(params) - done
    if missing:
        raise ValueError(f"parameters without a TFLite tensor: {sorted(missing)}")


def block_mapping(blocks: nn.ModuleList, prefix: str) -> dict[str, str]:
    out = {}
    for i, b in enumerate(blocks):
        dw, pw, act = b.names
        out[f"{prefix}.{i}.dw"], out[f"{prefix}.{i}.pw"] = dw, pw
        if act is not None:
            out[f"{prefix}.{i}.act"] = act
    return out


class BlazeFaceNet(nn.Module):
    """The short-range BlazeFace network. Input (N, 3, 128, 128) float in [-1, 1];
    output ``(regressors (N, 896, 16), logits (N, 896))`` in the TFLite graph's anchor order."""

    # (cin, cout, stride) of the 16 blocks; block i uses depthwise_conv2d[_i] and conv2d_{i+1}
    SPEC = [(24, 24, 1), (24, 28, 1), (28, 32, 2), (32, 36, 1), (36, 42, 1), (42, 48, 2), (48, 56, 1), (56, 64, 1),
            (64, 72, 1), (72, 80, 1), (80, 88, 1), (88, 96, 2), (96, 96, 1), (96, 96, 1), (96, 96, 1), (96, 96, 1)]

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 24, 5, stride=2)
        self.blocks = nn.ModuleList(
            BlazeBlock(ci, co, s, "relu", ("depthwise_conv2d" + (f"_{i}" if i else ""), f"conv2d_{i + 1}", None))
            for i, (ci, co, s) in enumerate(self.SPEC)
        )
        self.cls8, self.reg8 = nn.Conv2d(88, 2, 1), nn.Conv2d(88, 32, 1)
        self.cls16, self.reg16 = nn.Conv2d(96, 6, 1), nn.Conv2d(96, 96, 1)

    def tflite_mapping(self) -> dict[str, str]:
        m = {"stem": "conv2d", "cls8": "classificator_8", "reg8": "regressor_8",
             "cls16": "classificator_16", "reg16": "regressor_16"}
        m.update(block_mapping(self.blocks, "blocks"))
        return m

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        n = x.shape[0]
        x = F.relu(self.stem(pad_same(x, 5, 2)))
        for i, b in enumerate(self.blocks):
            x = b(x)
            if i == 10:
                f16 = x  # 16 x 16 x 88
        f8 = x  # 8 x 8 x 96

        def nhwc(t: torch.Tensor, k: int) -> torch.Tensor:
            return t.permute(0, 2, 3, 1).reshape(n, -1, k)

        logits = torch.cat([nhwc(self.cls8(f16), 1), nhwc(self.cls16(f8), 1)], dim=1)[..., 0]
        reg = torch.cat([nhwc(self.reg8(f16), 16), nhwc(self.reg16(f8), 16)], dim=1)
        return reg, logits


@torch.inference_mode()
def run_batched(net: nn.Module, x: np.ndarray, batch_size: int, device) -> tuple[np.ndarray, np.ndarray]:
    """A two-output network on NHWC float32 input (N, H, W, 3), ``batch_size`` frames at a time -> both outputs as
    float32 arrays concatenated over N (an empty N gives empty arrays). ``net``: a torch module on ``device``, or a
    ``runtime.LiteRTNet`` (which takes the NHWC frames as they are, one at a time)."""
    if isinstance(net, LiteRTNet):
        return net(x)
    first, second = [], []
    for s in range(0, len(x), batch_size):
        t = torch.from_numpy(np.ascontiguousarray(x[s : s + batch_size])).to(device).permute(0, 3, 1, 2)  # NHWC memory = channels_last
        a, b = net(t)
        first.append(a.float().cpu().numpy())
        second.append(b.float().cpu().numpy())
    if not first:
        a, b = net(torch.zeros((1, 3, x.shape[1], x.shape[2]), device=device))
        return np.zeros((0, *a.shape[1:]), np.float32), np.zeros((0, *b.shape[1:]), np.float32)
    return np.concatenate(first), np.concatenate(second)


def weights_file(name: str) -> dict[str, np.ndarray]:
    """Arrays of a shipped weight file (``pseudopulse/face/weights/<name>``), read from the installed package."""
    ref = resources.files("pseudopulse.face").joinpath("weights", name)
    with ref.open("rb") as f, np.load(f) as z:
        return {k: z[k] for k in z.files}


@lru_cache(maxsize=4)
def _shipped_state(cls: type, name: str) -> dict[str, torch.Tensor]:
    net = cls()
    load_tflite_weights(net, weights_file(name), net.tflite_mapping())
    return {k: v.detach().clone() for k, v in net.state_dict().items()}


def shipped_net(cls: type, name: str) -> nn.Module:
    """A new ``cls`` network (eval mode, CPU) with the shipped weight file ``name`` (converted once per process)."""
    net = cls()
    net.load_state_dict(_shipped_state(cls, name))
    return net.eval()


def blazeface_net() -> BlazeFaceNet:
    """A ``BlazeFaceNet`` (eval mode, CPU) with the shipped MediaPipe weights."""
    return shipped_net(BlazeFaceNet, "blazeface_short_range.npz")


# ----------------------------------------------------------------------------------------------- anchors and decoding
@lru_cache(maxsize=1)
def ssd_anchors() -> np.ndarray:
    """(896, 2) float32 anchor centres (x, y) in [0, 1] of the letterboxed input, in the network's output order.

    MediaPipe ``SsdAnchorsCalculator`` for the short-range model: 4 layers, strides (8, 16, 16, 16), aspect ratio 1
    plus one interpolated scale per layer, ``fixed_anchor_size`` (w = h = 1), offset 0.5; layers of equal stride
    share a grid -> 16x16 cells x 2 anchors, then 8x8 cells x 6 anchors; order row, column, anchor."""
    out = []
    for stride, per_cell in ((8, 2), (16, 6)):
        g = INPUT_SIZE // stride
        yy, xx = np.meshgrid((np.arange(g) + 0.5) / g, (np.arange(g) + 0.5) / g, indexing="ij")
        c = np.stack([xx, yy], -1).reshape(-1, 1, 2).repeat(per_cell, axis=1).reshape(-1, 2)
        out.append(c)
    a = np.concatenate(out).astype(np.float32)
    assert a.shape == (NUM_ANCHORS, 2)
    return a


def decode_boxes(reg: np.ndarray, anchors: np.ndarray) -> np.ndarray:
    """Raw regressors (..., 896, 16) -> (..., 896, 16) [xmin, ymin, xmax, ymax, kx0, ky0, ..., kx5, ky5] in [0, 1]
    units of the network input (``TensorsToDetectionsCalculator``, reverse_output_order, scale 128)."""
    r = reg / np.float32(INPUT_SIZE)
    xc = r[..., 0] + anchors[:, 0]
    yc = r[..., 1] + anchors[:, 1]
    w, h = r[..., 2], r[..., 3]
    out = np.empty_like(r)
    out[..., 0], out[..., 1] = xc - w / 2, yc - h / 2
    out[..., 2], out[..., 3] = xc + w / 2, yc + h / 2
    out[..., 4::2] = r[..., 4::2] + anchors[:, :1]
    out[..., 5::2] = r[..., 5::2] + anchors[:, 1:]
    return out


def _iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    ix = np.clip(np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0]), 0, None)
    iy = np.clip(np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1]), 0, None)
    inter = ix * iy
    union = (box[2] - box[0]) * (box[3] - box[1]) + (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]) - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def weighted_nms(dets: np.ndarray, scores: np.ndarray, iou_threshold: float = 0.3) -> tuple[np.ndarray, np.ndarray]:
    """MediaPipe's WEIGHTED non-maximum suppression.

    Take the best remaining detection; every remaining one with IoU > ``iou_threshold`` (itself included) is merged
    into it as a score-weighted mean of box and keypoints; the merged detection keeps the best score. Returns
    (K, 16) merged detections and (K,) scores, best first."""
    order = np.argsort(-scores, kind="stable")
    dets, scores = dets[order], scores[order]
    out_d, out_s = [], []
    remaining = np.arange(len(scores))
    while remaining.size:
        top = remaining[0]
        sim = _iou(dets[top, :4], dets[remaining, :4])
        cand = remaining[sim > iou_threshold]
        remaining = remaining[~(sim > iou_threshold)]
        if cand.size == 0:  # only when the top box is degenerate (IoU with itself is 0)
            cand = np.array([top])
            remaining = remaining[remaining != top]
        w = scores[cand]
        out_d.append((dets[cand] * w[:, None]).sum(0) / w.sum())
        out_s.append(scores[top])
    if not out_d:
        return np.zeros((0, dets.shape[1]), np.float32), np.zeros((0,), np.float32)
    return np.stack(out_d).astype(np.float32), np.asarray(out_s, np.float32)


# ----------------------------------------------------------------------------------------------- image transforms
def letterbox_transform(h: int, w: int, size: int = INPUT_SIZE) -> tuple[np.ndarray, tuple[float, float]]:
    """(3, 3) perspective matrix frame pixels -> ``size`` x ``size`` input, and the letterbox padding
    (pad_x, pad_y) per side as a fraction of the square (``ImageToTensorCalculator`` keep_aspect_ratio)."""
    side = float(max(h, w))
    pad_x, pad_y = (1 - w / side) / 2, (1 - h / side) / 2
    return rect_transform(w / 2, h / 2, side, side, 0.0, size), (pad_x, pad_y)


def rect_transform(cx: float, cy: float, rw: float, rh: float, rotation: float, size: int) -> np.ndarray:
    """(3, 3) perspective matrix that maps the rotated rectangle (centre, size in pixels, ``rotation`` in radians)
    of the frame onto a ``size`` x ``size`` image — exactly as MediaPipe's CPU ``ImageToTensorCalculator``
    (``cv::boxPoints`` -> ``cv::getPerspectiveTransform`` onto the output corners; reproduced in ``face.warp``)."""
    src = box_points(cx, cy, rw, rh, float(np.degrees(rotation)))
    s = float(size)
    dst = np.array([[0, s], [0, 0], [s, 0], [s, s]], np.float32)
    return perspective_transform(src, dst)


def warp(frame: np.ndarray, matrix: np.ndarray, size: int, border: str) -> np.ndarray:
    """(size, size, 3) uint8: ``frame`` resampled through ``matrix`` (frame px -> crop px) with bilinear uint8
    interpolation exactly as MediaPipe's CPU graph (OpenCV's ``warpPerspective``); ``border`` "zero" or
    "replicate"."""
    mode = {"zero": "constant", "replicate": "replicate"}[border]
    return warp_perspective(frame, invert_perspective(matrix), (size, size), mode)


def check_frames(frames) -> np.ndarray:
    """(N, H, W, 3) uint8 view of ``frames`` (a single (H, W, 3) frame becomes N = 1)."""
    a = np.asarray(frames)
    if a.ndim == 3:
        a = a[None]
    if a.dtype != np.uint8 or a.ndim != 4 or a.shape[-1] != 3:
        raise ValueError(f"frames must be (N, H, W, 3) or (H, W, 3) uint8 RGB; got {a.dtype} {a.shape}")
    return a


# ----------------------------------------------------------------------------------------------- public API
@dataclass(frozen=True)
class Detections:
    """Faces found in one frame, best score first; coordinates in pixels of that frame.

    boxes (K, 4) float32 (x0, y0, x1, y1); keypoints (K, 6, 2) float32 (x, y) in ``KEYPOINT_NAMES`` order;
    scores (K,) float32 in [0, 1]; image_size (H, W)."""

    boxes: np.ndarray
    keypoints: np.ndarray
    scores: np.ndarray
    image_size: tuple[int, int]

    def __len__(self) -> int:
        return len(self.scores)


class BlazeFace:
    """MediaPipe's short-range BlazeFace detector (faces within ~2 m), batched over frames.

    ``BlazeFace().detect(frames)`` with frames (N, H, W, 3) uint8 RGB returns ``list[Detections]`` (length N).
    ``device``: where the network runs ("cpu" default; "cuda" when you want it). ``backend``: "torch", "litert" or
    "auto" (``face.runtime.resolve_backend``). Preprocessing and NMS run on CPU (NumPy, resampling as OpenCV does), as
    in MediaPipe, so the boxes match its ``solutions.face_detection``."""

    def __init__(self, *, min_score: float = 0.5, iou_threshold: float = 0.3, device: str | torch.device = "cpu",
                 batch_size: int = 64, backend: str = "auto"):
        if not 0.0 <= min_score <= 1.0:
            raise ValueError(f"min_score must be a probability in [0, 1]; got {min_score}")
        self.min_score, self.iou_threshold = float(min_score), float(iou_threshold)
        self.device = torch.device(device)
        self.batch_size = int(batch_size)
        self.backend = resolve_backend(backend, self.device)
        if self.backend == "litert":
            self.net = LiteRTNet("face_detection_short_range.tflite", ("regressors", "classificators"),
                                 ((NUM_ANCHORS, 16), (NUM_ANCHORS,)))  # fmt: skip
        else:
            self.net = blazeface_net().to(self.device, memory_format=torch.channels_last)  # NHWC: faster depthwise convs

    def preprocess(self, frames: np.ndarray) -> tuple[np.ndarray, list[tuple[float, float]]]:
        """(N, 128, 128, 3) float32 network input in [-1, 1] and the letterbox padding of each frame."""
        frames = check_frames(frames)
        n, h, w = frames.shape[:3]
        m, pad = letterbox_transform(h, w)
        x = np.empty((n, INPUT_SIZE, INPUT_SIZE, 3), np.float32)
        for i in range(n):
            x[i] = warp(frames[i], m, INPUT_SIZE, "zero")
        x *= np.float32(2.0 / 255.0)
        x -= np.float32(1.0)
        return x, [pad] * n

    @torch.inference_mode()
    def raw(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Network on preprocessed input (N, 128, 128, 3) float32 -> (regressors (N, 896, 16), logits (N, 896))."""
        return run_batched(self.net, x, self.batch_size, self.device)

    def postprocess(self, reg: np.ndarray, logits: np.ndarray, pad: tuple[float, float],
                    image_size: tuple[int, int]) -> Detections:
        """One frame: decode, threshold, weighted NMS, letterbox removal, to pixels."""
        h, w = image_size
        scores = (1.0 / (1.0 + np.exp(-np.clip(logits.astype(np.float64), -100.0, 100.0)))).astype(np.float32)
        keep = scores >= self.min_score
        dets = decode_boxes(reg[keep], ssd_anchors()[keep]) if keep.any() else np.zeros((0, 16), np.float32)
        dets, sc = weighted_nms(dets, scores[keep].astype(np.float32), self.iou_threshold)
        px, py = pad
        xy = dets.reshape(-1, 8, 2)
        xy = (xy - np.array([px, py], np.float32)) / np.array([1 - 2 * px, 1 - 2 * py], np.float32)
        xy = xy * np.array([w, h], np.float32)
        return Detections(
            boxes=xy[:, :2].reshape(-1, 4).astype(np.float32),
            keypoints=xy[:, 2:].astype(np.float32),
            scores=sc,
            image_size=(int(h), int(w)),
        )

    def detect(self, frames) -> list[Detections]:
        """Faces in each of ``frames`` (N, H, W, 3) uint8 RGB (or one (H, W, 3) frame) -> ``list[Detections]``."""
        frames = check_frames(frames)
        out: list[Detections] = []
        for s in range(0, len(frames), self.batch_size):
            chunk = frames[s:s + self.batch_size]
            x, pads = self.preprocess(chunk)
            reg, logits = self.raw(x)
            out.extend(self.postprocess(reg[i], logits[i], pads[i], chunk.shape[1:3]) for i in range(len(chunk)))
        return out
