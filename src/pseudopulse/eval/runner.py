"""Evaluate a predictor on a dataset: recordings on worker processes -> per-clip HR -> metrics.

One recording per task on a pool of worker processes (spawned, so no parent state leaks in). A worker streams
its video through ``extract_stmap`` (bounded memory) and scores it with ``eval.recording.evaluate_recording``,
returns only small arrays (waves on the evaluation grid, per-clip numbers), and never raises: a failing recording
comes back with its error message and is listed in ``EvalResult.failures`` by name while the others go on.
Warnings raised inside a worker are returned and re-issued in the parent. Frame-level progress travels back over
a queue to ``progress``.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import multiprocessing as mp
import os
import queue as queue_mod
import time
import traceback
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from pseudopulse.datasets.base import Dataset, Recording
from pseudopulse.errors import DatasetError, PseudopulseError
from pseudopulse.eval.metrics import HRMetrics, TrustMetrics, hr_metrics, trust_metrics
from pseudopulse.eval.recording import ClipResult, EvalConfig, RecordingResult, evaluate_recording
from pseudopulse.predictors import Predictor, resolve_predictor

__all__ = ["ClipResult", "EvalConfig", "EvalProgress", "EvalResult", "RecordingResult", "evaluate", "evaluate_recording",
           "run_recordings"]  # fmt: skip


@dataclass
class EvalResult:
    dataset: str
    root: str
    method: str
    protocol: str
    subset: str
    split_rule: str
    settings: dict
    recordings: list[RecordingResult]
    metrics: HRMetrics | None
    frame_metrics: HRMetrics | None = None
    group_metrics: dict = field(default_factory=dict)
    trust: TrustMetrics | None = None  # coverage, MAE of reliable clips, reliability bins, coverage-error curve

    @property
    def clips(self) -> list[ClipResult]:
        return [c for r in self.recordings for c in r.clips]

    @property
    def failures(self) -> list[tuple[str, str]]:
        return [(r.name, r.error) for r in self.recordings if r.error]

    @property
    def warnings(self) -> list[str]:
        return [w for r in self.recordings for w in r.warnings]

    def to_dict(self) -> dict:
        """JSON-able summary: settings, metrics under plain keys, every clip's predicted and true HR, failures."""
        return {
            **{k: getattr(self, k) for k in ("dataset", "root", "method", "protocol", "subset", "split_rule", "settings")},
            "metrics": None if self.metrics is None else self.metrics.as_dict(),
            "frame_metrics": None if self.frame_metrics is None else self.frame_metrics.as_dict(),
            "group_metrics": {k: v.as_dict() for k, v in self.group_metrics.items()},
            "trust": None if self.trust is None else self.trust.as_dict(),
            "clips": [dataclasses.asdict(c) for c in self.clips],
            "recordings": [
                {"name": r.name, "subject_id": r.subject_id, "n_clips": len(r.clips), "fs": r.fs,
                 "n_frames": r.n_frames, "seconds": round(r.seconds, 2), "error": r.error, "warnings": r.warnings}
                for r in self.recordings
            ],  # fmt: skip
            "failures": [{"recording": n, "error": e} for n, e in self.failures],
        }


@dataclass(frozen=True)
class EvalProgress:
    """Progress snapshot for a UI: recordings and clips done, frames decoded so far (all workers)."""

    recordings_done: int
    recordings_total: int
    clips_done: int
    frames_done: int
    frames_total: int | None
    failed: int
    elapsed_s: float
    last: str = ""

    @property
    def fps(self) -> float:
        return self.frames_done / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def eta_s(self) -> float | None:
        if self.frames_total and self.frames_done > 0:
            return max(0.0, (self.frames_total - self.frames_done) / max(self.fps, 1e-9))
        if self.recordings_done > 0:
            return self.elapsed_s / self.recordings_done * (self.recordings_total - self.recordings_done)
        return None


# ---------------------------------------------------------------------------------------------- worker plumbing
_QUEUE = None


def _init_worker(q, threads: int) -> None:
    global _QUEUE
    _QUEUE = q
    # before anything imports torch / BLAS in this fresh process: share the cores among the workers
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(var, str(threads))


def _safe_evaluate(rec: Recording, predictor, config: EvalConfig, kwargs: dict, sink=None) -> RecordingResult:
    """Run ``evaluate_recording``; capture warnings and turn any exception into ``RecordingResult.error``.
    Frame progress goes to ``sink(name, frames_increment, frames_total)`` (default: the worker's queue)."""
    sink = sink or (_QUEUE.put if _QUEUE is not None else None)
    last = [0]

    def tick(done: int, total: int | None) -> None:
        if sink is not None and (done - last[0] >= 25 or (total is not None and done >= total)):
            sink((rec.name, done - last[0], total))
            last[0] = done

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            res = evaluate_recording(rec, predictor, config, progress=tick, **kwargs)
        except PseudopulseError as e:
            res = RecordingResult(rec.name, rec.subject_id, error=f"{type(e).__name__}: {e}")
        except Exception as e:  # a bug or an unexpected library failure: report it with where it happened
            where = traceback.extract_tb(e.__traceback__)[-1]
            res = RecordingResult(
                rec.name, rec.subject_id,
                error=f"{type(e).__name__}: {e} (at {Path(where.filename).name}:{where.lineno})",
            )  # fmt: skip
    res.warnings = [str(w.message) for w in caught if not issubclass(w.category, DeprecationWarning)]
    return res


def default_workers() -> int:
    return max(1, min(2, os.cpu_count() or 1))


def run_recordings(
    recordings: Sequence[Recording],
    predictor: Predictor | str,
    config: EvalConfig,
    *,
    workers: int | None = None,
    progress: Callable[[EvalProgress], None] | None = None,
    **scoring,
) -> list[RecordingResult]:
    """Evaluate ``recordings`` (in their order) on ``workers`` processes (1 = in this process). ``scoring``: the
    dataset's keyword arguments of ``evaluate_recording`` (``hr_source``, ``clip_s`` in s, ``eval_fs`` in Hz,
    ``frame_level``)."""
    workers = default_workers() if workers is None else max(1, int(workers))
    kwargs = scoring
    t0 = time.monotonic()
    state = {"frames": 0, "done": 0, "clips": 0, "failed": 0, "totals": {}}
    n = len(recordings)

    def emit(last: str = "") -> None:
        if progress is None:
            return
        totals = state["totals"]
        ft = sum(totals.values()) if len(totals) == n and all(v for v in totals.values()) else None
        progress(EvalProgress(state["done"], n, state["clips"], state["frames"], ft, state["failed"], time.monotonic() - t0, last))

    def count(item) -> None:
        name, inc, total = item
        state["frames"] += inc
        if total:
            state["totals"][name] = total

    def drain(q) -> None:
        while True:
            try:
                item = q.get_nowait()
            except (queue_mod.Empty, OSError, EOFError):
                return
            count(item)

    def finish(res: RecordingResult) -> RecordingResult:
        if state["done"] >= config.keep_waves_for:  # bounded memory on big datasets: keep numbers, drop waves
            res.t_s = res.wave = res.gt_ppg = res.pseudo = None
        state["done"] += 1
        state["clips"] += len(res.clips)
        state["failed"] += bool(res.error)
        emit(res.name)
        return res

    emit()
    results: dict[str, RecordingResult] = {}
    if workers == 1 or n <= 1:
        last_emit = [0.0]

        def sink(item) -> None:
            count(item)
            if time.monotonic() - last_emit[0] > 0.2:
                last_emit[0] = time.monotonic()
                emit()

        for rec in recordings:
            results[rec.name] = finish(_safe_evaluate(rec, predictor, config, kwargs, sink))
    else:
        ctx = mp.get_context("spawn")
        q = ctx.Queue()
        threads = max(1, (os.cpu_count() or 1) // workers)
        pending = list(recordings)
        while pending:
            with cf.ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker, initargs=(q, threads)) as pool:
                futures = {pool.submit(_safe_evaluate, r, predictor, config, kwargs): r for r in pending}
                pending = []
                not_done = set(futures)
                broken = False
                while not_done:
                    done, not_done = cf.wait(not_done, timeout=0.25, return_when=cf.FIRST_COMPLETED)
                    drain(q)
                    for f in done:
                        rec = futures[f]
                        try:
                            res = f.result()
                        except cf.process.BrokenProcessPool:
                            broken = True
                            res = RecordingResult(
                                rec.name, rec.subject_id,
                                error="worker process died while evaluating it (out of memory or a crash in native code)",
                            )  # fmt: skip
                        results[rec.name] = finish(res)
                    emit()
                if broken:  # recordings that never ran on the dead pool get a fresh one
                    pending = [r for r in recordings if r.name not in results]
        drain(q)
    emit()
    return [results[r.name] for r in recordings]


# ---------------------------------------------------------------------------------------------- whole dataset
def evaluate(
    dataset: Dataset,
    method: str | Predictor,
    *,
    recordings: Sequence[Recording] | None = None,
    config: EvalConfig = EvalConfig(),
    protocol: str = "all",
    subset: str = "all",
    split_rule: str = "",
    workers: int | None = None,
    progress: Callable[[EvalProgress], None] | None = None,
    groups: dict[str, str] | None = None,
) -> EvalResult:
    """Evaluate ``method`` (a name for ``resolve_predictor`` or a ``Predictor``) on ``recordings`` (default: all of
    ``dataset``). ``groups`` maps recording name -> group label (e.g. VIPL fold) for per-group metrics."""
    recs = list(recordings) if recordings is not None else dataset.recordings()
    if not recs:
        raise DatasetError(f"{dataset.root}: no recordings selected for evaluation ({subset} of {protocol})")
    name = method if isinstance(method, str) else method.name
    if isinstance(method, str):
        resolve_predictor(method, config.model)  # fail fast on an unknown name / a bad model file
    clip_s = config.clip_s or dataset.clip_s
    res_list = run_recordings(
        recs, method, config, hr_source=dataset.hr_source, clip_s=clip_s, eval_fs=dataset.eval_fs,
        frame_level=dataset.frame_level, workers=workers, progress=progress,
    )  # fmt: skip
    clips = [c for r in res_list for c in r.clips]
    metrics = hr_metrics([c.hr_pred_bpm for c in clips], [c.hr_true_bpm for c in clips], [c.snr_db for c in clips]) if clips else None
    frame_metrics = None
    fr = [r for r in res_list if r.frame_pred_bpm is not None]
    if dataset.frame_level and fr:
        frame_metrics = hr_metrics(np.concatenate([r.frame_pred_bpm for r in fr]), np.concatenate([r.frame_true_bpm for r in fr]))
    trust = None
    if config.confidence and clips:
        trust = trust_metrics([c.error_bpm for c in clips], [c.confidence for c in clips], config.min_confidence)
    group_metrics = {}
    if groups:
        for g in sorted(set(groups.values())):
            gc = [c for c in clips if groups.get(c.recording) == g]
            if gc:
                group_metrics[g] = hr_metrics([c.hr_pred_bpm for c in gc], [c.hr_true_bpm for c in gc], [c.snr_db for c in gc])
    settings = {
        "clip_s": clip_s, "band_hz": list(config.band_hz), "roi": config.roi, "grid": list(config.grid),
        "detect_every": config.detect_every,
        "per_clip": config.per_clip, "clip_offset_s": config.clip_offset_s,
        "eval_fs": config.eval_fs or dataset.eval_fs, "gt_hr_source": dataset.hr_source,
        "hr_estimator": "pseudopulse.signal.estimate_hr (detrend + Butterworth-2 band-pass + PSD peak)",
        "model": config.model, "min_confidence": config.min_confidence if config.confidence else None,
    }  # fmt: skip
    return EvalResult(
        dataset=dataset.name, root=str(dataset.root), method=name, protocol=protocol, subset=subset,
        split_rule=split_rule, settings=settings, recordings=res_list, metrics=metrics,
        frame_metrics=frame_metrics, group_metrics=group_metrics, trust=trust,
    )  # fmt: skip
