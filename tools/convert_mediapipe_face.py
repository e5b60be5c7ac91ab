"""Convert MediaPipe's BlazeFace (short range) and face-mesh TFLite models to ``.npz`` weights for
``pseudopulse.face.blazeface`` / ``pseudopulse.face.facemesh``.

Also copies the two .tflite files unchanged beside the weights (the optional LiteRT backend runs them).

Dev-only tool, not installed with the package. Needs the ``tflite`` PyPI package (a flatbuffer parser;
nothing is executed) and the two model files from the mediapipe 0.10.21 wheel:

    pip install tflite
    python tools/convert_mediapipe_face.py --mediapipe-dir .venv/lib/python3.11/site-packages/mediapipe

Each weight-carrying op (CONV_2D, DEPTHWISE_CONV_2D, PRELU) is stored under the name of the tensor it
produces (``conv2d_3.weight``, ``depthwise_conv2d_3.bias``, ``p_re_lu_3.alpha``), in PyTorch layout
(conv OIHW, depthwise (C, 1, kh, kw), PReLU (C,)) and in the model's stored precision (float16; the TFLite graphs
DEQUANTIZE these to float32 before each op). The torch modules name the same tensors, so the mapping is explicit.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
from pathlib import Path

import numpy as np

MODELS = {
    "blazeface_short_range.npz": "modules/face_detection/face_detection_short_range.tflite",
    "face_landmark.npz": "modules/face_landmark/face_landmark.tflite",
}

_NP_TYPES = {0: np.float32, 1: np.float16, 2: np.int32}


def read_tflite(path: Path) -> dict[str, np.ndarray]:
    import tflite

    buf = path.read_bytes()
    model = tflite.Model.GetRootAsModel(buf, 0)
    g = model.Subgraphs(0)
    opnames = {v: k for k, v in tflite.BuiltinOperator.__dict__.items() if not k.startswith("_")}

    def op_name(op):
        code = model.OperatorCodes(op.OpcodeIndex())
        return opnames[max(code.BuiltinCode(), code.DeprecatedBuiltinCode())]

    def const(i: int) -> np.ndarray | None:
        t = g.Tensors(i)
        b = model.Buffers(t.Buffer())
        if b.DataLength() == 0:
            return None
        return b.DataAsNumpy().view(_NP_TYPES[t.Type()]).reshape(t.ShapeAsNumpy())

    # tensor index -> constant array, following DEQUANTIZE ops back to their float16 source
    consts: dict[int, np.ndarray] = {}
    for k in range(g.OperatorsLength()):
        op = g.Operators(k)
        if op_name(op) == "DEQUANTIZE":
            consts[int(op.Outputs(0))] = const(int(op.Inputs(0)))

    def weight(i: int) -> np.ndarray:
        a = consts.get(i)
        if a is None:
            a = const(i)
        if a is None:
            raise ValueError(f"{path}: tensor {i} is not a constant")
        return a

    out: dict[str, np.ndarray] = {}
    for k in range(g.OperatorsLength()):
        op = g.Operators(k)
        kind = op_name(op)
        name = g.Tensors(int(op.Outputs(0))).Name().decode()
        ins = [int(i) for i in op.InputsAsNumpy()]
        if kind == "CONV_2D":
            out[f"{name}.weight"] = weight(ins[1]).transpose(0, 3, 1, 2)  # OHWI -> OIHW
            out[f"{name}.bias"] = weight(ins[2])
        elif kind == "DEPTHWISE_CONV_2D":
            out[f"{name}.weight"] = weight(ins[1]).transpose(3, 0, 1, 2)  # 1HWC -> C1HW
            out[f"{name}.bias"] = weight(ins[2])
        elif kind == "PRELU":
            out[f"{name}.alpha"] = weight(ins[1]).reshape(-1)
    return {k: np.ascontiguousarray(v) for k, v in out.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mediapipe-dir", type=Path, required=True, help="the installed mediapipe package folder")
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "src/pseudopulse/face/weights")
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    for fname, rel in MODELS.items():
        src = a.mediapipe_dir / rel
        w = read_tflite(src)
        w["_source_sha256"] = np.array(hashlib.sha256(src.read_bytes()).hexdigest())
        w["_source_file"] = np.array(rel)
        np.savez_compressed(a.out / fname, **w)
        shutil.copyfile(src, a.out / src.name)  # the original, for the optional LiteRT backend
        n = sum(v.size for k, v in w.items() if not k.startswith("_"))
        print(f"{fname}: {len(w) - 2} arrays, {n} parameters, dtypes {sorted({str(v.dtype) for k, v in w.items() if not k.startswith('_')})}")


if __name__ == "__main__":
    main()
