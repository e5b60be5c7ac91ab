"""Engines that run preprocessing jobs: ``local`` (this process, or a pool of worker processes) and ``ray``.

Every engine has one signature: ``run(fn, items, *, workers, address, on_result)`` calls ``fn(job)`` for each
``(key, job)`` of ``items`` somewhere and ``on_result(key, result)`` in this process as each one finishes (in
completion order). ``fn`` must be a module-level function and jobs picklable. ``ray`` is an optional dependency
(``pip install pseudopulse[ray]``), imported only by the ray engine.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any, Callable, Sequence

from pseudopulse.errors import PseudopulseError


class EngineError(PseudopulseError):
    """An engine cannot run: unknown name, Ray not installed, no cluster at the address."""


def run_local(fn: Callable, items: Sequence[tuple[Any, Any]], *, workers: int | None = 1, address: str | None = None,
              on_result: Callable[[Any, Any], None]) -> None:  # fmt: skip
    """``workers`` 1: one job after another in this process; more: a pool of that many spawned processes (spawn,
    not fork: torch and the decode threads do not survive a fork)."""
    if address is not None:
        raise EngineError(f"--ray-address {address}: the local engine runs on this machine; use --engine ray")
    if (workers or 1) <= 1 or len(items) <= 1:
        for key, job in items:
            on_result(key, fn(job))
        return
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(workers, len(items)), mp_context=ctx) as pool:
        futures = {pool.submit(fn, job): key for key, job in items}
        for fut in as_completed(futures):
            on_result(futures[fut], fut.result())


def run_ray(fn: Callable, items: Sequence[tuple[Any, Any]], *, workers: int | None = None, address: str | None = None,
            on_result: Callable[[Any, Any], None]) -> None:  # fmt: skip
    """Spread the jobs over a Ray cluster: the one at ``address`` (``ray start --head`` prints it; "auto" finds a
    local one), then at most ``workers`` tasks are in flight (None: one per CPU of the cluster); without an address
    a local cluster of ``workers`` CPUs (None: every CPU here) is started for this run and shut down after it.
    One CPU per task; Ray re-runs a task whose worker died."""
    try:
        import ray
    except ImportError:
        raise EngineError("--engine ray needs Ray, which is not installed; pip install 'pseudopulse[ray]' or use "
                          "--engine local") from None  # fmt: skip
    started = not ray.is_initialized()
    if started:
        try:
            if address:
                ray.init(address=address, logging_level="ERROR", log_to_driver=False)
            else:
                ray.init(num_cpus=workers, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
        except (ConnectionError, RuntimeError, ValueError) as e:
            where = f"--ray-address {address}" if address else "a local Ray cluster"
            raise EngineError(f"{where}: cannot connect ({' '.join(str(e).split())[:200]}); start one with "
                              "`ray start --head` and pass the address it prints") from None  # fmt: skip
    try:
        workers = workers or int(ray.cluster_resources().get("CPU", 1))
        task = ray.remote(num_cpus=1)(fn)
        todo = list(items)
        in_flight: dict = {}
        while todo or in_flight:
            while todo and len(in_flight) < max(1, workers):
                key, job = todo.pop(0)
                in_flight[task.remote(job)] = key
            ready, _ = ray.wait(list(in_flight), num_returns=1)
            for ref in ready:
                on_result(in_flight.pop(ref), ray.get(ref))
    finally:
        if started:
            ray.shutdown()


ENGINES: dict[str, Callable] = {"local": run_local, "ray": run_ray}


def get_engine(name: str) -> Callable:
    """The engine called ``name``; an unknown name is an EngineError listing the valid ones."""
    if name not in ENGINES:
        raise EngineError(f"--engine {name}: unknown engine; use one of {', '.join(ENGINES)}")
    return ENGINES[name]
