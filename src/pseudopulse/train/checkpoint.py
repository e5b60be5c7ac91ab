"""Checkpoints: resumable training state (not model files; those are ``pseudopulse.model.file``).

A checkpoint holds nets, optimizers, epoch, RNG states (torch, numpy, python), config and history, written
atomically every epoch, so ``--resume`` continues bit-exactly.
"""

from __future__ import annotations

import pickle
import random
import zipfile
from pathlib import Path

import numpy as np
import torch

from pseudopulse.errors import ModelError
from pseudopulse.io import atomic_path


def capture_rng() -> dict:
    return {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()}


def restore_rng(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])


def save_checkpoint(path: str | Path, state: dict) -> None:
    """Atomically write a training state dict (torch.save)."""
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def load_checkpoint(path: str | Path) -> dict:
    """Read a checkpoint written by ``save_checkpoint`` (our own file: full unpickling)."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"{path}: no checkpoint to resume from; start without --resume")
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except (RuntimeError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile, OSError) as e:
        raise ModelError(f"{path}: checkpoint is corrupt or incompatible ({e}); delete it and retrain") from None
