"""Training configuration: one dataclass, every loss term and co-rectification a switch.

``TrainConfig.for_ablation(name)`` gives the rows of the paper's Table 3 plus the baselines:

  name         SSL (L_p, L_n)  L_pseudo weight   L_rank  co-rect   what it is
  plain-ssl    yes             —                 no      no        Contrast-Phys-like plain self-supervision
  pseudo       yes             1 (constant)      no      no        + pseudo labels
  gradual      yes             1 − E/Emax        no      no        + gradual guidance
  ranking      yes             1 − E/Emax        yes     no        + spectral ranking
  corect       yes             1 (constant)      yes     yes       co-rectification with constant weight
  full         yes             1 − E/Emax        yes     yes       the paper's full method
  pseudo-only  no              1 (constant)      no      no        baseline: fit the 2SR labels only
  supervised   no              GT wave, 1        no      no        upper bound: fit ground-truth PPG

The field defaults below are the one place for training defaults: the command line, recipes
(``pseudopulse.train.recipe``) and ``adapt`` only change the fields they name.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

ABLATIONS: dict[str, dict] = {
    "plain-ssl": dict(use_ssl=True, use_pseudo=False, pseudo_schedule="const", use_rank=False, use_corect=False),
    "pseudo": dict(use_ssl=True, use_pseudo=True, pseudo_schedule="const", use_rank=False, use_corect=False),
    "gradual": dict(use_ssl=True, use_pseudo=True, pseudo_schedule="gradual", use_rank=False, use_corect=False),
    "ranking": dict(use_ssl=True, use_pseudo=True, pseudo_schedule="gradual", use_rank=True, use_corect=False),
    "corect": dict(use_ssl=True, use_pseudo=True, pseudo_schedule="const", use_rank=True, use_corect=True),
    "full": dict(use_ssl=True, use_pseudo=True, pseudo_schedule="gradual", use_rank=True, use_corect=True),
    "pseudo-only": dict(use_ssl=False, use_pseudo=True, pseudo_schedule="const", use_rank=False, use_corect=False),
    "supervised": dict(use_ssl=False, use_pseudo=True, pseudo_schedule="const", use_rank=False, use_corect=False),
}

PSEUDO_FILTERS = ("readout", "flat", "pos-track")  # train.data.pseudo_label
RECIPE_FIELDS = ("lr_schedule", "pseudo_filter", "flicker_prob", "rank_in_band", "rank_margin_bpm", "rank_readout_weight",
                 "pseudo_consensus", "consensus_tol_bpm", "harmonic_guard", "harmonic_guard_below_bpm", "harmonic_guard_margin",
                 "harmonic_guard_ratios")


@dataclass
class TrainConfig:
    # optimisation (paper: AdamW 5e-5, batch 16, 80 epochs)
    epochs: int = 80
    batch_size: int = 16
    lr: float = 5e-5
    lr_schedule: str = "const"  # "const" (the paper) or "cosine": lr·½(1 + cos(π·E/Emax)) per epoch
    weight_decay: float = 0.01
    seed: int = 0
    threads: int = 2
    # data
    fs: float = 30.0  # every STMap is resampled to this rate (Hz)
    clip_s: float = 10.0  # training clip length t (s)
    # objective switches (set by ``for_ablation``)
    ablation: str = "full"  # a key of ABLATIONS; "supervised" is the one row that reads ground truth
    use_ssl: bool = True
    use_pseudo: bool = True
    pseudo_schedule: str = "gradual"  # "gradual": weight 1 − E/Emax; "const": 1
    use_rank: bool = True
    use_corect: bool = True
    # loss details
    rank_alpha: float = 0.01
    lambda_max: int = 8  # co-rectified instances per batch at E = Emax
    corect_select: str = "peer"  # whose HR deviation from the pseudo label ranks instances: "peer" or "self"
    shift_max_frac: float = 0.5  # positives: shift |f| <= frac·t (overlap >= (1 − frac)·t)
    reverse_prob: float = 0.5  # positives: probability that the shifted view is also time-reversed
    down_ratios: tuple[float, ...] = (0.6, 0.7, 0.8, 0.9)  # x_down: t output frames from t/r source frames
    up_ratios: tuple[float, ...] = (1.1, 1.2, 1.3)  # x_up: t output frames from t/r source frames
    band_bpm: tuple[float, float] = (40.0, 250.0)  # PSD band
    psd_pad_factor: int = 4  # nfft = factor·t (bin 1.5 bpm for 10 s at 30 Hz)
    gumbel_sharpness: float = 100.0  # logits = sharpness·log(PSD): forward one-hot = argmax w.h.p.
    gumbel_tau: float = 10.0  # soft (gradient) sample ∝ PSD^(sharpness/tau)
    pseudo_filter: str = "readout"  # pseudo label: 2SR "readout" (0.7–3.5 Hz), "flat" (0.4–4 Hz), or "pos-track"
    rank_in_band: bool = False  # rank only views whose expected HR (h·speed) stays inside band_bpm
    rank_margin_bpm: float = 3.0
    rank_readout_weight: bool = False  # rank the h the read-out will report: PSDs weighted by clean_wave's power gain
    pseudo_consensus: tuple[str, ...] = ()  # rgb methods that must read the pseudo label's HR (± tol) for L_pseudo to count
    consensus_tol_bpm: float = 6.0
    # harmonic guard (not in the paper): weight of losses.harmonic_guard on clips whose pseudo label is slow; 0 = off
    harmonic_guard: float = 0.0
    harmonic_guard_below_bpm: float = 65.0  # guard only clips whose pseudo-label HR is below this (bpm)
    harmonic_guard_margin: float = 2.0  # the read-out-weighted fundamental must hold this × the harmonic's power
    harmonic_guard_ratios: tuple[float, ...] = (2.0, 3.0)  # multiples of the label's rate that must not rival it
    # augmentation: colour-neutral brightness flicker on a fraction of the raw windows (0 = off)
    flicker_prob: float = 0.0
    flicker_hz: tuple[float, float] = (0.5, 3.5)
    flicker_amp: tuple[float, float] = (0.002, 0.03)  # fraction of the DC level
    # network
    channels: tuple[int, int, int, int] = (16, 32, 64, 128)
    band_limit: bool = True  # fixed FFT band-limit of the network output to band_bpm
    input_filter: str = "none"  # fixed drift removal on the input colour traces: none | poly3 | highpass | band (model/net.py)
    extra: dict = field(default_factory=dict)

    @classmethod
    def for_ablation(cls, name: str, **overrides) -> "TrainConfig":
        """Config of one Table-3 row or baseline (see the module docstring); ``overrides`` win."""
        key = name.strip().lower()
        if key not in ABLATIONS:
            raise ValueError(f"unknown ablation {name!r}; valid: {', '.join(ABLATIONS)}")
        return cls(**{**ABLATIONS[key], "ablation": key, **overrides})

    @classmethod
    def defaults(cls) -> dict:
        """Every field's default, without building (or validating) a config."""
        return {f.name: f.default if f.default is not dataclasses.MISSING else f.default_factory() for f in dataclasses.fields(cls)}

    def __post_init__(self):
        self.channels = tuple(int(c) for c in self.channels)
        self.down_ratios = tuple(float(r) for r in self.down_ratios)
        self.up_ratios = tuple(float(r) for r in self.up_ratios)
        self.band_bpm = tuple(float(b) for b in self.band_bpm)
        self.flicker_hz = tuple(float(b) for b in self.flicker_hz)
        self.pseudo_consensus = tuple(str(m).strip().lower() for m in self.pseudo_consensus)
        self.flicker_amp = tuple(float(b) for b in self.flicker_amp)
        self.harmonic_guard_ratios = tuple(float(k) for k in self.harmonic_guard_ratios)
        problems = []
        if self.ablation not in ABLATIONS:
            problems.append(f"ablation={self.ablation!r} ({' | '.join(ABLATIONS)})")
        if self.epochs < 1:
            problems.append(f"epochs={self.epochs} (need >= 1)")
        if self.batch_size < 2:
            problems.append(f"batch_size={self.batch_size} (need >= 2)")
        if not self.lr > 0:
            problems.append(f"lr={self.lr} (need > 0)")
        if self.fs <= 0 or self.clip_s <= 0:
            problems.append(f"fs={self.fs} Hz, clip_s={self.clip_s} s (need > 0)")
        if any(not 0 < r < 1 for r in self.down_ratios) or any(r <= 1 for r in self.up_ratios):
            problems.append(f"down_ratios {self.down_ratios} must lie in (0, 1) and up_ratios {self.up_ratios} above 1")
        if self.pseudo_filter not in PSEUDO_FILTERS:
            problems.append(f"pseudo_filter={self.pseudo_filter!r} ({', '.join(PSEUDO_FILTERS)})")
        if self.lr_schedule not in ("const", "cosine"):
            problems.append(f"lr_schedule={self.lr_schedule!r} (const or cosine)")
        if self.pseudo_schedule not in ("gradual", "const"):
            problems.append(f"pseudo_schedule={self.pseudo_schedule!r} (gradual or const)")
        if self.corect_select not in ("peer", "self"):
            problems.append(f"corect_select={self.corect_select!r} (peer or self)")
        if not 0 <= self.shift_max_frac < 1:
            problems.append(f"shift_max_frac={self.shift_max_frac} (need 0 <= frac < 1)")
        if self.lambda_max < 0:
            problems.append(f"lambda_max={self.lambda_max} (need >= 0; it is capped at the batch size)")
        if not 0 <= self.flicker_prob <= 1:
            problems.append(f"flicker_prob={self.flicker_prob} (need 0 <= p <= 1)")
        if not (0 < self.flicker_hz[0] <= self.flicker_hz[1] < self.fs / 2 and 0 <= self.flicker_amp[0] <= self.flicker_amp[1] < 1):
            problems.append(f"flicker_hz={self.flicker_hz} must lie in (0, fs/2) and flicker_amp={self.flicker_amp} in [0, 1)")
        from pseudopulse.methods import METHODS

        bad = [m for m in self.pseudo_consensus if m not in METHODS or METHODS[m].input != "rgb"]
        if bad:
            rgb = ", ".join(k for k, m in METHODS.items() if m.input == "rgb")
            problems.append(f"pseudo_consensus {bad} (rgb methods only: {rgb})")
        if self.consensus_tol_bpm <= 0:
            problems.append(f"consensus_tol_bpm={self.consensus_tol_bpm} (need > 0)")
        if self.harmonic_guard < 0 or self.harmonic_guard_margin < 1:
            problems.append(f"harmonic_guard={self.harmonic_guard} (need >= 0), harmonic_guard_margin={self.harmonic_guard_margin} (need >= 1)")
        if not self.harmonic_guard_ratios or any(k <= 0 or abs(k - 1) < 0.2 for k in self.harmonic_guard_ratios):
            problems.append(f"harmonic_guard_ratios={self.harmonic_guard_ratios} (need multiples > 0, none within 0.2 of 1)")
        if self.harmonic_guard > 0 and not self.use_pseudo:
            problems.append("harmonic_guard needs pseudo labels (it guards the label's rate)")
        from pseudopulse.model.net import INPUT_FILTERS

        if self.input_filter not in INPUT_FILTERS:
            problems.append(f"input_filter={self.input_filter!r} ({' | '.join(INPUT_FILTERS)})")
        if not (self.use_ssl or self.use_pseudo):
            problems.append("no loss term is switched on")
        if problems:
            raise ValueError("invalid training config: " + "; ".join(problems))

    # ------------------------------------------------------------------ derived sizes
    @property
    def supervised(self) -> bool:
        """Whether training fits ground-truth PPG (the ``supervised`` row): the one place that decides it.
        Data preparation reads ground truth only then."""
        return self.ablation == "supervised"

    @property
    def filters_pseudo(self) -> bool:
        """Whether L_pseudo uses only the clips whose 2SR label the ``pseudo_consensus`` methods confirm."""
        return bool(self.pseudo_consensus) and not self.supervised

    @property
    def clip_frames(self) -> int:
        return int(round(self.clip_s * self.fs))

    @property
    def shift_max(self) -> int:
        return int(self.shift_max_frac * self.clip_frames)

    @property
    def speed_max(self) -> float:
        return max(1.0 / r for r in self.down_ratios)

    @property
    def nfft(self) -> int:
        return int(self.psd_pad_factor) * self.clip_frames

    @property
    def n_nets(self) -> int:
        return 2 if self.use_corect else 1

    def lr_at(self, epoch: int) -> float:
        """Learning rate of 0-based ``epoch``."""
        if self.lr_schedule == "cosine":
            return self.lr * 0.5 * (1.0 + math.cos(math.pi * epoch / self.epochs))
        return self.lr

    def pseudo_weight(self, epoch: int) -> float:
        """Weight of L_pseudo at 0-based ``epoch``: 1 − E/Emax (gradual) or 1 (const)."""
        return 1.0 - epoch / self.epochs if self.pseudo_schedule == "gradual" else 1.0

    def n_rectified(self, epoch: int) -> int:
        """λ = floor(E/Emax · λmax) instances per batch (0 without co-rectification)."""
        return int(epoch * self.lambda_max // self.epochs) if self.use_corect else 0

    def recipe(self) -> dict:
        """The objective's settings beyond the ablation row (stored in exported models; ``adapt`` reuses them)."""
        return {k: getattr(self, k) for k in RECIPE_FIELDS}

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        for k, v in d.items():
            if isinstance(v, tuple):
                d[k] = list(v)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        """Inverse of ``to_dict``; keys that are not fields (e.g. ``supervised`` in configs of older versions) are dropped."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in d.items() if k in names})
