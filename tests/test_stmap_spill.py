"""A long recording's STMap values live in a file, not in memory (issue #21: ``predict``'s memory flat in length).

Extraction writes the block means past ``spill.SPILL_BYTES`` to a temporary file and maps them; the read-out walks
such a map a slice of frames at a time and hands the pages back; the cache writes and reads it a block at a time.
Guards: extraction's traced (numpy) memory grows by the per-frame metadata only (61 B a frame on a 5x5 grid, not the
361 B of the whole map), and after a whole reading of a spilled map at most a few blocks of it are resident.
"""

from __future__ import annotations

import dataclasses
import sys
import tracemalloc

import numpy as np
import pytest

from pseudopulse.reading import read_stmap
from pseudopulse.stmap import cache, spill
from pseudopulse.stmap.extract import extract_stmap_from_frames
from pseudopulse.stmap.spill import RowWriter, is_spilled, release
from pseudopulse.stmap.types import STMap

FS = 30.0  # Hz
HR_BPM = 72.0
EXTRACT_BUDGET_B_PER_FRAME = 120  # what may stay per frame: 61 B of per-frame columns (the map's values: 300 B more)


def _frames(n: int, size=(10, 10), seed: int = 0):
    """``n`` (H, W, 3) uint8 frames of skin pulsing at HR_BPM with pixel noise (cheap: a bank of 16 noise frames)."""
    rng = np.random.default_rng(seed)
    bank = rng.normal(0, 1.0, (16, *size, 3))
    skin, pulse = np.array([180.0, 130.0, 110.0]), 4.0 * np.array([0.33, 0.77, 0.53])
    for i in range(n):
        colour = skin + pulse * np.sin(2 * np.pi * HR_BPM / 60.0 * i / FS)
        yield np.clip(np.round(colour + bank[i % 16]), 0, 255).astype(np.uint8)


def _extract(n: int) -> STMap:
    return extract_stmap_from_frames(_frames(n), roi="full-frame", fps=FS)


def test_row_writer_round_trip_in_memory_and_spilled():
    rng = np.random.default_rng(1)
    rows = rng.normal(100, 1, (5000, 4, 3)).astype(np.float32)
    for spill_bytes, spilled in ((1 << 30, False), (1 << 16, True)):
        w = RowWriter((4, 3), spill_bytes=spill_bytes, block_rows=1000)
        w.extend(rows[:1234])
        for r in rows[1234:2000]:
            w.add(r)
        w.extend(rows[2000:])
        out = w.finish()
        assert is_spilled(out) is spilled and out.shape == rows.shape and np.array_equal(out, rows)
        release(out[10:20])  # pages handed back: the data is still there
        assert np.array_equal(out, rows)
    assert not out.flags.writeable  # a mapped map is read-only: nothing writes into an extracted map


def test_extraction_spills_long_maps_with_identical_values():
    n = 20000  # 6 MB of values on a 5x5 grid: past SPILL_BYTES
    st = _extract(n)
    assert is_spilled(st.values) and st.values.shape == (n, 25, 3)
    ref = extract_stmap_from_frames(_frames(n), roi="full-frame", fps=FS)  # the same frames again
    assert np.array_equal(st.values, ref.values)
    short = _extract(600)
    assert not is_spilled(short.values)
    assert np.array_equal(short.values, st.values[:600])


def _traced_peak_mb(fn) -> tuple[float, object]:
    tracemalloc.start()
    try:
        start, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        out = fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return (peak - start) / 2**20, out


def test_extraction_memory_grows_by_metadata_only(monkeypatch):
    monkeypatch.setattr(spill, "SPILL_BYTES", 0)  # spill from the first block: short recordings keep the test cheap
    monkeypatch.setattr(spill, "BLOCK_ROWS", 512)
    short_n, long_n = 2000, 10000
    peak_short, st_short = _traced_peak_mb(lambda: _extract(short_n))
    peak_long, st_long = _traced_peak_mb(lambda: _extract(long_n))
    per_frame = (peak_long - peak_short) * 2**20 / (long_n - short_n)
    assert per_frame <= EXTRACT_BUDGET_B_PER_FRAME, (
        f"extraction peak {peak_long:.1f} MB at {long_n} frames vs {peak_short:.1f} MB at {short_n}: {per_frame:.0f} B "
        f"more per frame (budget {EXTRACT_BUDGET_B_PER_FRAME}); the map's values are held in memory"
    )


def _resident_kb(a: np.ndarray) -> int:
    """Resident size (kB) of the memory mapping that holds ``a``'s data (Linux /proc/self/smaps)."""
    addr = a.__array_interface__["data"][0]
    with open("/proc/self/smaps") as f:
        inside = False
        for line in f:
            head = line.split()[0]
            if "-" in head and not head.endswith(":"):
                lo, hi = (int(x, 16) for x in head.split("-"))
                inside = lo <= addr < hi
            elif inside and head == "Rss:":
                return int(line.split()[1])
    raise AssertionError("mapping not found")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/smaps")
def test_reading_a_spilled_map_keeps_at_most_a_block_resident(monkeypatch):
    monkeypatch.setattr(spill, "SPILL_BYTES", 0)
    monkeypatch.setattr(spill, "BLOCK_ROWS", 512)
    st = _extract(6000)  # 3.3 min at 30 fps: 1.8 MB of values in the file
    assert is_spilled(st.values)
    st = dataclasses.replace(st, meta={**st.meta, "roi_px": 100.0})
    _ = np.asarray(st.values).sum()  # touch every page: the whole map resident
    assert _resident_kb(st.values) >= st.values.nbytes // 1024 - 8
    release(st.values)
    r = read_stmap(st, "pos")  # the ROI waves walk the whole map; the model reads it window by window
    assert abs(r.hr_bpm - HR_BPM) < 2
    block_kb = spill.BLOCK_ROWS * 300 // 1024
    assert _resident_kb(st.values) <= 2 * block_kb, "a read-out stage read the spilled map whole and kept it resident"


def test_cache_round_trip_of_a_spilled_map(tmp_path):
    st = _extract(20000)
    assert is_spilled(st.values)
    st = dataclasses.replace(st, meta={**st.meta, "read_loss": None})
    in_memory = dataclasses.replace(st, values=np.array(st.values))
    assert cache._digest(st.to_npz_dict(), "{}") == cache._digest(in_memory.to_npz_dict(), "{}")
    entry = tmp_path / "entry.npz"
    cache.save_cached(entry, "key", st, fingerprint="fp", params={"roi": "full-frame"})
    with np.load(entry) as d:  # an ordinary npz: numpy reads it as it is
        assert np.array_equal(d["values"], in_memory.values)
    hit = cache.load_cached(entry, "key", fingerprint="fp", params={"roi": "full-frame"})
    assert hit is not None and is_spilled(hit.values) and np.array_equal(hit.values, in_memory.values)
    data = entry.read_bytes()
    entry.write_bytes(data[:1000] + bytes([data[1000] ^ 0xFF]) + data[1001:])  # one flipped byte in the map
    assert cache.load_cached(entry, "key", fingerprint="fp", params={"roi": "full-frame"}) is None
    entry.write_bytes(data[: len(data) // 2])  # truncated
    assert cache.load_cached(entry, "key", fingerprint="fp", params={"roi": "full-frame"}) is None
