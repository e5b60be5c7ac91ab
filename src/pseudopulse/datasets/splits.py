"""Train/test splits of the paper's protocols, written to and read from JSON files so runs are reproducible.

Protocols (Li & Yin 2023 follow RhythmNet / CVD / Dual-GAN):
- ``ubfc``: test = subjects 38–49 (the ones present; 12 in the full release), train = the others (30).
- ``pure``: test = subjects 06, 08, 09, 10 (24 sequences), train = 01, 02, 03, 04, 05, 07 (36).
- ``vipl``: subject-exclusive 5-fold cross-validation, ``vipl-fold1`` … ``vipl-fold5``. The official fold lists are
  not public in code form, so persons are sorted by number and cut into 5 contiguous, near-equal groups
  (107 persons -> 22/22/21/21/21); no person is split across folds.
- ``v4v``: the challenge's own subsets, from the folder names: train = ``train-*``, test = ``Test`` (or ``valid``
  when the test videos are absent).
- ``pure->ubfc``: cross-dataset: train = every PURE recording (written as ``["*"]``), test = every UBFC recording.
A split lists recording names (and, for reference, subject ids); ``"*"`` means every recording of that dataset.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from pseudopulse.datasets.base import Dataset, Recording, natural_key
from pseudopulse.errors import DatasetError
from pseudopulse.io import atomic_write_text

UBFC_TEST_SUBJECTS = tuple(str(i) for i in range(38, 50))
PURE_TEST_SUBJECTS = ("06", "08", "09", "10")
VIPL_FOLDS = 5
PROTOCOLS = ("ubfc", "pure", "vipl", "v4v", "pure->ubfc")
ALL = "*"


@dataclass(frozen=True)
class Split:
    protocol: str
    train_dataset: str
    test_dataset: str
    train: tuple[str, ...]
    test: tuple[str, ...]
    rule: str
    train_subjects: tuple[str, ...] = ()
    test_subjects: tuple[str, ...] = ()

    def select(self, dataset: Dataset, part: str = "test") -> list[Recording]:
        """The recordings of ``dataset`` in ``part`` ("train" or "test"); a name the dataset lacks is an error."""
        names = self.test if part == "test" else self.train
        want = self.test_dataset if part == "test" else self.train_dataset
        if want != dataset.name:
            raise DatasetError(
                f"split {self.protocol!r}: its {part} part is {want} recordings, but the dataset given is {dataset.name} "
                f"({dataset.root})"
            )
        recs = dataset.recordings()
        if names == (ALL,):
            return recs
        by_name = {r.name: r for r in recs}
        missing = [n for n in names if n not in by_name]
        if missing:
            raise DatasetError(
                f"split {self.protocol!r} lists {len(missing)} {part} recording(s) that {dataset.root} lacks "
                f"(e.g. {', '.join(missing[:3])}); regenerate the split file for this dataset copy"
            )
        return [by_name[n] for n in names]


def _by_subjects(dataset: Dataset, protocol: str, test_subjects: set[str], rule: str) -> Split:
    recs = dataset.recordings()
    test = [r for r in recs if r.subject_id in test_subjects]
    train = [r for r in recs if r.subject_id not in test_subjects]
    return Split(
        protocol=protocol,
        train_dataset=dataset.name,
        test_dataset=dataset.name,
        train=tuple(r.name for r in train),
        test=tuple(r.name for r in test),
        rule=rule,
        train_subjects=tuple(sorted({r.subject_id for r in train}, key=natural_key)),
        test_subjects=tuple(sorted({r.subject_id for r in test}, key=natural_key)),
    )


def vipl_folds(subject_ids: list[str], n_folds: int = VIPL_FOLDS) -> list[list[str]]:
    """Persons sorted by number, cut into ``n_folds`` contiguous near-equal groups (larger groups first)."""
    subs = sorted(set(subject_ids), key=natural_key)
    if len(subs) < n_folds:
        raise DatasetError(f"{n_folds}-fold cross-validation needs >= {n_folds} subjects; the dataset has {len(subs)}")
    base, extra = divmod(len(subs), n_folds)
    folds, start = [], 0
    for k in range(n_folds):
        size = base + (1 if k < extra else 0)
        folds.append(subs[start : start + size])
        start += size
    return folds


def paper_split(dataset: Dataset, protocol: str | None = None, fold: int | None = None) -> Split:
    """The split of ``protocol`` (default: the dataset's own intra-dataset protocol) over ``dataset``'s recordings."""
    protocol = (protocol or dataset.name).lower()
    if protocol == "ubfc":
        return _by_subjects(dataset, "ubfc", set(UBFC_TEST_SUBJECTS), "test = subjects 38-49, train = the others")
    if protocol == "pure":
        return _by_subjects(dataset, "pure", set(PURE_TEST_SUBJECTS), "test = subjects 06, 08, 09, 10, train = the others")
    if protocol == "pure->ubfc":
        recs = dataset.recordings()
        return Split(
            protocol="pure->ubfc",
            train_dataset="pure",
            test_dataset=dataset.name,
            train=(ALL,),
            test=tuple(r.name for r in recs),
            rule="cross-dataset: train = all PURE recordings, test = all UBFC-rPPG recordings",
            test_subjects=tuple(sorted({r.subject_id for r in recs}, key=natural_key)),
        )
    if protocol in ("vipl", "vipl-hr") or protocol.startswith("vipl-fold"):
        if fold is None and protocol.startswith("vipl-fold"):
            fold = int(protocol.removeprefix("vipl-fold"))
        if fold is None:
            raise DatasetError("the VIPL-HR protocol is 5-fold cross-validation; give fold=1..5 (--fold)")
        if not 1 <= fold <= VIPL_FOLDS:
            raise DatasetError(f"VIPL-HR fold must be 1..{VIPL_FOLDS}; got {fold}")
        folds = vipl_folds([r.subject_id for r in dataset.recordings()])
        return _by_subjects(
            dataset,
            f"vipl-fold{fold}",
            set(folds[fold - 1]),
            f"subject-exclusive {VIPL_FOLDS}-fold CV (persons sorted, contiguous groups); test = fold {fold}",
        )
    if protocol == "v4v":
        recs = dataset.recordings()
        test_group = "test" if any(r.group == "test" for r in recs) else "valid"
        train = [r for r in recs if r.group == "train"]
        test = [r for r in recs if r.group == test_group]
        return Split(
            protocol="v4v",
            train_dataset="v4v",
            test_dataset="v4v",
            train=tuple(r.name for r in train),
            test=tuple(r.name for r in test),
            rule=f"V4V challenge subsets: train = train-* folders, test = {test_group} folder",
            train_subjects=tuple(sorted({r.subject_id for r in train}, key=natural_key)),
            test_subjects=tuple(sorted({r.subject_id for r in test}, key=natural_key)),
        )
    raise DatasetError(f"unknown protocol {protocol!r}; valid: {', '.join(PROTOCOLS)} (vipl takes --fold 1..5)")


def all_recordings_split(dataset: Dataset) -> Split:
    """Every recording is test data (training-free methods have nothing to train)."""
    recs = dataset.recordings()
    return Split(
        protocol="all",
        train_dataset=dataset.name,
        test_dataset=dataset.name,
        train=(),
        test=tuple(r.name for r in recs),
        rule="all recordings (training-free evaluation)",
        test_subjects=tuple(sorted({r.subject_id for r in recs}, key=natural_key)),
    )


def write_split(path: str | Path, split: Split) -> Path:
    """Write ``split`` as JSON (atomically). Returns the path."""
    path = Path(path)
    atomic_write_text(path, json.dumps(asdict(split), indent=2) + "\n")
    return path


def read_split(path: str | Path) -> Split:
    """Read a split JSON written by ``write_split``."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: split file does not exist")
    try:
        d = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise DatasetError(f"{path}, line {e.lineno}: not valid JSON ({e.msg})") from None
    required = ("protocol", "train_dataset", "test_dataset", "train", "test", "rule")
    missing = [k for k in required if k not in d]
    if missing:
        raise DatasetError(f"{path}: split file lacks key(s) {', '.join(missing)}")
    for k in ("train", "test", "train_subjects", "test_subjects"):
        if k in d and not (isinstance(d[k], list) and all(isinstance(x, str) for x in d[k])):
            raise DatasetError(f"{path}: {k!r} must be a list of recording-name strings")
    return Split(
        protocol=str(d["protocol"]),
        train_dataset=str(d["train_dataset"]),
        test_dataset=str(d["test_dataset"]),
        train=tuple(d["train"]),
        test=tuple(d["test"]),
        rule=str(d["rule"]),
        train_subjects=tuple(d.get("train_subjects", ())),
        test_subjects=tuple(d.get("test_subjects", ())),
    )
