"""Which recordings an evaluation scores: the protocol's split (or a split file) and the subset of it.

``subset="auto"`` means: the split's test part for a trained model (or when a split file / VIPL fold is given),
and every recording for the training-free methods — they never see training data, so the whole dataset is
fair test data. The table header always states the subset used.
"""

from __future__ import annotations

from dataclasses import dataclass

from pseudopulse.datasets.base import Dataset, Recording
from pseudopulse.datasets.splits import PROTOCOLS, Split, all_recordings_split, paper_split, read_split, vipl_folds
from pseudopulse.errors import DatasetError

SUBSETS = ("auto", "test", "train", "all")


@dataclass(frozen=True)
class Selection:
    split: Split
    subset: str  # resolved: test / train / all
    recordings: list[Recording]
    groups: dict[str, str]  # recording name -> group label for per-group metrics (VIPL folds)


def select_recordings(
    dataset: Dataset,
    *,
    kind: str,
    protocol: str | None = None,
    fold: int | None = None,
    subset: str = "auto",
    split_file: str | None = None,
) -> Selection:
    """Resolve the split and subset for ``dataset`` (``kind`` = the predictor's kind: "method" or "model")."""
    if subset not in SUBSETS:
        raise DatasetError(f"subset must be one of {', '.join(SUBSETS)}; got {subset!r}")
    if split_file:
        split = read_split(split_file)
    else:
        proto = protocol or (dataset.name if dataset.name in PROTOCOLS else None)
        if proto is None or proto == "all":
            split = all_recordings_split(dataset)
        elif proto.startswith("vipl") and fold is None and not proto.startswith("vipl-fold"):
            split = None  # all five folds: every recording is in exactly one test fold
        else:
            split = paper_split(dataset, proto, fold)
    if split is None:  # VIPL without a fold
        split = all_recordings_split(dataset)
        split = Split("vipl", "vipl", "vipl", (), split.test, "subject-exclusive 5-fold CV: union of the 5 test folds",
                      test_subjects=split.test_subjects)  # fmt: skip
    resolved = subset
    if subset == "auto":
        resolved = "test" if (kind == "model" or split_file or fold is not None) else "all"
    if resolved == "all":
        recs = dataset.recordings()
    else:
        recs = split.select(dataset, resolved)
    if not recs:
        raise DatasetError(
            f"{dataset.root}: the {resolved} part of split {split.protocol!r} ({split.rule}) holds no recording of this "
            "dataset copy; use --subset all, another --protocol, or a --split-file"
        )
    groups = {}
    if dataset.name == "vipl" and len({r.subject_id for r in dataset.recordings()}) >= 5:
        folds = vipl_folds([r.subject_id for r in dataset.recordings()])
        fold_of = {s: f"fold{k + 1}" for k, f in enumerate(folds) for s in f}
        groups = {r.name: fold_of[r.subject_id] for r in recs}
    return Selection(split=split, subset=resolved, recordings=recs, groups=groups)
