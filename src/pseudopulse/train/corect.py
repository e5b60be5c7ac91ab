"""Co-rectification (Li & Yin 2023, Alg. 1): replace the least trustworthy pseudo labels by the peer's output.

Per batch: ε_k = |h_pseudo,k − h_net,k| (bpm, PSD-argmax heart rates); the λ instances with the largest ε get
their pseudo-label wave replaced by the peer network's (detached) predicted wave.
"""

from __future__ import annotations

import torch


def select_rectified(eps: torch.Tensor, lam: int) -> torch.Tensor:
    """Indices (sorted ascending) of the ``lam`` largest deviations in ``eps`` (B,). Ties go to the lower index."""
    lam = max(0, min(int(lam), int(eps.shape[0])))
    if lam == 0:
        return torch.zeros(0, dtype=torch.long)
    order = torch.sort(-eps.detach().double(), stable=True).indices
    return torch.sort(order[:lam]).values


def rectify(pseudo: torch.Tensor, peer_wave: torch.Tensor, eps: torch.Tensor, lam: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Targets (B, T) with the ``lam`` largest-ε rows of ``pseudo`` replaced by ``peer_wave`` (no gradient).

    Returns (targets, rectified indices).
    """
    if pseudo.shape != peer_wave.shape or eps.shape != pseudo.shape[:1]:
        raise ValueError(f"shapes disagree: pseudo {tuple(pseudo.shape)}, peer {tuple(peer_wave.shape)}, eps {tuple(eps.shape)}")
    idx = select_rectified(eps, lam)
    return replace_rows(pseudo, peer_wave, idx), idx


def replace_rows(pseudo: torch.Tensor, peer_wave: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """Targets (B, T): ``pseudo`` with rows ``idx`` replaced by ``peer_wave``'s (no gradient)."""
    targets = pseudo.detach().clone()
    if len(idx):
        targets[idx] = peer_wave.detach()[idx].to(targets.dtype)
    return targets
