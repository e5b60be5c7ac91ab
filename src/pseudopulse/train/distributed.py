"""Data-parallel training under ``torchrun`` (torch.distributed): who this process is, the process group, and the
few collectives the training loop needs.

``torchrun --nproc-per-node N -m pseudopulse train ...`` starts N processes with ``RANK``, ``WORLD_SIZE`` and
``LOCAL_RANK`` (and the rendezvous address) in their environment. ``process_group`` joins them (gloo for CPU
tensors, NCCL for CUDA ones; the training loop runs on the CPU, so gloo). Every rank walks the same shuffled clip
order; each global batch (``batch_size`` clips, the single-process batch) is split by ``rank_rows``, the
interleaving of ``torch.utils.data.DistributedSampler``; the networks are wrapped in DistributedDataParallel, whose
backward averages the gradients. Rank 0 alone writes files and prints. A single process (no ``WORLD_SIZE`` or 1)
uses none of this.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass

import numpy as np
import torch
import torch.distributed as dist


@dataclass(frozen=True)
class World:
    """This process's place: ``rank`` of ``size`` processes in all, ``local_rank`` on its node."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def active(self) -> bool:
        """Whether training is data-parallel (more than one process)."""
        return self.size > 1

    @property
    def main(self) -> bool:
        """Whether this process writes files and prints (rank 0)."""
        return self.rank == 0


SINGLE = World()


def env_world() -> World:
    """The world torchrun describes in the environment (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``); ``SINGLE``
    outside torchrun."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    if size <= 1:
        return SINGLE
    return World(int(os.environ["RANK"]), size, int(os.environ.get("LOCAL_RANK", "0")))


def current() -> World:
    """The world of the initialised process group, or ``SINGLE`` when there is none."""
    if not (dist.is_available() and dist.is_initialized()):
        return SINGLE
    return World(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))


def backend_for(device: torch.device) -> str:
    """NCCL for CUDA tensors, gloo otherwise."""
    return "nccl" if device.type == "cuda" else "gloo"


@contextlib.contextmanager
def process_group(world: World, device: torch.device = torch.device("cpu")):
    """Join the process group of ``world`` (env:// rendezvous, as torchrun sets it up) for the block; a single
    process joins nothing."""
    if not world.active:
        yield world
        return
    dist.init_process_group(backend=backend_for(device), rank=world.rank, world_size=world.size)
    try:
        yield world
    finally:
        dist.destroy_process_group()


@contextlib.contextmanager
def rank_zero_first():
    """Rank 0 runs the block first (e.g. fills a shared cache), the other ranks after it (reading what it wrote), so
    no two ranks build the same cache entry at once."""
    world = current()
    if world.active and not world.main:
        dist.barrier()
    yield
    if world.active and world.main:
        dist.barrier()


def rank_rows(n: int, world: World) -> np.ndarray | None:
    """Rows of an ``n``-clip global batch this rank computes: ``rank, rank + size, ...`` (DistributedSampler's
    interleaving), or None for a single process (all rows)."""
    return np.arange(n)[world.rank :: world.size] if world.active else None


def weighted_sum(values: list[float], weight: float) -> list[float]:
    """Sum over ranks of ``weight · value`` for each value (one all-reduce; float64)."""
    t = torch.tensor(values, dtype=torch.float64) * weight
    dist.all_reduce(t)
    return t.tolist()


def gather_rows(values: torch.Tensor, rows: np.ndarray, n: int) -> torch.Tensor:
    """The (n,) tensor whose ``rows`` hold this rank's ``values`` and the other rows the other ranks'."""
    parts: list = [None] * dist.get_world_size()
    dist.all_gather_object(parts, (rows.tolist(), values.detach().cpu().tolist()))
    out = torch.empty(n, dtype=values.dtype)
    for r, v in parts:
        out[r] = torch.tensor(v, dtype=values.dtype)
    return out


def broadcast_buffers(net: torch.nn.Module) -> None:
    """Give every rank rank 0's buffers (BatchNorm running statistics, which each rank updates from its own rows)."""
    for b in net.buffers():
        dist.broadcast(b, 0)
