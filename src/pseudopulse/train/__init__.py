"""Label-free training (Li & Yin 2023): config, cached clip data, co-rectification, the loop, checkpoints."""

from pseudopulse.train.config import ABLATIONS, TrainConfig
from pseudopulse.train.data import (
    ClipDataset,
    TrainRecording,
    TrainSource,
    dataset_sources,
    prepare_recordings,
    sources_from_spec,
    synth_sources,
    video_sources,
)
from pseudopulse.train.trainer import TrainResult, train

__all__ = [
    "ABLATIONS",
    "ClipDataset",
    "TrainConfig",
    "TrainRecording",
    "TrainResult",
    "TrainSource",
    "dataset_sources",
    "prepare_recordings",
    "sources_from_spec",
    "synth_sources",
    "train",
    "video_sources",
]
