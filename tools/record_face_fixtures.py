"""Record the reference outputs that ``tests/test_face_port.py`` checks the PyTorch face port against.

Dev-only, run once (not installed, not run by the tests). Needs:
- the project venv with mediapipe 0.10.21 (``solutions.face_detection`` / ``solutions.face_mesh`` = the reference
  end to end) and OpenCV;
- a second Python with ``ai-edge-litert`` (``--litert-python``) for the raw TFLite outputs on the same input
  tensors, e.g. ``python3 -m venv /tmp/litert && /tmp/litert/bin/pip install ai-edge-litert 'numpy<2'``;
- the shared recordings (``--data``, read-only). Only a few downscaled frames are stored (fixtures < 2 MB).

    PYTHONPATH=src python tools/record_face_fixtures.py --data ../shared/data --litert-python /tmp/litert/bin/python

Writes ``tests/fixtures/face/face_port.npz``:
- ``frame_<k>`` (H, W, 3) uint8 RGB, ``names`` (source clip and frame index, how it was resized/rotated);
- ``det_count`` (K,), ``det_box`` (K, 4) pixel x0 y0 x1 y1, ``det_kp`` (K, 6, 2), ``det_score`` (K,) — best face of
  ``mp.solutions.face_detection`` (short range, min 0.5);
- ``mesh_lm`` (K, 468, 3) pixels (z x image width) — ``mp.solutions.face_mesh`` static_image_mode=True,
  refine_landmarks=False;
- for the stills ``raw_frames`` (3 of K): ``det_input`` (3, 128, 128, 3) uint8 letterboxed network input and the TFLite outputs on it, ``det_reg``
  (3, 896, 16), ``det_logit`` (3, 896); ``mesh_input`` (3, 192, 192, 3) uint8 crop and ``mesh_raw`` (3, 468, 3),
  ``mesh_logit`` (3,);
- ``track_<t>`` (T consecutive frames) and ``track_lm`` (T, 468, 3) — ``mp.solutions.face_mesh`` video mode.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

# (clip relative to --data, frame index, rotate degrees)
STILLS = [
    ("real/ubfc_rppg_h264/subject10/vid.mp4", 202, 0),
    ("real/ubfc_rppg_h264/subject14/vid.mp4", 1195, 0),
    ("real/ubfc_rppg_h264/subject20/vid.mp4", 201, 0),
    ("real/ubfc_rppg_h264/subject10/vid.mp4", 202, 30),
    ("unlabeled/dfdc_real_lynaeydofd.mp4", 90, 0),
    ("unlabeled/lp_d13.mp4", 105, 0),
    ("unlabeled/pexels_8136210_male.mp4", 150, -25),
]
TRACK = ("unlabeled/lp_d6.mp4", 300, 6)  # clip, first frame, count
RAW_SUBSET = [0, 3, 5]  # stills whose raw network inputs/outputs are stored (upright, rotated, portrait)
MAX_SIDE = 256
TRACK_SIDE = 160

LITERT = r"""
import sys, numpy as np
from ai_edge_litert.interpreter import Interpreter
d = dict(np.load(sys.argv[1]))
def run(path, x):
    it = Interpreter(model_path=path, num_threads=1); it.allocate_tensors()
    i = it.get_input_details()[0]['index']; outs = {o['name']: o['index'] for o in it.get_output_details()}
    res = {k: [] for k in outs}
    for a in x:
        it.set_tensor(i, a[None]); it.invoke()
        for k, j in outs.items(): res[k].append(it.get_tensor(j)[0].copy())
    return {k: np.stack(v) for k, v in res.items()}
a = run(sys.argv[3], d['det_x']); b = run(sys.argv[4], d['mesh_x'])
np.savez(sys.argv[2], det_reg=a['regressors'], det_logit=a['classificators'][..., 0],
         mesh_raw=b['conv2d_21'].reshape(-1, 468, 3), mesh_logit=b['conv2d_31'].reshape(-1))
"""


def read_frames(path: Path, start: int, n: int) -> list[np.ndarray]:
    import cv2

    cap = cv2.VideoCapture(str(path))
    cap.set(cv2.CAP_PROP_POS_FRAMES, start)
    out = []
    for _ in range(n):
        ok, f = cap.read()
        if not ok:
            raise RuntimeError(f"{path}: cannot read frame {start + len(out)}")
        out.append(np.ascontiguousarray(f[..., ::-1]))
    return out


def shrink(f: np.ndarray, max_side: int) -> np.ndarray:
    import cv2

    h, w = f.shape[:2]
    s = max_side / max(h, w)
    return cv2.resize(f, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA) if s < 1 else f


def rotate(f: np.ndarray, deg: float) -> np.ndarray:
    import cv2

    h, w = f.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), deg, 1.0)
    return cv2.warpAffine(f, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, required=True, help="the shared data folder (holds real/ and unlabeled/)")
    ap.add_argument("--litert-python", required=True, help="a Python with ai-edge-litert installed")
    ap.add_argument("--out", type=Path, default=ROOT / "tests/fixtures/face/face_port.npz")
    a = ap.parse_args()

    import mediapipe as mp

    from pseudopulse.face.blazeface import BlazeFace, letterbox_transform, warp
    from pseudopulse.face.facemesh import FaceMesh, roi_from_detections

    models = Path(mp.__file__).parent / "modules"
    frames, names = [], []
    for clip, idx, deg in STILLS:
        f = shrink(read_frames(a.data / clip, idx, 1)[0], MAX_SIDE)
        frames.append(rotate(f, deg) if deg else f)
        names.append(f"{clip}#{idx} max_side={MAX_SIDE} rotate={deg}")

    fd = mp.solutions.face_detection.FaceDetection(model_selection=0, min_detection_confidence=0.5)
    fm = mp.solutions.face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1, refine_landmarks=False)
    out: dict[str, np.ndarray] = {}
    count, box, kp, score, lms = [], [], [], [], []
    for f in frames:
        h, w = f.shape[:2]
        r = fd.process(f)
        d = r.detections or []
        count.append(len(d))
        bb = d[0].location_data.relative_bounding_box
        box.append([bb.xmin * w, bb.ymin * h, (bb.xmin + bb.width) * w, (bb.ymin + bb.height) * h])
        kp.append([(k.x * w, k.y * h) for k in d[0].location_data.relative_keypoints])
        score.append(d[0].score[0])
        r = fm.process(f)
        lms.append([(p.x * w, p.y * h, p.z * w) for p in r.multi_face_landmarks[0].landmark])
    out.update(det_count=np.array(count), det_box=np.array(box, np.float32), det_kp=np.array(kp, np.float32),
               det_score=np.array(score, np.float32), mesh_lm=np.array(lms, np.float32))

    # network inputs exactly as the port builds them (uint8 before scaling), raw TFLite outputs on them
    bf, mesh = BlazeFace(), FaceMesh()
    det_u8, mesh_u8 = [], []
    for f in frames:
        m, _ = letterbox_transform(*f.shape[:2])
        det_u8.append(warp(f, m, 128, "zero"))
        roi = roi_from_detections(bf.detect(f))
        mesh_u8.append(warp(f, mesh.crop_matrix(roi, 0), 192, "replicate"))
    det_u8, mesh_u8 = np.stack(det_u8), np.stack(mesh_u8)
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "in.npz", Path(tmp) / "out.npz"
        np.savez(src, det_x=det_u8.astype(np.float32) * np.float32(2 / 255) - np.float32(1),
                 mesh_x=mesh_u8.astype(np.float32) * np.float32(1 / 255))
        subprocess.run([a.litert_python, "-c", LITERT, str(src), str(dst),
                        str(models / "face_detection/face_detection_short_range.tflite"),
                        str(models / "face_landmark/face_landmark.tflite")], check=True)
        with np.load(dst) as z:
            out.update({k: z[k] for k in z.files})
    out.update(det_input=det_u8, mesh_input=mesh_u8)
    # raw-tensor references for a subset only (keeps the fixture file < 2 MB)
    out["raw_frames"] = np.array(RAW_SUBSET)
    for k in ("det_input", "det_reg", "det_logit", "mesh_input", "mesh_raw", "mesh_logit"):
        out[k] = out[k][RAW_SUBSET]

    # video mode: consecutive frames, previous landmarks seed the next crop
    clip, start, n = TRACK
    track = [shrink(f, TRACK_SIDE) for f in read_frames(a.data / clip, start, n)]
    fv = mp.solutions.face_mesh.FaceMesh(static_image_mode=False, max_num_faces=1, refine_landmarks=False)
    tl = []
    for f in track:
        h, w = f.shape[:2]
        r = fv.process(f)
        tl.append([(p.x * w, p.y * h, p.z * w) for p in r.multi_face_landmarks[0].landmark])
    out["track_lm"] = np.array(tl, np.float32)
    names.append(f"track: {clip}#{start}..{start + n - 1} max_side={TRACK_SIDE}")

    for k, f in enumerate(frames):
        out[f"frame_{k}"] = f
    for t, f in enumerate(track):
        out[f"track_{t}"] = f
    out["names"] = np.array(names)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(a.out, **out)
    print(f"{a.out}: {a.out.stat().st_size / 1e6:.2f} MB, {len(frames)} stills, {len(track)} tracked frames", file=sys.stderr)


if __name__ == "__main__":
    main()
