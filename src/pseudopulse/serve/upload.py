"""An uploaded video to its report: the request body streamed to a temporary file (at most ``max_bytes``), read
with ``pseudopulse.predict`` in a worker thread, the file deleted, and the result as plain JSON for the page.

The body is the video file itself (``Content-Type: application/octet-stream``; the page sends the file as it is,
``curl --data-binary @clip.mp4``), so no form parsing is needed and the size limit is enforced while it streams.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import AsyncIterator

import numpy as np

from pseudopulse.errors import PseudopulseError
from pseudopulse.io.video import _one_line
from pseudopulse.serve import json_floats
from pseudopulse.signal import psd

PSD_MAX_BPM = 240.0  # the PSD the page draws stops here
PSD_RESOLUTION_BPM = 0.5


class UploadError(PseudopulseError):
    """An upload the server refuses before reading it; ``status`` is the HTTP status (400 or 413)."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


def safe_name(name: str | None) -> str:
    """The uploaded file's base name, reduced to letters, digits, ``._-`` (what messages and the suffix use)."""
    base = Path(str(name or "")).name
    return re.sub(r"[^A-Za-z0-9._-]+", "_", base)[:120] or "upload"


async def save_upload(chunks: AsyncIterator[bytes], *, name: str, max_bytes: int, folder: str | None = None) -> Path:
    """Write the body ``chunks`` to a new temporary file with the suffix of ``name``; ``UploadError`` (413) once it
    passes ``max_bytes``, (400) when it is empty. The caller deletes the file."""
    fd, tmp = tempfile.mkstemp(prefix="pseudopulse-upload-", suffix=Path(name).suffix.lower()[:10], dir=folder)
    size = 0
    try:
        with os.fdopen(fd, "wb") as f:
            async for chunk in chunks:
                size += len(chunk)
                if size > max_bytes:
                    raise UploadError(f"{name}: the file is larger than the {max_bytes / 1e6:g} MB limit "
                                      "(`pseudopulse serve --max-upload-mb` raises it)", 413)  # fmt: skip
                f.write(chunk)
        if size == 0:
            raise UploadError(f"{name}: the upload is empty; send the video file as the request body", 400)
    except BaseException:
        os.unlink(tmp)
        raise
    return Path(tmp)


def predict_file(path: Path, *, name: str, method: str, model, min_confidence: float) -> dict:
    """``pseudopulse.predict`` of the saved upload as the page's report (see ``report``). Raises a
    ``PseudopulseError`` whose one-line message names ``name``, not the temporary file."""
    from pseudopulse.api import predict

    try:
        result = predict(path, method=method, model=model, min_confidence=min_confidence)
    except PseudopulseError as e:
        raise type(e)(_one_line(e).replace(str(path), name)) from None
    return report(result, name=name)


def report(result, *, name: str) -> dict:
    """The page's report of a ``PredictResult``: its summary (HR track included), the wave on its time grid (s) and
    the wave's PSD up to ``PSD_MAX_BPM`` (bpm, power normalised to a peak of 1)."""
    t = np.asarray(result.timestamps_s, np.float64)
    fs = (len(t) - 1) / (t[-1] - t[0]) if len(t) > 1 and t[-1] > t[0] else result.fps
    freqs, power = psd(result.wave, fs, resolution_bpm=PSD_RESOLUTION_BPM)
    keep = freqs * 60.0 <= PSD_MAX_BPM
    power = power[keep] / (power[keep].max() or 1.0)
    return {
        **result.summary(),
        "source": name,
        "timestamps_s": json_floats(t, 3),
        "wave": json_floats(result.wave, 4),
        "psd_bpm": json_floats(freqs[keep] * 60.0, 2),
        "psd_power": json_floats(power, 4),
    }
