"""An ensemble of STMap networks read as one: the mean of the members' z-scored waves.

Networks of one recipe trained with different seeds disagree mostly where one of them locks onto a wrong periodic
component; averaging their unit-variance outputs keeps the pulse they share and dilutes what only one of them
follows. Each member sees the same normalised clip; members may differ in width.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from pseudopulse.model.normalize import zscore


class EnsembleNet(nn.Module):
    """``forward(x (B, 3, R, T)) -> (B, T)``: mean over members of ``zscore(member(x))``."""

    def __init__(self, members: Sequence[nn.Module]):
        super().__init__()
        if len(members) < 2:
            raise ValueError(f"an ensemble needs at least 2 networks; got {len(members)}")
        fs = {float(m.fs) for m in members}
        if len(fs) != 1:
            raise ValueError(f"ensemble members run at different rates {sorted(fs)} Hz")
        self.members = nn.ModuleList(members)
        self.fs = fs.pop()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stack([zscore(m(x)) for m in self.members]).mean(dim=0)

    def config(self) -> dict:
        return {"members": [m.config() for m in self.members]}
