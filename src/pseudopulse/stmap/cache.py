"""On-disk STMap cache: one ``.npz`` per (video content, extraction parameters, code version).

Key = sha256 over the video's fingerprint (sha256 of the file content, streamed in 1 MiB chunks; for an
image-frame folder the sorted file names, sizes and mtimes), every extraction parameter, and
``STMAP_CODE_VERSION`` (bump it whenever extraction output changes). Entries are written atomically; an
entry that cannot be read back (truncated, corrupt, wrong key, inconsistent shapes) counts as a miss and
is rebuilt by the caller.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
from pathlib import Path

import numpy as np

from pseudopulse.io import atomic_path
from pseudopulse.stmap.types import STMap

STMAP_CODE_VERSION = "stmap-2026.11-2"
DEFAULT_CACHE_DIR = Path(".cache/pseudopulse")  # the commands' default --cache-dir (entries are content-addressed)
_CHUNK = 1 << 20


def video_fingerprint(path: str | Path) -> str:
    """sha256 hex of a video file's bytes, or of an image folder's sorted (name, size, mtime_ns) list."""
    p = Path(path)
    h = hashlib.sha256()
    if p.is_dir():
        for f in sorted(p.iterdir()):
            if f.is_file():
                st = f.stat()
                h.update(f"{f.name}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    else:
        with open(p, "rb") as fh:
            while chunk := fh.read(_CHUNK):
                h.update(chunk)
    return h.hexdigest()


def cache_key(path: str | Path, params: dict) -> str:
    """sha256 hex over the video fingerprint, ``params`` (JSON-able) and the code version."""
    blob = json.dumps(
        {"video": video_fingerprint(path), "params": params, "code": STMAP_CODE_VERSION}, sort_keys=True, default=str
    )
    return hashlib.sha256(blob.encode()).hexdigest()


def cache_file(cache_dir: str | Path, key: str) -> Path:
    return Path(cache_dir) / f"stmap-{key[:40]}.npz"


def load_cached(file: str | Path, key: str) -> STMap | None:
    """The cached STMap, or None when the file is absent, unreadable, for another key or inconsistent."""
    file = Path(file)
    if not file.is_file():
        return None
    try:
        with np.load(file, allow_pickle=False) as d:
            if str(d["cache_key"]) != key:
                return None
            stmap = STMap.from_npz_dict(d)
            meta = json.loads(str(d["meta_json"]))
        gy, gx = stmap.grid
        if stmap.values.shape[1] != gy * gx or not np.all(np.diff(stmap.timestamps_s) > 0):
            return None
        return dataclasses.replace(stmap, meta={**meta, "cache": "hit"})
    except Exception:  # any damage (zip error, missing array, bad shapes, bad JSON) = a miss
        return None


def save_cached(file: str | Path, key: str, stmap: STMap) -> None:
    """Write ``stmap`` (with its meta as JSON) atomically to ``file``."""
    meta = {k: v for k, v in stmap.meta.items() if k != "cache"}
    with atomic_path(file) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, **stmap.to_npz_dict(), cache_key=np.asarray(key), meta_json=np.asarray(json.dumps(meta, default=str)))


def discard(file: str | Path) -> None:
    """Remove a (damaged) cache entry if present."""
    with contextlib.suppress(FileNotFoundError):
        Path(file).unlink()
