"""Loss terms of the label-free objective (Li & Yin 2023, Eq. 1–4), on waves (B, T) sampled at ``fs`` Hz.

Every function returns a per-instance tensor (B,) so the trainer can weight, select and log instances.
The PSD follows Contrast-Phys/Gideon (docs/design.md, "PSD and distance"): mean removed, ``rfft(norm="forward")``, |X|²,
restricted to 40–250 bpm, normalised to sum 1. ``nfft`` zero-pads for finer bins (1.5 bpm at nfft = 4·300, 30 Hz).
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from pseudopulse.model.normalize import zscore

BAND_BPM = (40.0, 250.0)


def psd_grid(*, fs: float, nfft: int, band_bpm: tuple[float, float] = BAND_BPM) -> tuple[torch.Tensor, torch.Tensor]:
    """Bins of an ``nfft``-point rfft at ``fs`` Hz inside ``band_bpm``: (mask (nfft//2+1,) bool, freqs_bpm (K,))."""
    freqs_bpm = torch.arange(nfft // 2 + 1, dtype=torch.float32) * (60.0 * fs / nfft)
    mask = (freqs_bpm >= band_bpm[0]) & (freqs_bpm <= band_bpm[1])
    if not bool(mask.any()):
        raise ValueError(f"no rfft bin inside {band_bpm} bpm for fs={fs} Hz, nfft={nfft}")
    return mask, freqs_bpm[mask]


def norm_psd(
    y: torch.Tensor, *, fs: float, nfft: int | None = None, band_bpm: tuple[float, float] = BAND_BPM
) -> tuple[torch.Tensor, torch.Tensor]:
    """Normalised power spectrum of waves ``y`` (B, L): returns (psd (B, K) summing to 1, freqs_bpm (K,)).

    ``nfft`` >= L zero-pads (use the same nfft for every PSD that is compared, so they share one bin grid).
    Computed in float32.
    """
    y = y.float()
    n = int(nfft or y.shape[-1])
    if n < y.shape[-1]:
        raise ValueError(f"nfft={n} is shorter than the wave ({y.shape[-1]} samples)")
    y = y - y.mean(dim=-1, keepdim=True)
    spec = torch.fft.rfft(y, n=n, dim=-1, norm="forward")
    power = spec.real**2 + spec.imag**2
    mask, freqs = psd_grid(fs=fs, nfft=n, band_bpm=band_bpm)
    power = power[..., mask]
    return power / (power.sum(dim=-1, keepdim=True) + 1e-12), freqs


def psd_distance(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """MSE between normalised PSDs (B, K) -> (B,) (mean over bins, as Contrast-Phys; bounded by 2/K).

    The sum over bins (K·MSE, O(1)) was tried and rejected: on small real sets it lets the self-supervised
    terms overrule the pseudo labels once the gradual weight decays (docs/design.md, "PSD and distance").
    """
    return ((p - q) ** 2).mean(dim=-1)


def pseudo_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """L_pseudo per instance: MSE between the z-scored predicted wave and the z-scored target, (B, T) -> (B,)."""
    return ((zscore(pred) - zscore(target.detach())) ** 2).mean(dim=-1)


def overlap(y_anchor: torch.Tensor, y_shifted: torch.Tensor, shift: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Common span of an anchor prediction and the prediction of the window shifted by ``shift`` frames.

    The shifted window starts ``shift`` frames after the anchor (negative: before), so
    ``y_shifted[i]`` is the same instant as ``y_anchor[i + shift]``. Both returned tensors are (B, T - |shift|).
    """
    t = y_anchor.shape[-1]
    f = int(shift)
    if abs(f) >= t:
        raise ValueError(f"shift {f} leaves no overlap in a {t}-frame window")
    if f >= 0:
        return y_anchor[..., f:], y_shifted[..., : t - f]
    return y_anchor[..., : t + f], y_shifted[..., -f:]


def gumbel_hr(
    psd: torch.Tensor, freqs_bpm: torch.Tensor, *, sharpness: float = 100.0, tau: float = 10.0,
    rows: np.ndarray | None = None, n_rows: int | None = None,
) -> torch.Tensor:
    """Differentiable heart rate (bpm) of each PSD row (B, K) -> (B,), Gumbel-softmax hard argmax.

    logits = sharpness · log(psd). The forward one-hot is argmax(logits + Gumbel noise), i.e. bin k is drawn
    with probability ∝ psd_k^sharpness: with 100, a bin holding 95 % of the peak power is picked < 1 % of the
    time, so h is the PSD argmax w.h.p. (docs/design.md, "Spectral ranking"). ``tau`` only shapes the straight-through
    gradient: the soft sample softmax((logits + g)/tau) ∝ psd^(sharpness/tau) = psd^10 is smooth enough to
    carry a gradient to neighbouring bins. ``hard=True`` gives the exact one-hot forward.

    ``rows`` of ``n_rows`` (data-parallel: this rank's rows of the global batch): the noise is drawn for all
    ``n_rows`` rows, as ``F.gumbel_softmax`` draws it in one process, and ``rows`` of it are used.
    """
    logits = sharpness * torch.log(psd.float() + 1e-10)
    if rows is None:
        onehot = F.gumbel_softmax(logits, tau=tau, hard=True, dim=-1)
    else:  # F.gumbel_softmax's arithmetic on this rank's rows of the global batch's noise
        gumbels = -torch.empty((n_rows, logits.shape[-1]), dtype=logits.dtype).exponential_().log()
        soft = ((logits + gumbels[torch.from_numpy(rows)]) / tau).softmax(dim=-1)
        hard = torch.zeros_like(logits).scatter_(-1, soft.argmax(dim=-1, keepdim=True), 1.0)
        onehot = hard - soft.detach() + soft
    return (onehot * freqs_bpm.to(onehot)).sum(dim=-1)


def argmax_hr(psd: torch.Tensor, freqs_bpm: torch.Tensor) -> torch.Tensor:
    """Heart rate (bpm) at the highest bin of each PSD row (B, K) -> (B,) (no gradient)."""
    return freqs_bpm.to(psd.device)[psd.detach().argmax(dim=-1)]


def rank_loss(
    h: torch.Tensor, h_up: torch.Tensor, h_down: torch.Tensor, up_on: torch.Tensor | None = None, down_on: torch.Tensor | None = None
) -> torch.Tensor:
    """L_rank = max(h_up − h, 0) + max(h − h_down, 0) per instance (bpm): 0 iff h_up <= h <= h_down.

    ``h_up``: HR of the up-sampled (slowed, lower-HR) clip; ``h_down``: HR of the down-sampled (sped-up) clip.
    ``up_on`` / ``down_on`` (bool (B,), optional) switch a term off per instance (see ``views_in_band``).
    """
    up, down = F.relu(h_up - h), F.relu(h - h_down)
    if up_on is not None:
        up = up * up_on.to(up)
    if down_on is not None:
        down = down * down_on.to(down)
    return up + down


def band_power(psd: torch.Tensor, freqs_bpm: torch.Tensor, centre_bpm: torch.Tensor, width_bpm: float) -> torch.Tensor:
    """Power of each PSD row (B, K) within ``width_bpm`` of its own ``centre_bpm`` (B,) -> (B,); 0 outside the band."""
    near = (freqs_bpm.to(psd)[None, :] - centre_bpm.to(psd)[:, None]).abs() <= width_bpm
    return (psd * near).sum(dim=-1)


def harmonic_guard(
    psd: torch.Tensor,
    freqs_bpm: torch.Tensor,
    h_label: torch.Tensor,
    *,
    margin: float = 2.0,
    width_bpm: float = 3.0,
    harmonics: tuple[float, ...] = (2.0, 3.0),
) -> torch.Tensor:
    """Penalty (B,) on a wave whose power at a multiple k·h_label rivals its power at the label's rate h_label (bpm).

    L = max(log(max_k P(k·h)) − log P(h) + log(margin), 0), each P summed over ±``width_bpm``: 0 when the
    fundamental holds ``margin`` times the strongest multiple's power, growing with the log ratio otherwise.
    ``harmonics`` may hold sub-multiples (0.5: half the rate). Use it on read-out-weighted PSDs, so the ratio is the
    one the read-out's peak pick sees.
    """
    fund = band_power(psd, freqs_bpm, h_label, width_bpm)
    harm = torch.stack([band_power(psd, freqs_bpm, k * h_label, width_bpm) for k in harmonics]).amax(dim=0)
    return F.relu(torch.log(harm + 1e-8) - torch.log(fund + 1e-8) + math.log(margin))


def views_in_band(
    h: torch.Tensor, speed_up: float, speed_down: float, band_bpm: tuple[float, float], margin_bpm: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Whether the resampled views' expected HRs (h·speed, from the anchor's own h, bpm) stay ``margin_bpm`` inside
    the PSD band: (up_on, down_on) bool (B,). A view whose pulse leaves the band has no in-band fundamental, its
    PSD peak is a harmonic, and ranking against it would reward the anchor for moving to its own harmonic."""
    h = h.detach()
    return h * speed_up >= band_bpm[0] + margin_bpm, h * speed_down <= band_bpm[1] - margin_bpm
