"""Label-free training (Li & Yin 2023): config and recipes, cached clip data, co-rectification, the loop, checkpoints.

Names are imported on first use, so reading a config or a recipe (``pseudopulse.train.config``,
``pseudopulse.train.recipe``) does not load torch.
"""

import importlib

_EXPORTS = {
    "ABLATIONS": "config",
    "TrainConfig": "config",
    "DataPlan": "recipe",
    "Recipe": "recipe",
    "RecipeError": "recipe",
    "load_recipe": "recipe",
    "recipe_names": "recipe",
    "ClipDataset": "data",
    "TrainRecording": "data",
    "TrainSource": "data",
    "dataset_sources": "data",
    "prepare_recordings": "data",
    "sources_from_spec": "data",
    "synth_sources": "data",
    "video_sources": "data",
    "TrainResult": "trainer",
    "train": "trainer",
    "TrainCallbacks": "run",
    "run_training": "run",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted({*globals(), *_EXPORTS})
