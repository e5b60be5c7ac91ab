"""Screenshot of `pseudopulse serve` in camera mode with a reading, for the README: runs the browser test
(tests/test_serve.py, headless chromium with a generated 81-bpm face clip as its fake camera), which saves the
page once it shows the rate.

    .venv/bin/python experiments/serve_screenshot.py            # writes docs/img/serve.png

Needs chromium on PATH and the serve extra (`pip install -e '.[test,serve]'`).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "img" / "serve.png", help="PNG to write")
    out = ap.parse_args().out.resolve()
    env = {**os.environ, "PSEUDOPULSE_SERVE_SCREENSHOT": str(out)}
    cmd = [sys.executable, "-m", "pytest", "-q", "-m", "browser", "tests/test_serve.py"]
    code = subprocess.run(cmd, cwd=ROOT, env=env).returncode
    if code == 0 and out.is_file():
        print(f"wrote {out} ({out.stat().st_size / 1e3:.0f} kB)")
    return code


if __name__ == "__main__":
    raise SystemExit(main())
