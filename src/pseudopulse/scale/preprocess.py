"""Preprocess a corpus: every video's STMap and its 2SR pseudo label, built into the cache ``train`` reads.

A job is one recording of one ROOT (a folder of videos, a video, or a dataset spec ``train --data`` accepts). Running
it builds exactly what ``train`` / ``evaluate`` would build on first use, with the same code: the source's
``load_stmap`` (``extract_stmap(..., cache_dir=)``, the STMap entry) and ``train.data._load_or_build`` (the
``train-<key>.npz`` entry: the STMap resampled to ``fs`` Hz plus the 2SR wave). Nothing else is written, so a
later ``train --cache-dir`` on the same videos decodes nothing.

Jobs are small frozen dataclasses (picklable: a worker process or a Ray node rebuilds the source from the spec);
a job never raises: it returns a ``JobResult`` whose status is ``done`` (built), ``skipped`` (both entries were
already there) or ``failed`` (one-line error). ``preprocess`` runs the jobs on an engine (``scale.engines``),
retries every failed job once, and returns a ``PreprocessSummary``.
"""

from __future__ import annotations

import dataclasses
import functools
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from pseudopulse.errors import DatasetError, PseudopulseError

STATUSES = ("done", "skipped", "failed")


@dataclass(frozen=True)
class PreprocessJob:
    """One recording to preprocess: source ``name`` of the ROOT ``spec``, built into ``cache_dir`` with the
    training data's ``roi``, rate ``fs`` (Hz), pseudo-label ``method`` and ``pseudo_filter``; ``threads``: torch
    threads the worker uses for it."""

    spec: str
    name: str
    cache_dir: str
    roi: str = "face"
    fs: float = 30.0
    method: str = "2sr"
    pseudo_filter: str = "readout"
    threads: int = 1


@dataclass(frozen=True)
class JobResult:
    """What one job did: ``status`` (done | skipped | failed), ``video_s`` seconds of video (0 when failed),
    ``seconds`` of wall time it took, ``error`` (one line, failed only), ``warnings`` raised while building
    (e.g. face lost for a while), ``attempts`` (2 when it was retried)."""

    name: str
    status: str
    video_s: float = 0.0
    seconds: float = 0.0
    error: str = ""
    warnings: tuple[str, ...] = ()
    attempts: int = 1


@dataclass
class PreprocessSummary:
    """Results of every job, in job order, with the run's ``wall_s`` (s), ``engine`` and ``workers``."""

    results: list[JobResult]
    wall_s: float
    engine: str
    workers: int
    counts: dict = field(init=False)

    def __post_init__(self):
        self.counts = {s: sum(r.status == s for r in self.results) for s in STATUSES}

    @property
    def video_h(self) -> float:
        """Hours of video in the cache after the run (done + skipped)."""
        return sum(r.video_s for r in self.results) / 3600.0

    @property
    def videos_per_s(self) -> float:
        """Videos built (done) per second of wall time."""
        return self.counts["done"] / self.wall_s if self.wall_s > 0 else 0.0

    @property
    def video_s_per_s(self) -> float:
        """Seconds of video built (done) per second of wall time."""
        built = sum(r.video_s for r in self.results if r.status == "done")
        return built / self.wall_s if self.wall_s > 0 else 0.0

    def to_dict(self) -> dict:
        return {"engine": self.engine, "workers": self.workers, "wall_s": self.wall_s, **self.counts,
                "video_h": self.video_h, "videos_per_s": self.videos_per_s, "video_s_per_s": self.video_s_per_s,
                "results": [dataclasses.asdict(r) for r in self.results]}  # fmt: skip


def plan_jobs(roots: Sequence[str | Path], *, cache_dir: str | Path, roi: str = "face", fs: float = 30.0,
              method: str = "2sr", pseudo_filter: str = "readout", threads: int = 1) -> list[PreprocessJob]:  # fmt: skip
    """One job per recording of every ROOT (``train.data.sources_from_spec``); a ROOT that names nothing is a
    DatasetError naming it and what it may be."""
    from pseudopulse.datasets.base import DATASETS

    jobs = []
    for root in map(str, roots):
        name, sep, _ = root.partition(":")
        is_named = sep and name.lower().replace("_", "-") in {*DATASETS, "ubfc-rppg", "vipl-hr"}
        if not is_named and not Path(root).exists():
            raise DatasetError(f"{root}: no such video or folder, and not NAME:ROOT of a dataset ({', '.join(DATASETS)}); "
                               "pass a folder of videos, a video or e.g. ubfc:/data/UBFC-rPPG")  # fmt: skip
        for src in _sources(root, str(cache_dir), roi).values():
            jobs.append(PreprocessJob(root, src.name, str(cache_dir), roi, float(fs), method, pseudo_filter, int(threads)))
    return jobs


@functools.lru_cache(maxsize=8)
def _sources(spec: str, cache_dir: str, roi: str) -> dict:
    """name -> TrainSource of one ROOT, listed once per process (a worker runs many jobs of the same ROOT)."""
    from pseudopulse.train.data import sources_from_spec

    return {s.name: s for s in sources_from_spec(spec, cache_dir=cache_dir, roi=roi)}


def _stamp(path: Path) -> tuple | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return st.st_ino, st.st_mtime_ns, st.st_size


def run_job(job: PreprocessJob) -> JobResult:
    """Build (or find) the STMap and pseudo-label entries of ``job``; never raises (a failure is a JobResult)."""
    import torch

    from pseudopulse.train.data import _cache_file, _load_or_build

    t0 = time.perf_counter()
    threads = torch.get_num_threads()
    torch.set_num_threads(max(1, job.threads))
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            src = _sources(job.spec, job.cache_dir, job.roi)[job.name]
            stmap = src.load_stmap()
            entry = _cache_file(Path(job.cache_dir), src, job.fs, job.method, job.pseudo_filter)
            before = _stamp(entry)
            values, _ = _load_or_build(dataclasses.replace(src, load_stmap=lambda: stmap), job.fs, job.method,
                                       Path(job.cache_dir), job.pseudo_filter)  # fmt: skip
            hit = stmap.meta.get("cache") == "hit" and before is not None and _stamp(entry) == before
        notes = tuple(dict.fromkeys(" ".join(str(w.message).split()) for w in caught))
        return JobResult(job.name, "skipped" if hit else "done", len(values) / job.fs, time.perf_counter() - t0,
                         warnings=notes)  # fmt: skip
    except Exception as e:  # noqa: BLE001 - a job reports its failure; the run goes on with the other videos
        what = " ".join(str(e).split()) or "(no message)"
        if not isinstance(e, PseudopulseError):
            what = f"{e.__class__.__name__}: {what}"
        return JobResult(job.name, "failed", 0.0, time.perf_counter() - t0, error=what)
    finally:
        torch.set_num_threads(threads)


def preprocess(jobs: Sequence[PreprocessJob], *, engine: str = "local", workers: int | None = None, address: str | None = None,
               progress: Callable[[int, int, str], None] | None = None) -> PreprocessSummary:  # fmt: skip
    """Run ``jobs`` on ``engine`` (``scale.engines.ENGINES``) with ``workers`` processes (Ray: CPUs of the local
    cluster it starts, or the most tasks in flight on the cluster at ``address``; a failed job is retried once;
    None = 1 locally, every CPU of the cluster on Ray). ``progress(done, total, name)`` after each job (total grows
    by the retries)."""
    from pseudopulse.scale.engines import get_engine

    run = get_engine(engine)
    t0 = time.perf_counter()
    total = len(jobs)
    results: dict[int, JobResult] = {}
    tick = (lambda name: None) if progress is None else (lambda name: progress(len(ticks), total, name))
    ticks: list[str] = []

    def note(i: int, res: JobResult) -> None:
        results[i] = res
        ticks.append(res.name)
        tick(res.name)

    run(run_job, list(enumerate(jobs)), workers=workers, address=address, on_result=note)
    again = [(i, jobs[i]) for i, r in sorted(results.items()) if r.status == "failed"]
    if again:
        total += len(again)
        run(run_job, again, workers=workers, address=address,
            on_result=lambda i, res: note(i, dataclasses.replace(res, attempts=2)))  # fmt: skip
    return PreprocessSummary([results[i] for i in range(len(jobs))], time.perf_counter() - t0, engine, workers or 0)
