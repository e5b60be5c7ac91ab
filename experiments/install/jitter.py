"""Per unlabeled clip: torch port vs mediapipe face mesh (video mode, every frame, first N frames).
Landmark jitter (median frame-to-frame RMS landmark motion after removing the median translation, px),
head speed (median |box-centre motion| px/frame), ms/frame of each, and mean |torch - mp| landmark distance."""
import json, sys, time, glob
from pathlib import Path
import numpy as np
from pseudopulse.io import open_video
from pseudopulse.bench.detectors import _landmark_jitter, _litert_face_mesh, _mp_face_mesh, _torch_face_mesh
from pseudopulse.face.runtime import litert_available
# usage: python experiments/install/jitter.py N OUT.json [FOLDER]   (FOLDER default ../shared/data/unlabeled)
N = int(sys.argv[1]); out = {}
folder = sys.argv[3] if len(sys.argv) > 3 else str(Path(__file__).resolve().parents[3] / "shared/data/unlabeled")
for v in sorted(glob.glob(folder + "/*.m[po4v]*")):
    frames = []
    with open_video(v) as r:
        for fr in r:
            frames.append(np.ascontiguousarray(fr.rgb))
            if len(frames) >= N: break
    row = {"h": frames[0].shape[0], "w": frames[0].shape[1]}
    lms = {}
    runtimes = [("torch", _torch_face_mesh), ("mp", _mp_face_mesh)] + ([("litert", _litert_face_mesh)] if litert_available() else [])
    for name, fac in runtimes:
        det, close = fac(); det(frames[0]); close(); det, close = fac()
        t0 = time.process_time(); w0 = time.perf_counter()
        lm = [det(f) for f in frames]
        row[f"{name}_cpu_ms"] = 1e3 * (time.process_time() - t0) / len(frames)
        row[f"{name}_wall_ms"] = 1e3 * (time.perf_counter() - w0) / len(frames)
        close()
        lms[name] = lm
        row[f"{name}_found"] = float(np.mean([x is not None for x in lm]))
        row[f"{name}_jitter_px"] = _landmark_jitter(lm)
    c = np.array([x.mean(0) if x is not None else [np.nan, np.nan] for x in lms["mp"]])
    sp = np.linalg.norm(np.diff(c, axis=0), axis=1)
    row["head_speed_px"] = float(np.nanmedian(sp)) if np.isfinite(sp).any() else float("nan")
    hts = [x[:, 1].ptp() for x in lms["mp"] if x is not None]
    row["face_h_px"] = float(np.median(hts)) if hts else float("nan")
    d = [np.linalg.norm(a - b, axis=1).mean() for a, b in zip(lms["torch"], lms["mp"]) if a is not None and b is not None]
    row["mean_abs_diff_px"] = float(np.mean(d)) if d else float("nan")
    out[Path(v).name] = row
    print(Path(v).name, {k: round(x, 3) for k, x in row.items()}, flush=True)
Path(sys.argv[2]).write_text(json.dumps(out, indent=1))
