"""Strict readers for the numeric text files datasets ship; every error names the file, the line and the value."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from pseudopulse.errors import DatasetError

_SPLIT = re.compile(r"[,\s;]+")


def read_text(path: Path) -> str:
    """File contents as text; ``DatasetError`` when missing or not text."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: ground-truth file is missing")
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise DatasetError(f"{path}: not a text file ({e.reason} at byte {e.start})") from None


def parse_floats(text: str, path: Path, lineno: int, what: str) -> np.ndarray:
    """Whitespace/comma-separated numbers of one line; names the first bad token."""
    tokens = [t for t in _SPLIT.split(text.strip()) if t]
    if not tokens:
        raise DatasetError(f"{path}, line {lineno}: the {what} line is empty")
    out = np.empty(len(tokens))
    for i, tok in enumerate(tokens):
        try:
            out[i] = float(tok)
        except ValueError:
            raise DatasetError(
                f"{path}, line {lineno}: {what} value #{i + 1} is {tok!r}, not a number; "
                "fix or re-download the file"
            ) from None
    if not np.all(np.isfinite(out)):
        i = int(np.flatnonzero(~np.isfinite(out))[0])
        raise DatasetError(f"{path}, line {lineno}: {what} value #{i + 1} is {tokens[i]!r} (not finite)")
    return out


def read_columns(path: Path, columns: dict[str, tuple[str, ...]], *, optional: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
    """Read a CSV with a header line into float columns.

    ``columns`` maps an output key to the header names accepted for it (case-insensitive, first match wins);
    keys in ``optional`` may be absent (then missing from the result). Blank lines are skipped. A row with a
    missing or non-numeric cell raises ``DatasetError`` naming the file, line and column.
    """
    text = read_text(path)
    lines = text.splitlines()
    header_i = next((i for i, ln in enumerate(lines) if ln.strip()), None)
    if header_i is None:
        raise DatasetError(f"{path}: file is empty; expected a header line naming the columns")
    sep = "," if "," in lines[header_i] else None
    header = [h.strip().strip('"').lower() for h in (lines[header_i].split(sep) if sep else lines[header_i].split())]
    idx: dict[str, int] = {}
    for key, names in columns.items():
        hit = next((header.index(n.lower()) for n in names if n.lower() in header), None)
        if hit is None:
            if key in optional:
                continue
            raise DatasetError(
                f"{path}, line {header_i + 1}: header {lines[header_i].strip()!r} has no {key} column "
                f"(expected one of: {', '.join(names)})"
            )
        idx[key] = hit
    values: dict[str, list[float]] = {k: [] for k in idx}
    for lineno, ln in enumerate(lines[header_i + 1 :], start=header_i + 2):
        if not ln.strip():
            continue
        cells = [c.strip().strip('"') for c in (ln.split(sep) if sep else ln.split())]
        for key, j in idx.items():
            if j >= len(cells) or cells[j] == "":
                raise DatasetError(f"{path}, line {lineno}: the {header[j]!r} cell is missing in {ln.strip()!r}")
            try:
                v = float(cells[j])
            except ValueError:
                raise DatasetError(
                    f"{path}, line {lineno}: {header[j]!r} is {cells[j]!r}, not a number; fix or remove the line"
                ) from None
            if not np.isfinite(v):
                raise DatasetError(f"{path}, line {lineno}: {header[j]!r} is {cells[j]!r} (not finite)")
            values[key].append(v)
    if not idx:
        return {}
    n = len(next(iter(values.values())))
    if n == 0:
        raise DatasetError(f"{path}: header but no data lines")
    return {k: np.asarray(v, dtype=np.float64) for k, v in values.items()}


def check_increasing(t: np.ndarray, path: Path, what: str, *, first_line: int = 1, one_line: bool = False) -> None:
    """``DatasetError`` naming where ``t`` goes backwards (repeats are allowed; merge them later).

    Values are one per line starting at ``first_line``, or all on line ``first_line`` when ``one_line``."""
    d = np.diff(t)
    if np.any(d < 0):
        i = int(np.flatnonzero(d < 0)[0]) + 1
        where = f"line {first_line}, value #{i + 1}" if one_line else f"line {first_line + i}"
        raise DatasetError(
            f"{path}, {where}: {what} go backwards ({t[i - 1]!r} then {t[i]!r}); timestamps must not decrease"
        )
