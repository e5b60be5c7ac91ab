"""Where the face stage's time goes, and three ways to cut it that were measured and not taken (docs/install.md).

    PYTHONPATH=src python experiments/install/speed_probes.py VIDEO OUT.json

1. ``nets``: ms per call of the face mesh and BlazeFace at batch 1 (one torch thread, channels-last) and per frame
   at batch 10, TorchScript-frozen and ``optimize_for_inference``d, whether this torch has XNNPACK, and — when ``onnxruntime`` and ``onnx`` are importable (dev only: ``pip install onnxruntime onnx``) —
   the same networks exported to ONNX and run by ONNX Runtime's CPU provider on one thread.
   ``depthwise``: one 3x3 depthwise convolution in channels-last vs MKL-DNN blocked layout; ``stages``: CPU ms per
   frame of the tracker and of the skin sampler, ms of a keyframe crop.
2. ``decode``: PyAV decode of VIDEO with and without the RGB conversion (CPU s), the share the conversion takes.
3. ``tracker_thread``: ``extract_stmap`` as shipped vs with the face tracker in its own thread (a ``Prefetch``
   between tracker and sampler, torch on one thread there too): wall and CPU s, best of 3, interleaved.
4. ``blend``: the skin sampler's resampling (``face.warp.remap_bilinear``, its packed-RGB path) of ~2,700 skin
   pixels in each of 9 frames: 9 calls vs one call on the 9 frames stacked into one image (does batching the frames
   between two keyframes pay?).
Timings are min-of-repeats on a shared machine; compare rows of one run, not runs.
"""

from __future__ import annotations

import json
import sys
import time
import warnings

import numpy as np
import torch


def best_ms(f, n: int = 30, repeats: int = 7) -> float:
    for _ in range(3):
        f()
    out = float("inf")
    for _ in range(repeats):
        a = time.perf_counter()
        for _ in range(n):
            f()
        out = min(out, (time.perf_counter() - a) / n * 1e3)
    return out


def nets() -> dict:
    from pseudopulse.face.blazeface import blazeface_net
    from pseudopulse.face.facemesh import facemesh_net

    torch.set_num_threads(1)
    res = {}
    for name, make, size in (("face_mesh", facemesh_net, 192), ("blazeface", blazeface_net, 128)):
        net = make().to(memory_format=torch.channels_last)
        x1 = torch.rand(1, 3, size, size).contiguous(memory_format=torch.channels_last)
        x10 = torch.rand(10, 3, size, size).contiguous(memory_format=torch.channels_last)
        with torch.inference_mode():
            row = {"torch_batch1_ms": best_ms(lambda: net(x1)), "torch_batch10_ms_per_frame": best_ms(lambda: net(x10), n=5) / 10}
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the tracer's notes on Python-side shape arithmetic
            traced = torch.jit.trace(make(), torch.rand(1, 3, size, size))
            frozen = torch.jit.freeze(traced)
            optimized = torch.jit.optimize_for_inference(torch.jit.trace(make(), torch.rand(1, 3, size, size)))
            xp = torch.rand(1, 3, size, size)
            row["torchscript_frozen_ms"] = best_ms(lambda: frozen(xp))
            row["torchscript_optimize_for_inference_ms"] = best_ms(lambda: optimized(xp))
        row["xnnpack_in_this_torch"] = bool(getattr(torch.backends, "xnnpack", None) and torch.backends.xnnpack.enabled)
        try:
            import onnxruntime as ort

            path = f"/tmp/pseudopulse_{name}.onnx"
            plain = make()
            torch.onnx.export(plain, (torch.rand(1, 3, size, size),), path, input_names=["x"], dynamo=False)
            so = ort.SessionOptions()
            so.intra_op_num_threads = so.inter_op_num_threads = 1
            sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
            xn = x1.contiguous().numpy()
            with torch.inference_mode():
                ref = plain(torch.from_numpy(xn))
            out = sess.run(None, {"x": xn})
            row["onnxruntime_batch1_ms"] = best_ms(lambda: sess.run(None, {"x": xn}))
            row["onnxruntime_max_abs_diff"] = max(float(np.abs(a.numpy() - b).max()) for a, b in zip(ref, out))
            row["onnxruntime_version"] = ort.__version__
        except ImportError:
            row["onnxruntime_batch1_ms"] = None
        res[name] = row
    return res


def depthwise() -> dict:
    """µs of one 3x3 depthwise convolution (16 channels, 96x96, the mesh's widest) in channels-last vs MKL-DNN layout."""
    from torch.utils import mkldnn

    torch.set_num_threads(1)
    with torch.no_grad():
        conv = torch.nn.Conv2d(16, 16, 3, padding=1, groups=16).eval()
        x = torch.rand(1, 16, 96, 96)
        cl, xcl = conv.to(memory_format=torch.channels_last), x.contiguous(memory_format=torch.channels_last)
        blocked, xb = mkldnn.to_mkldnn(torch.nn.Conv2d(16, 16, 3, padding=1, groups=16).eval()), x.to_mkldnn()
        return {"channels_last_us": 1e3 * best_ms(lambda: cl(xcl), n=100), "mkldnn_blocked_us": 1e3 * best_ms(lambda: blocked(xb), n=100)}


def stages(video: str, n: int = 600) -> dict:
    """CPU ms per frame of the face tracker (landmarks, every 10th frame) and of the skin sampler on the first ``n``
    frames held in memory (no decoding), and ms of one keyframe's 192x192 crop."""
    from pseudopulse.face.detector import FaceMeshDetector
    from pseudopulse.face.facemesh import roi_from_landmarks
    from pseudopulse.face.roi import FaceSkinSampler, SmoothedSkinMask
    from pseudopulse.face.track import FaceTracker
    from pseudopulse.io import open_video

    frames = []
    with open_video(video) as r:
        for fr in r:
            frames.append(fr)
            if len(frames) >= n:
                break

    def cpu_ms(f) -> float:
        best = float("inf")
        for _ in range(3):
            a = time.process_time()
            f()
            best = min(best, time.process_time() - a)
        return 1e3 * best / len(frames)

    tracked = []

    def track():
        with FaceMeshDetector() as det:
            tracked[:] = list(FaceTracker(det).track(frames))

    out = {"frames": len(frames), "track_ms_per_frame": cpu_ms(track)}
    sampler = FaceSkinSampler((5, 5), 64)

    def sample():
        smask = SmoothedSkinMask(sampler, 2.0)
        for tf in tracked:
            if tf.detected:
                smask.update(tf.frame.t_s, tf.landmarks)
            if tf.landmarks is not None:
                sampler.sample(tf.frame.rgb, tf.landmarks, smask.mask)

    out["sample_ms_per_frame"] = cpu_ms(sample)
    with FaceMeshDetector() as det:
        mesh = det._tracker.mesh
        roi = roi_from_landmarks(tracked[0].landmarks[None])
        out["keyframe_crop_ms"] = best_ms(lambda: mesh.preprocess(frames[0].rgb[None], roi))
    return out


def decode(video: str) -> dict:
    import av

    res = {}
    for mode in ("yuv", "rgb", "yuv", "rgb"):
        with av.open(video) as c:
            s = c.streams.video[0]
            s.thread_type = "AUTO"
            cpu = time.process_time()
            for f in c.decode(s):
                if mode == "rgb":
                    f.to_ndarray(format="rgb24")
            res[mode] = min(res.get(mode, float("inf")), time.process_time() - cpu)
    return {"decode_cpu_s": res["yuv"], "decode_rgb_cpu_s": res["rgb"], "rgb_share": 1 - res["yuv"] / res["rgb"]}


def tracker_thread(video: str) -> dict:
    from pseudopulse.face.roi import FaceSkinSampler, SmoothedSkinMask
    from pseudopulse.face.track import FaceTracker
    from pseudopulse.io.handoff import Prefetch
    from pseudopulse.stmap import extract as E

    shipped = E.SkinRows.rows

    def threaded(self, frames):
        self.tracker = FaceTracker(self.detector, detect_every=self.detect_every, hold_s=self.hold_s)
        sampler = FaceSkinSampler(self.grid, size_px=self.canonical_px)
        smask = SmoothedSkinMask(sampler, tau_s=self.mask_tau_s)

        def track():
            torch.set_num_threads(1)
            yield from self.tracker.track(frames)

        for tf in Prefetch(track(), depth=2 * self.detect_every + 2, name="track"):
            if tf.detected:
                self.face_px.append(E._polygon_area(tf.landmarks))
                smask.update(tf.frame.t_s, tf.landmarks)
            st = sampler.sample(tf.frame.rgb, tf.landmarks, smask.mask) if tf.landmarks is not None else None
            yield tf.frame, st

    res: dict = {"shipped": [], "tracker_thread": []}
    values = {}
    for _ in range(3):
        for k, rows in (("shipped", shipped), ("tracker_thread", threaded)):
            E.SkinRows.rows = rows
            wall, cpu = time.perf_counter(), time.process_time()
            values[k] = E.extract_stmap(video).values
            res[k].append((time.perf_counter() - wall, time.process_time() - cpu))
    E.SkinRows.rows = shipped
    out = {k: {"wall_s": min(w for w, _ in v), "cpu_s": min(c for _, c in v)} for k, v in res.items()}
    out["same_values"] = bool(np.array_equal(values["shipped"], values["tracker_thread"], equal_nan=True))
    return out


def blend() -> dict:
    from pseudopulse.face.warp import remap_bilinear

    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (9, 480, 640, 3), dtype=np.uint8)
    fx = rng.integers(32 * 200, 32 * 400, (9, 2700))  # 1/32 px, inside the frame
    fy = rng.integers(32 * 100, 32 * 300, (9, 2700))
    tall = frames.reshape(9 * 480, 640, 3)  # the 9 frames as one image: one call reads all of them
    fy_tall = fy + 32 * 480 * np.arange(9)[:, None]
    one = best_ms(lambda: [remap_bilinear(frames[k], fx[k], fy[k]) for k in range(9)], n=50)
    stacked = best_ms(lambda: remap_bilinear(tall, fx, fy_tall), n=50)
    same = np.array_equal(np.stack([remap_bilinear(frames[k], fx[k], fy[k]) for k in range(9)]), remap_bilinear(tall, fx, fy_tall))
    return {"nine_calls_ms": one, "one_stacked_call_ms": stacked, "same_pixels": bool(same)}


if __name__ == "__main__":
    video, out = sys.argv[1], sys.argv[2]
    res = {"video": video, "torch": torch.__version__, "nets": nets(), "depthwise": depthwise(), "stages": stages(video),
           "decode": decode(video), "blend": blend(), "tracker_thread": tracker_thread(video)}  # fmt: skip
    print(json.dumps(res, indent=1))
    with open(out, "w") as f:
        json.dump(res, f, indent=1)
