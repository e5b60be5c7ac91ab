"""Training recipes: TOML files that name the ``TrainConfig`` fields they change and the data they train on.

A recipe file has ``TrainConfig`` fields at the top level (only those it changes; every other field keeps its
``TrainConfig`` default) and an optional ``[data]`` table (``DataPlan``: what to train on, for reproduction)::

    ablation = "ranking"
    epochs = 40
    lr = 3e-3
    [data]
    data = ["ubfc:../shared/data/real/ubfc_rppg_h264", "../shared/data/unlabeled"]
    holdout = ["3", "4", "5", "9"]
    synth = 60

Packaged recipes live in ``pseudopulse/train/recipes/`` (``recipe_names()``); ``load_recipe`` takes one of
their names or the path of any TOML file. A config is built with the precedence

    TrainConfig defaults < the ablation row < the recipe < overrides (e.g. the command line)

so a recipe with ``ablation = "ranking"`` run with the override ``ablation="full"`` trains the full row with
the recipe's hyper-parameters.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from pseudopulse.errors import PseudopulseError
from pseudopulse.train.config import TrainConfig

RECIPES_DIR = Path(__file__).with_name("recipes")
DEFAULT_RECIPE = "shipped-member1"  # what `pseudopulse train` runs without --recipe: member 1 of the shipped model
PAPER_RECIPE = "paper"  # the paper's full method with its hyper-parameters


class RecipeError(PseudopulseError, ValueError):
    """A recipe is missing, not valid TOML, or names a key or value the trainer does not accept."""


@dataclass(frozen=True)
class DataPlan:
    """What a run trains on: the ``[data]`` table of a recipe (the ``--data``, ``--holdout``, ``--synth*``, ``--roi``
    options). Relative paths resolve against the working directory, as on the command line."""

    data: tuple[str, ...] = ()  # videos, folders of videos, dataset folders or NAME:ROOT specs
    holdout: tuple[str, ...] = ()  # subject ids / recording names of ``data`` datasets NOT to train on
    synth: int = 0  # semi-synthetic clips added (synth.make_suite, rendered once into the cache)
    synth_seed: int = 0  # seed of that suite
    synth_size: tuple[int, int] | None = None  # their frame size (width, height) in px; None: synth.config.SYNTH_TRAIN_SIZE
    roi: str = "face"  # face | full-frame (pre-cropped skin videos)

    def __post_init__(self):
        object.__setattr__(self, "data", tuple(str(d) for d in self.data))
        object.__setattr__(self, "holdout", tuple(str(h) for h in self.holdout))
        if self.synth_size is not None:
            object.__setattr__(self, "synth_size", tuple(int(v) for v in self.synth_size))
        problems = []
        if self.synth < 0:
            problems.append(f"synth={self.synth} (need >= 0 clips)")
        if self.synth_size is not None and len(self.synth_size) != 2:
            problems.append(f"synth_size={list(self.synth_size)} (need [width, height] in px)")
        if self.roi not in ("face", "full-frame"):
            problems.append(f"roi={self.roi!r} (face or full-frame)")
        if problems:
            raise ValueError("invalid data plan: " + "; ".join(problems))

    @property
    def empty(self) -> bool:
        return not self.data and not self.synth


DATA_DEFAULTS = {f.name: f.default for f in dataclasses.fields(DataPlan)}


@dataclass(frozen=True)
class Recipe:
    """A named set of ``TrainConfig`` settings plus a ``DataPlan``. ``settings`` holds only the fields the recipe
    changes (sequences as tuples); ``path`` is the file it came from (None if built in code)."""

    name: str
    settings: dict = field(default_factory=dict)
    data: DataPlan = field(default_factory=DataPlan)
    path: Path | None = None

    @property
    def where(self) -> str:
        return str(self.path) if self.path else f"recipe {self.name!r}"

    def config(self, **overrides) -> TrainConfig:
        """The ``TrainConfig`` of this recipe with ``overrides`` (field -> value) on top.

        Raises ``RecipeError`` (naming the file) when the recipe's own values are invalid, ``ValueError`` when an
        override is."""
        try:
            base = _build(self.settings)
        except ValueError as e:
            raise RecipeError(f"{self.where}: {e}") from None
        return base if not overrides else _build({**self.settings, **overrides})

    def to_toml(self, header: str = "") -> str:
        """The recipe as TOML text that ``parse_recipe`` reads back into an equal recipe; ``header``: comment lines."""
        lines = [f"# {h}" if h else "#" for h in header.splitlines()]
        lines += [f"{k} = {_toml_value(v)}" for k, v in self.settings.items()]
        plan = {k: v for k, v in dataclasses.asdict(self.data).items() if v != DATA_DEFAULTS[k]}
        if plan:
            lines += ["", "[data]", *(f"{k} = {_toml_value(v)}" for k, v in plan.items())]
        return "\n".join(lines) + "\n"


def _build(settings: dict) -> TrainConfig:
    rest = dict(settings)
    ablation = rest.pop("ablation", TrainConfig.defaults()["ablation"])
    return TrainConfig.for_ablation(ablation, **rest)


def recipe_names() -> list[str]:
    """Names of the packaged recipes."""
    return sorted(p.stem for p in RECIPES_DIR.glob("*.toml"))


def recipe_path(ref: str | Path) -> Path:
    """The file of ``ref``: a packaged recipe's name, else the path of a TOML file."""
    text = str(ref)
    packaged = RECIPES_DIR / f"{text}.toml"
    if "/" not in text and "\\" not in text and packaged.is_file():
        return packaged
    path = Path(text).expanduser()
    if path.is_file():
        return path
    raise RecipeError(f"recipe {text!r}: no such packaged recipe or file; give one of {', '.join(recipe_names())} "
                      "or the path of a .toml recipe file")  # fmt: skip


def load_recipe(ref: str | Path) -> Recipe:
    """Read a packaged recipe (by name) or a TOML file (by path); see the module docstring for the format."""
    path = recipe_path(ref)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise RecipeError(f"{path}: cannot read the recipe ({e})") from None
    return parse_recipe(text, name=path.stem, path=path)


def parse_recipe(text: str, *, name: str, path: Path | None = None) -> Recipe:
    """Parse recipe TOML ``text``. Unknown keys and values of the wrong type are errors naming the file, the key
    and the valid keys; values are checked by ``TrainConfig`` when a config is built (``Recipe.config``)."""
    where = str(path) if path else f"recipe {name!r}"
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise RecipeError(f"{where}: not valid TOML ({e})") from None
    data = doc.pop("data", {})
    if not isinstance(data, dict):
        raise RecipeError(f"{where}: 'data' must be a table ([data] with keys {', '.join(DATA_DEFAULTS)})")
    defaults = TrainConfig.defaults()
    settings = {k: _checked(where, k, v, defaults, also=f" and a [data] table ({', '.join(DATA_DEFAULTS)})") for k, v in doc.items()}
    plan = {k: _checked(f"{where} [data]", k, v, DATA_DEFAULTS) for k, v in data.items()}
    try:
        plan = DataPlan(**plan)
    except ValueError as e:
        raise RecipeError(f"{where} [data]: {e}") from None
    return Recipe(name=name, settings=settings, data=plan, path=path)


def _checked(where: str, key: str, value: Any, defaults: dict, also: str = "") -> Any:
    """``value`` converted to the type of ``defaults[key]`` (lists -> tuples); RecipeError naming key and fix."""
    if key not in defaults:
        valid = ", ".join(k for k in defaults)
        raise RecipeError(f"{where}: unknown key {key!r}; valid keys: {valid}{also}")
    default = defaults[key]
    kind = _kind(default, key)
    ok = {
        "bool": isinstance(value, bool),
        "int": isinstance(value, int) and not isinstance(value, bool),
        "float": isinstance(value, (int, float)) and not isinstance(value, bool),
        "str": isinstance(value, str),
        "list": isinstance(value, list) and all(isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in value),
        "table": isinstance(value, dict),
    }[kind]
    if not ok:
        raise RecipeError(f"{where}: {key} = {_toml_value(value)} should be a {kind} (default: {_toml_value(default)})")
    if kind == "float":
        return float(value)
    if kind == "list":
        return tuple(value)
    return value


def _kind(default: Any, key: str) -> str:
    if key == "synth_size":  # None by default: [width, height]
        return "list"
    for kind, t in (("bool", bool), ("int", int), ("float", float), ("str", str), ("list", tuple), ("table", dict)):
        if isinstance(default, t):
            return kind
    raise TypeError(f"no recipe type for {key}={default!r}")


def _toml_value(v: Any) -> str:
    """One TOML value (scalars, flat lists and tables of scalars)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)  # a TOML basic string
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{json.dumps(str(k))} = {_toml_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(f"cannot write {v!r} as TOML")


def resolved_recipe(recipe: Recipe, cfg: TrainConfig, plan: DataPlan) -> Recipe:
    """A recipe that reproduces ``cfg`` and ``plan`` exactly: its ablation and every field that differs from that
    ablation row's defaults (written to a run folder as recipe.toml)."""
    row = TrainConfig.for_ablation(cfg.ablation).to_dict()
    final = cfg.to_dict()
    settings = {"ablation": cfg.ablation}
    settings.update({k: tuple(v) if isinstance(v, list) else v for k, v in final.items() if k != "ablation" and v != row[k]})
    return Recipe(name=recipe.name, settings=settings, data=plan, path=None)
