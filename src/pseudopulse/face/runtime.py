"""Where the two face networks run: ``torch`` or ``litert``.

- ``torch``: the PyTorch port (``blazeface.BlazeFaceNet``, ``facemesh.FaceMeshNet``, weights converted from the
  TFLite files), on any torch device — always installed.
- ``litert``: the original TFLite files of mediapipe 0.10.21 (shipped beside the converted weights, Apache-2.0, see
  ``weights/NOTICE``) run by LiteRT's interpreter with its XNNPACK CPU kernels, on one thread — the optional extra
  ``pip install "pseudopulse[litert]"`` (``ai-edge-litert``: wheels for CPython 3.10–3.14 on Linux x86-64/aarch64
  and Windows). About 4x faster per face-mesh call than torch on a CPU; the outputs agree with torch's to ~1e-4
  (landmarks in 192-px crop pixels) — the two are the same model.

``resolve_backend("auto", device)`` picks: the ``PSEUDOPULSE_FACE_BACKEND`` environment variable when set, else
``litert`` when it imports and the device is the CPU, else ``torch``.
"""

from __future__ import annotations

import contextlib
import os
from importlib import resources

import numpy as np

from pseudopulse.errors import FaceError

BACKENDS = ("auto", "torch", "litert")
ENV_VAR = "PSEUDOPULSE_FACE_BACKEND"
LITERT_HINT = 'install the optional runtime with: pip install "pseudopulse[litert]" (or use backend="torch")'


@contextlib.contextmanager
def quiet_native_stderr():
    """Silence C++ log lines written straight to file descriptor 2 (LiteRT announces its XNNPACK delegate there)."""
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


def litert_available() -> bool:
    """Whether LiteRT's interpreter (``ai_edge_litert``) imports."""
    try:
        from ai_edge_litert.interpreter import Interpreter  # noqa: F401
    except ImportError:
        return False
    return True


def resolve_backend(backend: str, device) -> str:
    """"torch" or "litert" for a requested ``backend`` (one of ``BACKENDS``) on ``device`` (a torch device or name).

    Raises ValueError for an unknown ``backend`` or "litert" on a non-CPU device, and FaceError (one line, with the
    fix) for an unknown ``$PSEUDOPULSE_FACE_BACKEND`` or "litert" without LiteRT installed."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}; got {backend!r}")
    chosen = backend
    if backend == "auto":
        chosen = os.environ.get(ENV_VAR, "").strip().lower() or "auto"
        if chosen not in BACKENDS:
            raise FaceError(f"${ENV_VAR}={chosen!r} is not a face backend: use one of {BACKENDS} or unset it")
    on_cpu = str(device).split(":")[0] == "cpu"
    if chosen == "auto":
        return "litert" if on_cpu and litert_available() else "torch"
    if chosen == "litert":
        if not on_cpu:
            raise ValueError(f"the litert backend runs on the CPU only; got device {device!r} (use backend='torch')")
        if not litert_available():
            raise FaceError(f"the litert face backend needs ai-edge-litert, which is not installed: {LITERT_HINT}")
    return chosen


class LiteRTNet:
    """A shipped TFLite model (``pseudopulse/face/weights/<model_file>``) on LiteRT, one thread, called like the torch
    networks through ``run_batched``: NHWC float32 input (N, H, W, 3) -> its two outputs ``outputs`` (tensor names),
    each reshaped to ``(N, *shape)`` with ``shapes``."""

    def __init__(self, model_file: str, outputs: tuple[str, str], shapes: tuple[tuple, tuple]):
        from ai_edge_litert.interpreter import Interpreter

        content = resources.files("pseudopulse.face").joinpath("weights", model_file).read_bytes()
        with quiet_native_stderr():
            self._it = Interpreter(model_content=content, num_threads=1)
            self._it.allocate_tensors()
        self._input = self._it.get_input_details()[0]["index"]
        index = {d["name"]: d["index"] for d in self._it.get_output_details()}
        self._outputs = [index[name] for name in outputs]
        self._shapes = shapes
        self.model_file = model_file

    def __call__(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        firsts, seconds = [], []
        for frame in np.asarray(x, dtype=np.float32):
            self._it.set_tensor(self._input, np.ascontiguousarray(frame[None]))
            self._it.invoke()
            a, b = (self._it.get_tensor(i) for i in self._outputs)
            firsts.append(a.reshape(self._shapes[0]))
            seconds.append(b.reshape(self._shapes[1]))
        if not firsts:
            return np.zeros((0, *self._shapes[0]), np.float32), np.zeros((0, *self._shapes[1]), np.float32)
        return np.stack(firsts).astype(np.float32, copy=False), np.stack(seconds).astype(np.float32, copy=False)
