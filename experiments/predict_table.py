"""``pseudopulse.predict`` on every recording of a UBFC-rPPG folder with each method and the shipped model, as a
JSON table {subject: {method: HR bpm}}: the before/after check of a change that must not move any reading.

    .venv/bin/python experiments/predict_table.py --ubfc ../shared/data/real/ubfc_rppg_h264 --out after.json \\
        --cache-dir /tmp/fresh-cache [--compare before.json]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

METHODS = ("model", "pos", "chrom", "2sr", "green", "ica", "pbv", "lgi")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ubfc", type=Path, required=True, help="UBFC-rPPG folder (subject*/vid.*)")
    ap.add_argument("--out", type=Path, required=True, help="JSON table to write")
    ap.add_argument("--cache-dir", type=Path, required=True, help="STMap cache (use a fresh one for a before/after check)")
    ap.add_argument("--compare", type=Path, help="an earlier table: print every reading that moved")
    args = ap.parse_args()
    if not args.ubfc.is_dir():
        ap.error(f"--ubfc {args.ubfc}: not a folder")
    from pseudopulse.api import predict

    table = {}
    for subject in sorted(p for p in args.ubfc.iterdir() if p.is_dir()):
        video = next((v for v in sorted(subject.iterdir()) if v.stem == "vid"), None)
        if video is None:
            continue
        table[subject.name] = {m: round(float(predict(video, method=m, cache_dir=args.cache_dir).hr_bpm), 4) for m in METHODS}
        print(subject.name, table[subject.name], flush=True)
    args.out.write_text(json.dumps(table, indent=1) + "\n")
    if args.compare:
        before = json.loads(args.compare.read_text())
        moved = [(s, m, before[s][m], table[s][m]) for s in table for m in METHODS if s in before and before[s][m] != table[s][m]]
        print("identical" if not moved else "\n".join(f"{s} {m}: {a} -> {b} ({b - a:+.1f})" for s, m, a, b in moved))


if __name__ == "__main__":
    main()
