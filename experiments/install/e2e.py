"""Decode-only vs extract_stmap vs predict(pos) vs predict(model) throughput on one video (no cache), for each face
backend that is installed (torch always; litert with the extra). Interleaved rounds, best of each; wall frames/s and
frames per process-CPU-second (all threads), and each as a share of decode-only.

    PYTHONPATH=src python experiments/install/e2e.py VIDEO ROUNDS OUT.json
"""
import json
import os
import sys
import time

import pseudopulse
from pseudopulse.api import predict
from pseudopulse.face.runtime import ENV_VAR, litert_available
from pseudopulse.io import open_video
from pseudopulse.stmap import extract_stmap

vid, rounds = sys.argv[1], int(sys.argv[2])


def decode():
    n = 0
    with open_video(vid) as r:
        for _ in r:
            n += 1
    return n


def on(backend, f):
    def run():
        os.environ[ENV_VAR] = backend  # read when the job builds its face detector
        try:
            return f()
        finally:
            os.environ.pop(ENV_VAR, None)
    return run


n = decode()
jobs = {"decode": decode}
for b in ["torch"] + (["litert"] if litert_available() else []):
    jobs.update({f"extract_stmap[{b}]": on(b, lambda: extract_stmap(vid)), f"predict_pos[{b}]": on(b, lambda: predict(vid, method="pos")),
                 f"predict_model[{b}]": on(b, lambda: predict(vid, method="model"))})
best = {k: (1e9, 1e9) for k in jobs}
for _ in range(rounds):
    for k, f in jobs.items():
        w, c = time.perf_counter(), time.process_time()
        f()
        w, c = time.perf_counter() - w, time.process_time() - c
        best[k] = (min(best[k][0], w), min(best[k][1], c))
res = {k: {"wall_fps": n / w, "cpu_fps": n / c} for k, (w, c) in best.items()}
for k in res:
    res[k]["wall_ratio"] = res[k]["wall_fps"] / res["decode"]["wall_fps"]
    res[k]["cpu_ratio"] = res[k]["cpu_fps"] / res["decode"]["cpu_fps"]
print(pseudopulse.__file__, n, "frames")
for k, v in res.items():
    print(f"{k:22s} " + " ".join(f"{a}={b:.2f}" for a, b in v.items()))
json.dump({"video": vid, "frames": n, "src": pseudopulse.__file__, "res": res}, open(sys.argv[3], "w"), indent=1)
