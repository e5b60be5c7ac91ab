"""The PyTorch port of MediaPipe's BlazeFace + face mesh against references recorded once from MediaPipe 0.10.21.

Fixture: ``tests/fixtures/face/face_port.npz``, written by ``tools/record_face_fixtures.py`` (frames downscaled from
the shared UBFC-rPPG recordings and unlabeled clips, two of them rotated; raw TFLite outputs from ai-edge-litert on
the same input tensors; ``mp.solutions`` boxes and landmarks). Nothing here needs mediapipe; the LiteRT backend's
tests (the optional ``litert`` extra) skip without ``ai-edge-litert``.
"""

from pathlib import Path

import numpy as np
import pytest
import torch

from pseudopulse.face.blazeface import (
    NUM_ANCHORS,
    BlazeFace,
    Detections,
    blazeface_net,
    decode_boxes,
    ssd_anchors,
    weighted_nms,
)
from pseudopulse.face.facemesh import FaceMesh, FaceMeshTracker, facemesh_net, roi_from_detections
from pseudopulse.face.runtime import litert_available

needs_litert = pytest.mark.skipif(not litert_available(), reason="ai-edge-litert not installed (the litert extra)")
BACKENDS = ["torch", pytest.param("litert", marks=needs_litert)]

FIXTURE = Path(__file__).parent / "fixtures" / "face" / "face_port.npz"


@pytest.fixture(scope="module")
def ref() -> dict[str, np.ndarray]:
    with np.load(FIXTURE) as z:
        return {k: z[k] for k in z.files}


@pytest.fixture(scope="module")
def stills(ref) -> list[np.ndarray]:
    return [ref[f"frame_{k}"] for k in range(len(ref["det_count"]))]


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def detector(backend) -> BlazeFace:
    return BlazeFace(backend=backend)


@pytest.fixture(scope="module")
def mesh(backend) -> FaceMesh:
    return FaceMesh(backend=backend)


def _iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


# ------------------------------------------------------------------ raw networks vs TFLite on the same tensors
def test_blazeface_raw_outputs_match_tflite(ref):
    x = torch.from_numpy(ref["det_input"].astype(np.float32) * np.float32(2 / 255) - 1).permute(0, 3, 1, 2)
    with torch.inference_mode():
        reg, logit = (t.numpy() for t in blazeface_net()(x))
    assert reg.shape == ref["det_reg"].shape and logit.shape == ref["det_logit"].shape
    # regressors are in input pixels (128 px); anchors far from any face carry large meaningless values, so the
    # tolerance grows with magnitude there (float32 accumulation order differs from XNNPACK's)
    np.testing.assert_allclose(reg, ref["det_reg"], atol=1e-3, rtol=1e-5)
    np.testing.assert_allclose(logit, ref["det_logit"], atol=1e-3, rtol=1e-5)
    face = ref["det_logit"] > 0  # anchors that score a face
    assert face.sum() > 10
    assert np.abs(reg - ref["det_reg"])[face].max() < 1e-3


def test_facemesh_raw_outputs_match_tflite(ref):
    x = torch.from_numpy(ref["mesh_input"].astype(np.float32) / np.float32(255)).permute(0, 3, 1, 2)
    with torch.inference_mode():
        lm, logit = (t.numpy() for t in facemesh_net()(x))
    assert np.abs(lm - ref["mesh_raw"]).max() < 1e-3  # 192-px crop units
    assert np.abs(logit - ref["mesh_logit"]).max() < 1e-3


@needs_litert
def test_litert_backend_runs_the_tflite_models(ref):
    """The litert backend is the reference runtime: its raw outputs are the recorded TFLite ones."""
    det, mesh = BlazeFace(backend="litert"), FaceMesh(backend="litert")
    assert det.backend == mesh.backend == "litert"
    reg, logit = det.raw(ref["det_input"].astype(np.float32) * np.float32(2 / 255) - 1)
    assert reg.shape == ref["det_reg"].shape and logit.shape == ref["det_logit"].shape
    np.testing.assert_allclose(reg, ref["det_reg"], atol=1e-4, rtol=1e-6)
    np.testing.assert_allclose(logit, ref["det_logit"], atol=1e-4, rtol=1e-6)
    lm, p = mesh.raw(ref["mesh_input"].astype(np.float32) / np.float32(255))
    assert lm.shape == ref["mesh_raw"].shape and p.shape == ref["mesh_logit"].shape
    assert np.abs(lm - ref["mesh_raw"]).max() < 1e-4
    assert np.abs(p - ref["mesh_logit"]).max() < 1e-4


def test_network_inputs_are_built_like_mediapipe(ref, stills):
    """Letterbox and rotated crop reproduce the recorded uint8 network inputs (OpenCV warp, as MediaPipe's CPU path).

    The recorded crops follow the torch port's detections; the crop code is the same for both backends, but LiteRT's
    detections differ by ~1e-5 px, enough to move a crop pixel on a sharp edge to the next 1/32-px step."""
    detector, mesh = BlazeFace(backend="torch"), FaceMesh(backend="torch")
    for j, k in enumerate(ref["raw_frames"]):
        x, _ = detector.preprocess(stills[k])
        u8 = np.rint((x[0] + 1) * 127.5)
        assert np.abs(u8 - ref["det_input"][j]).max() <= 1
        roi = roi_from_detections(detector.detect(stills[k]))
        y = mesh.preprocess(stills[k][None], roi)
        assert np.abs(np.rint(y[0] * 255) - ref["mesh_input"][j]).max() <= 1


# ------------------------------------------------------------------ end to end vs mp.solutions
def test_detections_match_mediapipe_face_detection(ref, stills, detector):
    dets = [detector.detect(f)[0] for f in stills]  # frames differ in size: one call each
    for k, d in enumerate(dets):
        assert len(d) == ref["det_count"][k]
        assert _iou(d.boxes[0], ref["det_box"][k]) >= 0.99
        assert np.abs(d.keypoints[0] - ref["det_kp"][k]).max() < 0.1  # pixels
        assert abs(d.scores[0] - ref["det_score"][k]) < 1e-3


def test_landmarks_match_mediapipe_face_mesh_static(ref, stills, detector, mesh):
    for k, f in enumerate(stills):
        lm = mesh.landmarks(f, detector.detect(f))[0]
        err = np.abs(lm - ref["mesh_lm"][k])
        assert err[:, :2].max() < 0.5, f"still {k} ({ref['names'][k]}): {err[:, :2].max():.3f} px"
        assert err[:, 2].max() < 0.5


def test_tracking_matches_mediapipe_video_mode(ref, backend):
    frames = [ref[f"track_{t}"] for t in range(len(ref["track_lm"]))]
    with FaceMeshTracker(tracking=True, backend=backend) as tr:
        for t, f in enumerate(frames):
            lm = tr.process(f)
            assert lm is not None
            assert np.abs(lm[:, :2] - ref["track_lm"][t][:, :2]).max() < 0.5


# ------------------------------------------------------------------ API contract
def test_batched_detect_equals_frame_by_frame(stills, detector, mesh):
    frames = np.stack([stills[0], stills[1], stills[2]])  # same size (192, 256)
    batch = detector.detect(frames)
    assert isinstance(batch, list) and len(batch) == 3 and all(isinstance(d, Detections) for d in batch)
    for f, d in zip(frames, batch):
        one = detector.detect(f)[0]
        np.testing.assert_allclose(d.boxes, one.boxes, atol=1e-3)
    lm = mesh.landmarks(frames, batch)
    assert lm.shape == (3, 468, 3) and lm.dtype == np.float32
    np.testing.assert_allclose(lm[1], mesh.landmarks(frames[1], [batch[1]])[0], atol=1e-3)
    # previous landmarks as the crop (tracking) land on the same face
    again = mesh.landmarks(frames, lm)
    assert np.nanmax(np.abs(again - lm)[..., :2]) < 3.0


def test_no_face_gives_empty_detections_and_nan_landmarks(detector, mesh):
    blank = np.full((2, 120, 160, 3), 128, np.uint8)
    dets = detector.detect(blank)
    assert [len(d) for d in dets] == [0, 0]
    assert dets[0].boxes.shape == (0, 4) and dets[0].keypoints.shape == (0, 6, 2)
    lm = mesh.landmarks(blank, dets)
    assert lm.shape == (2, 468, 3) and np.isnan(lm).all()
    with FaceMeshTracker() as tr:
        assert tr.detect(blank[0]) is None


def test_bad_input_names_the_rule(detector, mesh):
    with pytest.raises(ValueError, match="uint8"):
        detector.detect(np.zeros((2, 64, 64, 3), np.float32))
    with pytest.raises(ValueError, match="frames"):
        mesh.landmarks(np.zeros((2, 64, 64, 3), np.uint8), [Detections(np.zeros((0, 4)), np.zeros((0, 6, 2)), np.zeros(0), (64, 64))])
    with pytest.raises(ValueError, match="min_score"):
        BlazeFace(min_score=2.0)


def test_anchors_and_decoding():
    a = ssd_anchors()
    assert a.shape == (NUM_ANCHORS, 2)
    np.testing.assert_allclose(a[0], [0.5 / 16, 0.5 / 16])
    np.testing.assert_allclose(a[1], a[0])  # two anchors per 16x16 cell
    np.testing.assert_allclose(a[512], [0.5 / 8, 0.5 / 8])  # then 6 per 8x8 cell
    np.testing.assert_allclose(a[-1], [7.5 / 8, 7.5 / 8])
    reg = np.zeros((NUM_ANCHORS, 16), np.float32)
    reg[0, 2:4] = 32.0  # a 32-px box centred on anchor 0
    reg[0, 4:6] = (6.4, -6.4)
    d = decode_boxes(reg, a)
    np.testing.assert_allclose(d[0, :6], [a[0, 0] - 0.125, a[0, 1] - 0.125, a[0, 0] + 0.125, a[0, 1] + 0.125,
                                          a[0, 0] + 0.05, a[0, 1] - 0.05], atol=1e-6)


def test_weighted_nms_merges_overlaps_and_keeps_disjoint_faces():
    d = np.zeros((3, 16), np.float32)
    d[0, :4] = (0.10, 0.10, 0.30, 0.30)
    d[1, :4] = (0.12, 0.10, 0.32, 0.30)  # overlaps 0 (IoU ~0.82)
    d[2, :4] = (0.60, 0.60, 0.80, 0.80)  # elsewhere
    out, s = weighted_nms(d, np.array([0.9, 0.6, 0.7], np.float32), 0.3)
    assert len(out) == 2 and list(s) == pytest.approx([0.9, 0.7])
    np.testing.assert_allclose(out[0, 0], (0.9 * 0.10 + 0.6 * 0.12) / 1.5, atol=1e-6)
    np.testing.assert_allclose(out[1, :4], d[2, :4])


def rotation_about(cx: float, cy: float, angle_deg: float, scale: float) -> np.ndarray:
    """(2, 3) forward affine map: rotate by ``angle_deg`` (counter-clockwise on screen) and scale about (cx, cy) px."""
    a, b = scale * np.cos(np.radians(angle_deg)), scale * np.sin(np.radians(angle_deg))
    return np.array([[a, b, (1 - a) * cx - b * cy], [-b, a, b * cx + (1 - a) * cy]])


def test_rotated_face_gives_rotated_landmarks(stills, detector, mesh):
    """Round trip: rotating the frame by 20 degrees rotates the landmarks by 20 degrees (the crop levels the eyes)."""
    from pseudopulse.face.warp import invert_affine, warp_affine

    f = stills[0]
    h, w = f.shape[:2]
    m = rotation_about(w / 2, h / 2, 20.0, 1.0)
    g = warp_affine(np.ascontiguousarray(f), invert_affine(m), (h, w), "reflect101")
    lm0 = mesh.landmarks(f, detector.detect(f))[0][:, :2]
    lm1 = mesh.landmarks(g, detector.detect(g))[0][:, :2]
    expect = lm0 @ m[:, :2].T + m[:, 2]
    err = np.linalg.norm(lm1 - expect, axis=1)
    face = np.ptp(lm0[:, 0])
    assert np.median(err) < 0.02 * face  # within 2 % of the face width


def test_weights_ship_inside_the_package():
    from importlib import resources

    w = resources.files("pseudopulse.face").joinpath("weights")
    names = {p.name for p in w.iterdir()}
    assert {"blazeface_short_range.npz", "face_landmark.npz", "NOTICE"} <= names


# ------------------------------------------------------------------ backend selection
def test_backend_resolution(monkeypatch):
    from pseudopulse.errors import FaceError
    from pseudopulse.face import runtime
    from pseudopulse.face.detector import FaceMeshDetector, detector_name

    monkeypatch.delenv(runtime.ENV_VAR, raising=False)
    assert runtime.resolve_backend("torch", "cpu") == "torch"
    assert runtime.resolve_backend("auto", "cuda:0") == "torch"  # LiteRT runs on the CPU only
    assert runtime.resolve_backend("auto", "cpu") == ("litert" if litert_available() else "torch")
    with pytest.raises(ValueError, match="backend must be one of"):
        runtime.resolve_backend("onnx", "cpu")
    with pytest.raises(ValueError, match="CPU only"):
        runtime.resolve_backend("litert", "cuda")
    monkeypatch.setenv(runtime.ENV_VAR, "torch")
    assert runtime.resolve_backend("auto", "cpu") == "torch"
    with FaceMeshDetector(tracking=False) as det:
        assert det.backend == "torch" and det.name == detector_name("torch") == "mediapipe-face-mesh-0.10.21-torch"
    monkeypatch.setenv(runtime.ENV_VAR, "tflite")
    with pytest.raises(FaceError, match="PSEUDOPULSE_FACE_BACKEND='tflite' is not a face backend"):
        FaceMeshDetector()
    monkeypatch.delenv(runtime.ENV_VAR)
    monkeypatch.setattr(runtime, "litert_available", lambda: False)
    assert runtime.resolve_backend("auto", "cpu") == "torch"
    with pytest.raises(FaceError, match=r'pip install "pseudopulse\[litert\]"'):
        runtime.resolve_backend("litert", "cpu")


@needs_litert
def test_litert_and_torch_track_the_same_landmarks(ref):
    from pseudopulse.face.detector import FaceMeshDetector

    frames = [ref[f"track_{t}"] for t in range(len(ref["track_lm"]))]
    with FaceMeshDetector(backend="torch") as a, FaceMeshDetector(backend="litert") as b:
        assert b.name == "mediapipe-face-mesh-0.10.21-litert"
        for f in frames:
            assert np.abs(a.detect(f) - b.detect(f)).max() < 0.05  # px; the same model on two runtimes


def test_both_backends_ship_the_same_models():
    """The .tflite files LiteRT runs are the ones the torch weights were converted from (their recorded SHA-256)."""
    import hashlib
    from importlib import resources

    weights = resources.files("pseudopulse.face").joinpath("weights")
    for npz, tflite in (("blazeface_short_range.npz", "face_detection_short_range.tflite"),
                        ("face_landmark.npz", "face_landmark.tflite")):  # fmt: skip
        with weights.joinpath(npz).open("rb") as f, np.load(f) as z:
            assert str(z["_source_sha256"]) == hashlib.sha256(weights.joinpath(tflite).read_bytes()).hexdigest()
