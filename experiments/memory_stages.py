"""Peak memory of ``pseudopulse predict`` by stage, on one video (the measurement behind docs/reliability.md, Memory).

    PYTHONPATH=src python experiments/memory_stages.py VIDEO [--cache-dir DIR]

Runs ``predict --roi full-frame`` (the shipped model) on VIDEO in this process: the extraction (peak RSS after it,
from ``getrusage``), then the read-out under ``tracemalloc`` with each stage of ``reading``/``api`` wrapped to report
the peak of traced (numpy) allocations above what was live when the stage began, and the process's peak RSS after
it. Torch's own buffers are not traced (see the RSS column). Prints one JSON line per stage.
"""

from __future__ import annotations

import argparse
import functools
import json
import resource
import time
import tracemalloc


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("video")
    ap.add_argument("--cache-dir", default=None)
    args = ap.parse_args()

    from pseudopulse import api, reading
    from pseudopulse.predictors import resolve_predictor
    from pseudopulse.stmap import extract_stmap

    resolve_predictor("model")
    print(json.dumps({"stage": "imports+model", "rss_mb": round(_rss_mb(), 1)}), flush=True)
    t0 = time.perf_counter()
    stmap = extract_stmap(args.video, roi="full-frame", cache_dir=args.cache_dir)
    print(json.dumps({"stage": "extract", "frames": stmap.n_frames, "s": round(time.perf_counter() - t0, 1),
                      "stmap_mb": round(sum(a.nbytes for a in stmap.to_npz_dict().values()) / 2**20, 1),
                      "rss_mb": round(_rss_mb(), 1)}), flush=True)  # fmt: skip

    depth = [0]

    def wrap(module, name):
        fn = getattr(module, name)

        @functools.wraps(fn)
        def staged(*a, **kw):
            if depth[0]:
                return fn(*a, **kw)
            depth[0] += 1
            start, _ = tracemalloc.get_traced_memory()
            tracemalloc.reset_peak()
            t = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                depth[0] -= 1
                cur, peak = tracemalloc.get_traced_memory()
                print(json.dumps({"stage": f"{module.__name__.split('.')[-1]}.{name}", "s": round(time.perf_counter() - t, 2),
                                  "traced_peak_mb": round((peak - start) / 2**20, 1),
                                  "retained_mb": round((cur - start) / 2**20, 1), "rss_mb": round(_rss_mb(), 1)}), flush=True)  # fmt: skip
                tracemalloc.reset_peak()

        setattr(module, name, staged)

    for name in ("check_colour", "read_wave", "_grid", "_other_waves", "roi_waves", "hr_track", "_tracks", "_wave_rate",
                 "_window_face_share", "window_confidence"):  # fmt: skip
        wrap(reading, name)
    for name in ("detect_beats", "hrv_quality"):
        wrap(api, name)
    tracemalloc.start()
    r = api.predict_stmap(stmap, method="model", source=args.video)
    print(json.dumps({"stage": "done", "hr_bpm": round(r.hr_bpm, 2), "confidence": round(r.confidence, 4),
                      "rss_mb": round(_rss_mb(), 1)}), flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
