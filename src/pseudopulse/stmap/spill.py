"""Per-frame rows of a long recording kept in a file, not in memory: where an STMap's ``values`` live past a size.

``RowWriter(row_shape, dtype)`` takes one row per frame (``add``). Rows are held in memory in blocks until they
exceed ``spill_bytes``; from then on every block is written to an unnamed temporary file as it fills. ``finish()``
returns the rows as one (T, *row_shape) array: an ordinary array for a short recording, or, once spilled, a
read-only array mapped from the file (the file has no name and goes when the last array over it is freed).

Pages of a mapped array count towards the process's resident memory once they are read. ``release(a)`` hands them
back (they stay in the OS page cache and are read again on the next access), so a reader that walks a spilled map a
slice of frames at a time and releases after each slice holds one slice, not the map (``STMap.resampled_values``,
``STMap.roi_values``). ``release`` of an ordinary array does nothing.
"""

from __future__ import annotations

import mmap
import tempfile

import numpy as np

SPILL_BYTES = 4 << 20  # rows beyond this many bytes go to the file (a 5x5-grid map: ~14000 frames, ~7.8 min at 30 fps)
BLOCK_ROWS = 4096  # rows per block (in memory, and per write to the file)


class RowWriter:
    """Rows (``row_shape``, ``dtype``) appended one per frame; ``finish()`` -> (T, *row_shape) array (see module)."""

    def __init__(self, row_shape: tuple[int, ...], dtype=np.float32, *, spill_bytes: int | None = None,
                 block_rows: int | None = None, dir: str | None = None):  # fmt: skip
        self.row_shape, self.dtype = tuple(row_shape), np.dtype(dtype)
        self.spill_bytes = SPILL_BYTES if spill_bytes is None else int(spill_bytes)
        self.block_rows = BLOCK_ROWS if block_rows is None else int(block_rows)
        self.dir = dir  # folder of the temporary file (None: the system's)
        self.n = 0
        self._blocks: list[np.ndarray] = []  # full blocks held in memory (before spilling)
        self._block = np.empty((self.block_rows, *self.row_shape), self.dtype)
        self._j = 0  # rows in the current block
        self._file = None  # the temporary file, once spilled

    @property
    def spilled(self) -> bool:
        return self._file is not None

    def add(self, row) -> None:
        """Append one row (anything that broadcasts to ``row_shape``; NaN for a frame without data)."""
        self._block[self._j] = row
        self._j += 1
        self.n += 1
        if self._j == self.block_rows:
            self._store(self._block)
            self._block, self._j = np.empty_like(self._block), 0

    def extend(self, rows: np.ndarray) -> None:
        """Append rows (k, *row_shape) at once."""
        rows = np.asarray(rows, dtype=self.dtype)
        done = 0
        while done < len(rows):
            k = min(self.block_rows - self._j, len(rows) - done)
            self._block[self._j : self._j + k] = rows[done : done + k]
            self._j, self.n, done = self._j + k, self.n + k, done + k
            if self._j == self.block_rows:
                self._store(self._block)
                self._block, self._j = np.empty_like(self._block), 0

    def _store(self, block: np.ndarray) -> None:
        if self._file is None and (len(self._blocks) + 1) * block.nbytes > self.spill_bytes:
            self._file = tempfile.TemporaryFile(dir=self.dir, prefix="pseudopulse-stmap-")
            for held in self._blocks:
                self._file.write(memoryview(held).cast("B"))
            self._blocks = []
        if self._file is not None:
            self._file.write(memoryview(np.ascontiguousarray(block)).cast("B"))
        else:
            self._blocks.append(block)

    def finish(self) -> np.ndarray:
        """The (T, *row_shape) rows: in memory, or mapped read-only from the file once spilled."""
        last = self._block[: self._j]
        if self._file is None:
            if not self._blocks:  # one partial block: hand it over (a copy only when most of it went unused)
                return last if 2 * self._j >= self.block_rows else last.copy()
            return np.concatenate(self._blocks + [last])
        if self._j:
            self._file.write(memoryview(np.ascontiguousarray(last)).cast("B"))
        self._file.flush()
        try:
            mm = mmap.mmap(self._file.fileno(), 0, access=mmap.ACCESS_READ)  # keeps its own handle on the file
        finally:
            self._file.close()
            self._file = None
        self._block = self._blocks = None
        return np.frombuffer(mm, dtype=self.dtype).reshape((self.n, *self.row_shape))


def _mapping(a: np.ndarray) -> mmap.mmap | None:
    base = a
    while base is not None:
        if isinstance(base, mmap.mmap):
            return base
        base = getattr(base, "base", None) if isinstance(base, np.ndarray) else getattr(base, "obj", None)
    return None


def row_blocks(a: np.ndarray, rows: int = BLOCK_ROWS):
    """The slices ``a[i : i + rows]`` (views) for i = 0, rows, ..., a spilled array's pages released after each: walk
    a whole map without holding it."""
    for i in range(0, len(a), rows):
        yield a[i : i + rows]
        release(a)


def release(a: np.ndarray) -> None:
    """Hand back the resident pages of the file mapping under ``a`` (a ``RowWriter`` result or a view of one); the
    data stays readable. Does nothing for an array held in memory, or where the platform has no ``madvise``."""
    mm = _mapping(a)
    if mm is not None and hasattr(mm, "madvise") and hasattr(mmap, "MADV_DONTNEED"):
        mm.madvise(mmap.MADV_DONTNEED)


def is_spilled(a: np.ndarray) -> bool:
    """True when ``a`` is (a view of) rows mapped from a spill file."""
    return _mapping(a) is not None
