"""Dataset adapters: list recordings, read ground truth, align it to video frames by timestamps, splits.

``get_dataset("ubfc", root)`` (or a folder path) -> ``Dataset``; ``dataset.recordings()`` -> ``Recording`` list;
``recording.ground_truth()`` -> ``GroundTruth``; ``align_ground_truth(gt, frame_times_s)`` -> ``AlignedGT``.
Splits: ``pseudopulse.datasets.splits`` (``paper_split``, ``write_split``, ``read_split``).
"""

from pseudopulse.datasets.base import (
    DATASETS,
    AlignedGT,
    Clip,
    Dataset,
    GroundTruth,
    Recording,
    align_ground_truth,
    dataset_class,
    get_dataset,
)
from pseudopulse.datasets.splits import Split, paper_split, read_split, write_split

__all__ = [
    "DATASETS",
    "AlignedGT",
    "Clip",
    "Dataset",
    "GroundTruth",
    "Recording",
    "Split",
    "align_ground_truth",
    "dataset_class",
    "get_dataset",
    "paper_split",
    "read_split",
    "write_split",
]
