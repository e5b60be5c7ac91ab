"""Decode-only vs extract_stmap vs predict(pos) vs predict(model) throughput on one video (no cache).
Interleaved rounds, best of each; wall frames/s and frames per process-CPU-second (all threads)."""
import sys, time, json
import pseudopulse
from pseudopulse.io import open_video
from pseudopulse.api import predict
from pseudopulse.stmap import extract_stmap
vid = sys.argv[1]; rounds = int(sys.argv[2])
def decode():
    n = 0
    with open_video(vid) as r:
        for fr in r: n += 1
    return n
n = decode()
jobs = {"decode": decode, "extract_stmap": lambda: extract_stmap(vid),
        "predict_pos": lambda: predict(vid, method="pos"), "predict_model": lambda: predict(vid, method="model")}
best = {k: (1e9, 1e9) for k in jobs}
for _ in range(rounds):
    for k, f in jobs.items():
        w, c = time.perf_counter(), time.process_time(); f()
        w, c = time.perf_counter() - w, time.process_time() - c
        best[k] = (min(best[k][0], w), min(best[k][1], c))
res = {k: {"wall_fps": n / w, "cpu_fps": n / c} for k, (w, c) in best.items()}
for k in res:
    res[k]["wall_ratio"] = res[k]["wall_fps"] / res["decode"]["wall_fps"]
    res[k]["cpu_ratio"] = res[k]["cpu_fps"] / res["decode"]["cpu_fps"]
print(pseudopulse.__file__, n, "frames")
for k, v in res.items(): print(f"{k:15s} " + " ".join(f"{a}={b:.2f}" for a, b in v.items()))
json.dump({"video": vid, "frames": n, "src": pseudopulse.__file__, "res": res}, open(sys.argv[3], "w"), indent=1)
