"""On-disk STMap cache: one ``.npz`` per (video content, extraction parameters, code version).

Key = sha256 over the video's fingerprint (sha256 of the file content, streamed in 1 MiB chunks; for an
image-frame folder the sorted file names, sizes and mtimes), every extraction parameter, and
``STMAP_CODE_VERSION`` (bump it whenever extraction output changes). Each entry also carries what it was built
from (the video fingerprint and the parameters, in the clear), a sha256 of its own arrays and meta, and in its meta
what reading the video lost (``read_loss``), so a hit reports the same loss as the run that built it. Entries are
written atomically; an entry that cannot be read back or does not check out (truncated, corrupt, edited, wrong key,
built from other content or parameters, inconsistent shapes) counts as a miss and is rebuilt by the caller.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import zipfile
from pathlib import Path

import numpy as np

from pseudopulse.errors import OutputError
from pseudopulse.io import atomic_path
from pseudopulse.stmap.spill import RowWriter, is_spilled, row_blocks
from pseudopulse.stmap.types import STMap

STMAP_CODE_VERSION = "stmap-2026.11-4"  # -3: read_loss in meta, held face frames invalid; -4: roi_px in meta, torch face mesh
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


def check_cache_dir(cache_dir: str | Path) -> Path:
    """``cache_dir`` as a Path if it is (or can be made) a writable folder; else an OutputError naming it."""
    return check_writable_dir(cache_dir, "--cache-dir")


def check_writable_dir(folder: str | Path, what: str = "output folder") -> Path:
    """``folder`` if it is a writable folder or could be created as one (nothing is created); else an
    ``OutputError`` naming it, the rule and the fix."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"{what} {folder}: is a file, not a folder; pass a folder (it is created when missing)")
    probe = folder
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if not probe.is_dir():
        raise OutputError(f"{what} {folder}: {probe} is a file, so the folder cannot be created; pass another folder")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise OutputError(f"{what} {folder}: {probe} is not writable by this user; pass a folder you can write to")
    return folder


def cache_key(path: str | Path, params: dict, fingerprint: str | None = None) -> str:
    """sha256 hex over the video fingerprint, ``params`` (JSON-able) and the code version."""
    blob = json.dumps(
        {"video": fingerprint or video_fingerprint(path), "params": params, "code": STMAP_CODE_VERSION}, sort_keys=True,
        default=str,
    )
    return hashlib.sha256(blob.encode()).hexdigest()


def cache_file(cache_dir: str | Path, key: str) -> Path:
    return Path(cache_dir) / f"stmap-{key[:40]}.npz"


def _params_json(params: dict | None) -> str:
    return json.dumps(params or {}, sort_keys=True, default=str)


def _digest(arrays: dict, meta_json: str) -> str:
    """sha256 over every array's name, dtype, shape and bytes, and the meta JSON (hashed a block of rows at a time:
    no copy of the map)."""
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = np.asarray(arrays[name])
        h.update(f"{name}\0{a.dtype.str}\0{a.shape}\0".encode())
        for block in row_blocks(a) if a.ndim else [a]:
            h.update(np.ascontiguousarray(block).data)
    h.update(meta_json.encode())
    return h.hexdigest()


def _write_npz(fh, arrays: dict) -> None:
    """``np.savez(fh, **arrays)``, each array written a block of rows at a time (a spilled map is not brought into
    memory whole). Same layout: an uncompressed zip of ``NAME.npy`` members."""
    with zipfile.ZipFile(fh, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for name, value in arrays.items():
            a = np.asarray(value)
            with zf.open(f"{name}.npy", "w", force_zip64=True) as f:
                if a.ndim == 0 or not is_spilled(a):
                    np.lib.format.write_array(f, a, allow_pickle=False)
                    continue
                np.lib.format.write_array_header_1_0(f, np.lib.format.header_data_from_array_1_0(a))
                for block in row_blocks(a):
                    f.write(np.ascontiguousarray(block).data)


def _read_rows(zf: zipfile.ZipFile, name: str) -> np.ndarray:
    """The array ``NAME.npy`` of an npz read a block of rows at a time into a ``spill.RowWriter`` (a long map ends up
    mapped from a temporary file, not in memory)."""
    with zf.open(f"{name}.npy") as f:
        version = np.lib.format.read_magic(f)
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, fortran, dtype = read_header(f)
        if fortran or not shape or dtype.hasobject:
            raise ValueError(f"{name}: expected a C-ordered array of numbers with rows")
        rows = RowWriter(shape[1:], dtype)
        row_bytes = int(np.prod(shape[1:], dtype=np.int64)) * dtype.itemsize
        left = shape[0]
        while left:
            k = min(left, rows.block_rows)
            buf = f.read(k * row_bytes)
            if len(buf) != k * row_bytes:
                raise ValueError(f"{name}: truncated")
            rows.extend(np.frombuffer(buf, dtype=dtype).reshape((k, *shape[1:])))
            left -= k
        return rows.finish()


def load_cached(file: str | Path, key: str, fingerprint: str | None = None, params: dict | None = None) -> STMap | None:
    """The cached STMap, or None when the file is absent, unreadable, for another key, built from other content or
    parameters (when ``fingerprint`` / ``params`` are given), edited (digest mismatch) or inconsistent."""
    file = Path(file)
    if not file.is_file():
        return None
    try:
        with np.load(file, allow_pickle=False) as d:
            if str(d["cache_key"]) != key or str(d["code_version"]) != STMAP_CODE_VERSION:
                return None
            if fingerprint is not None and str(d["video_sha256"]) != fingerprint:
                return None
            if params is not None and str(d["params_json"]) != _params_json(params):
                return None
            arrays = {k: _read_rows(d.zip, k) if k == "values" else d[k] for k in STMap_FIELDS}  # the npz's own zip
            meta_json = str(d["meta_json"])
            if str(d["digest"]) != _digest(arrays, meta_json):
                return None
            stmap = STMap.from_npz_dict(arrays)
            meta = json.loads(meta_json)
        gy, gx = stmap.grid
        if stmap.values.shape[1] != gy * gx or not np.all(np.diff(stmap.timestamps_s) > 0):
            return None
        if not isinstance(meta, dict) or "read_loss" not in meta:
            return None
        return dataclasses.replace(stmap, meta={**meta, "cache": "hit"})
    except Exception:  # any damage (zip error, missing array, bad shapes, bad JSON) = a miss
        return None


STMap_FIELDS = ("values", "timestamps_s", "skin_mean", "skin_corr", "skin_count", "valid", "grid", "colorspace")


def save_cached(file: str | Path, key: str, stmap: STMap, fingerprint: str = "", params: dict | None = None) -> None:
    """Write ``stmap`` (with its meta as JSON, what it was built from and a digest) atomically to ``file``."""
    meta = {k: v for k, v in stmap.meta.items() if k != "cache"}
    meta.setdefault("read_loss", None)
    arrays = stmap.to_npz_dict()
    meta_json = json.dumps(meta, default=str)
    with atomic_path(file) as tmp:
        with open(tmp, "wb") as fh:
            _write_npz(fh, {**arrays, "cache_key": np.asarray(key), "meta_json": np.asarray(meta_json),
                            "code_version": np.asarray(STMAP_CODE_VERSION), "video_sha256": np.asarray(fingerprint),
                            "params_json": np.asarray(_params_json(params)), "digest": np.asarray(_digest(arrays, meta_json))})  # fmt: skip


def discard(file: str | Path) -> None:
    """Remove a (damaged) cache entry if present."""
    with contextlib.suppress(FileNotFoundError):
        Path(file).unlink()
