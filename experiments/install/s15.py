"""subject15: before/after STMaps (same cache key) -> ICA / CHROM wave spectra: the two peaks' powers.

An investigation script: AFTER_CACHE and BEFORE_CACHE are the two --cache-dir folders of experiments/predict_table.py
runs (mediapipe detector before, the torch port after)."""
import glob, json, os
import numpy as np
from scipy.signal import welch
from pseudopulse.stmap.cache import load_cached
from pseudopulse.stmap.types import STMap
from pseudopulse.api import predict_stmap
def load(f):
    with np.load(f, allow_pickle=False) as d:
        return STMap.from_npz_dict(d), json.loads(str(d["meta_json"]))
import sys
AFTER_CACHE, BEFORE_CACHE = sys.argv[1], sys.argv[2]
for f in sorted(glob.glob(AFTER_CACHE + "/*.npz")):
    a, ma = load(f)
    if "subject15" not in ma["source"]: continue
    b, mb = load(os.path.join(BEFORE_CACHE, os.path.basename(f)))
    b.meta.update(mb); a.meta.update(ma)
    d = np.abs(a.values - b.values); print("STMap |after-before| grey levels: mean %.4f p99 %.4f max %.3f; skin_count rel diff %.2e" % (
        np.nanmean(d), np.nanpercentile(d, 99), np.nanmax(d), np.abs(a.skin_count - b.skin_count).mean() / b.skin_count.mean()))
    for m in ("ica", "chrom", "pos", "green"):
        for tag, s in (("before", b), ("after", a)):
            r = predict_stmap(s, m)
            fr, p = welch(r.wave, fs=1 / np.median(np.diff(r.timestamps_s)), nperseg=len(r.wave))
            bpm = fr * 60
            def pk(lo, hi):
                k = (bpm >= lo) & (bpm <= hi); i = np.argmax(p[k]); return bpm[k][i], p[k][i]
            (f1, p1), (f2, p2) = pk(108, 115.5), pk(115.5, 122)
            print(f"{m:6s} {tag:6s} hr={r.hr_bpm:6.1f}  peak@{f1:.1f}: {p1:.3f}  peak@{f2:.1f}: {p2:.3f}  ratio {p1/p2:.2f}  est={r.estimator_bpm}")
