"""Keep a live session: ``Recorder(folder)`` appends every update to ``track.csv`` and the newest part of each
window's wave to ``wave.csv`` as they come (flushed each time, so a session that is killed keeps what it had), and
writes ``summary.json`` (atomically) when it closes. Times in s of stream time, rates in bpm."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from pseudopulse.io import atomic_write_text
from pseudopulse.signal.confidence import CONFIDENCE_MEANING
from pseudopulse.live.engine import READING, Update

TRACK_FIELDS = ("t_s", "hr_bpm", "confidence", "reliable", "status", "face_share", "latency_s", "frames_dropped", "reasons")


class Recorder:
    """Append a stream's updates to files in ``folder`` (created): ``track.csv`` (one row per update),
    ``wave.csv`` (t_s, wave: each window's clean wave from where the previous window's part ended, so the file is a
    causal pulse wave of the whole session) and, on ``close``, ``summary.json``."""

    def __init__(self, folder: str | Path, *, source: str, method: str, min_confidence: float):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.meta = {"source": source, "method": method, "min_confidence": float(min_confidence),
                     "confidence_meaning": CONFIDENCE_MEANING}  # fmt: skip
        self._track_f = open(self.folder / "track.csv", "w", newline="")
        self._wave_f = open(self.folder / "wave.csv", "w", newline="")
        self._track = csv.writer(self._track_f)
        self._wave = csv.writer(self._wave_f)
        self._track.writerow(TRACK_FIELDS)
        self._wave.writerow(("t_s", "wave"))
        self._wave_until = -np.inf
        self.n_updates = self.n_readings = 0
        self._reliable_hr: list[float] = []
        self.last: Update | None = None

    def add(self, u: Update) -> None:
        """Append one update (and the new part of its wave)."""
        j = u.to_json()
        self._track.writerow([j["t_s"], "" if j["hr_bpm"] is None else j["hr_bpm"], j["confidence"], int(j["reliable"]),
                              j["status"], j["face_share"], j["latency_s"], j["frames_dropped"], " | ".join(j["reasons"])])  # fmt: skip
        self._track_f.flush()
        if len(u.wave):
            new = u.wave_t_s > self._wave_until + 1e-9
            for t, w in zip(u.wave_t_s[new], u.wave[new]):
                self._wave.writerow((f"{t:.4f}", f"{w:.6g}"))
            self._wave_f.flush()
            self._wave_until = float(u.wave_t_s[-1])
        self.n_updates += 1
        self.n_readings += u.status == READING
        if u.reliable and u.hr_bpm is not None:
            self._reliable_hr.append(float(u.hr_bpm))
        self.last = u

    def close(self, *, ended: str = "") -> Path:
        """Close the files and write ``summary.json``; returns its path."""
        self._track_f.close()
        self._wave_f.close()
        hr = np.asarray(self._reliable_hr)
        summary = {
            **self.meta,
            "ended": ended or "source ended",
            "updates": self.n_updates,
            "readings": self.n_readings,
            "reliable_updates": int(len(hr)),
            "reliable_share": round(len(hr) / self.n_readings, 3) if self.n_readings else None,
            "median_reliable_hr_bpm": round(float(np.median(hr)), 2) if len(hr) else None,
            "duration_s": round(float(self.last.t_s), 3) if self.last else 0.0,
            "frames": self.last.frames if self.last else 0,
            "frames_dropped": self.last.frames_dropped if self.last else 0,
            "files": {"track": "track.csv", "wave": "wave.csv"},
        }
        path = self.folder / "summary.json"
        atomic_write_text(path, json.dumps(summary, indent=2))
        return path
