"""STMap encoder–decoder: (B, 3, R, T) normalised STMap clip -> (B, T) pulse wave.

Adapted from the Dual-GAN BVP generator (docs/design.md, "Network"): plain 2-D convolutions
that downsample over ROIs and time, ROI axis collapsed by averaging, transposed convolutions along time
restoring T. A short dilated temporal stack at the bottleneck widens the receptive field to ~3 s so the
decoder sees several beats. Any T is accepted: the input is padded to a multiple of 4 and cropped back.

Layer table (default channels (16, 32, 64, 128), 0.30 M parameters), R=25, T=300:
  (input filter, optional and fixed: slow drift removed from the colour traces, ``input_filter``; off by default)
  stem   conv 3x3 s(1,1)  3 -> 16     (B, 16, 25, 300)
  enc1   conv 3x3 s(2,2) 16 -> 32     (B, 32, 13, 150)
  enc2   conv 3x3 s(2,2) 32 -> 64     (B, 64,  7,  75)
  enc3   conv 3x3 s(2,1) 64 -> 128    (B, 128, 4,  75)
  pool   mean over ROIs               (B, 128, 1,  75)
  tmp    2 x [conv (1,5) dilation 2, residual]  (B, 128, 1, 75)
  dec1   convT (1,4) s(1,2) 128 -> 64 (B, 64, 1, 150)
  dec2   convT (1,4) s(1,2) 64 -> 32  (B, 32, 1, 300)
  head   conv 1x1 32 -> 1             (B, 300)
  band   FFT band-limit to ``band_bpm`` at ``fs`` (fixed, no weights; off with band_bpm=None)
Every conv is followed by BatchNorm + ReLU (except the head). The fixed output band-limit (an ideal FFT mask,
40–250 bpm by default, the PSD band of the losses) removes trend and high-frequency content the pulse cannot
hold, so the weights only have to learn the pulse projection (as the in-graph band-pass of public STMap models).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

DEFAULT_CHANNELS = (16, 32, 64, 128)  # ~0.30 M parameters
INPUT_FILTERS = ("none", "poly3", "highpass", "band")  # fixed drift removal on the input (``STMapNet._filter_input``)
HIGHPASS_CORNER_BPM = 35.0


def _conv(c_in: int, c_out: int, stride: tuple[int, int]) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, kernel_size=3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


def _up(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.ConvTranspose2d(c_in, c_out, kernel_size=(1, 4), stride=(1, 2), padding=(0, 1), bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


class _TemporalBlock(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.conv = nn.Conv2d(c, c, kernel_size=(1, 5), padding=(0, 4), dilation=(1, 2), bias=False)
        self.bn = nn.BatchNorm2d(c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(x + self.bn(self.conv(x)))


class STMapNet(nn.Module):
    """Encoder–decoder on STMaps. ``forward(x (B, 3, R, T)) -> (B, T)``."""

    time_stride = 4

    def __init__(
        self,
        channels: tuple[int, int, int, int] = DEFAULT_CHANNELS,
        in_channels: int = 3,
        *,
        fs: float = 30.0,
        band_bpm: tuple[float, float] | None = (40.0, 250.0),
        input_filter: str = "none",
    ):
        super().__init__()
        if input_filter not in INPUT_FILTERS:
            raise ValueError(f"input_filter={input_filter!r} ({' | '.join(INPUT_FILTERS)})")
        self.fs = float(fs)
        self.input_filter = input_filter
        self.band_bpm = None if band_bpm is None else (float(band_bpm[0]), float(band_bpm[1]))
        c1, c2, c3, c4 = (int(c) for c in channels)
        self.channels = (c1, c2, c3, c4)
        self.in_channels = int(in_channels)
        self.encoder = nn.Sequential(
            _conv(in_channels, c1, (1, 1)),
            _conv(c1, c2, (2, 2)),
            _conv(c2, c3, (2, 2)),
            _conv(c3, c4, (2, 1)),
        )
        self.temporal = nn.Sequential(_TemporalBlock(c4), _TemporalBlock(c4))
        self.decoder = nn.Sequential(_up(c4, c3), _up(c3, c2))
        self.head = nn.Conv2d(c2, 1, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"STMapNet expects (B, {self.in_channels}, R, T); got {tuple(x.shape)}")
        t = x.shape[-1]
        if self.input_filter != "none":
            x = self._filter_input(x)
        pad = (-t) % self.time_stride
        if pad:
            x = F.pad(x, (0, pad, 0, 0), mode="replicate")
        h = self.encoder(x)
        h = h.mean(dim=2, keepdim=True)  # collapse the ROI axis
        h = self.temporal(h)
        h = self.decoder(h)
        y = self.head(h)[:, 0, 0, :t]
        return self._band_limit(y)

    def _band_limit(self, y: torch.Tensor) -> torch.Tensor:
        if self.band_bpm is None:
            return y
        n = y.shape[-1]
        f_bpm = torch.fft.rfftfreq(n, d=1.0 / self.fs, device=y.device) * 60.0
        mask = ((f_bpm >= self.band_bpm[0]) & (f_bpm <= self.band_bpm[1])).to(y.dtype)
        return torch.fft.irfft(torch.fft.rfft(y, dim=-1) * mask, n=n, dim=-1)

    def _filter_input(self, x: torch.Tensor) -> torch.Tensor:
        """The input's colour traces (B, C, R, T) with slow light and exposure drift removed, rescaled per ROI.

        "poly3": a least-squares cubic over the window is subtracted (removes drift slower than ~0.15 Hz; nothing
        else changes, so a motion step stays a step). "highpass": the cubic, then a smooth zero-phase high-pass
        (4th-order Butterworth magnitude, corner 35 bpm: 0.94 of the amplitude at 45 bpm, 0.11 at 20 bpm; short
        ringing). "band": a line is removed, then the FFT is limited to ``band_bpm`` like the output (an ideal mask:
        it rings at the window's ends). FFTs are zero-padded to 2T. The drift no longer sets the per-ROI scale."""
        t = x.shape[-1]
        u = torch.linspace(-1.0, 1.0, t, device=x.device, dtype=torch.float64)
        degree = 1 if self.input_filter == "band" else 3
        q, _ = torch.linalg.qr(torch.stack([u**k for k in range(degree + 1)], dim=-1))  # (T, degree + 1), orthonormal
        q = q.to(x.dtype)
        x = x - (x @ q) @ q.T
        f_bpm = torch.fft.rfftfreq(2 * t, d=1.0 / self.fs, device=x.device) * 60.0
        mask = None
        if self.input_filter == "band" and self.band_bpm is not None:
            mask = ((f_bpm >= self.band_bpm[0]) & (f_bpm <= self.band_bpm[1])).to(x.dtype)
        elif self.input_filter == "highpass":
            mask = (1.0 / torch.sqrt(1.0 + (HIGHPASS_CORNER_BPM / f_bpm.clamp_min(1e-3)) ** 8)).to(x.dtype)
        if mask is not None:
            x = torch.fft.irfft(torch.fft.rfft(x, n=2 * t, dim=-1) * mask, n=2 * t, dim=-1)[..., :t]
        return x / (x.pow(2).mean(dim=(1, 3), keepdim=True).sqrt() + 1e-6)

    def config(self) -> dict:
        return {"channels": list(self.channels), "in_channels": self.in_channels, "fs": self.fs,
                "band_bpm": None if self.band_bpm is None else list(self.band_bpm), "input_filter": self.input_filter}  # fmt: skip


def build_net(config: dict | None = None) -> nn.Module:
    """The network a model file's ``net`` config declares: an ``STMapNet``, or an ``EnsembleNet`` of them."""
    config = config or {}
    if "members" in config:
        from pseudopulse.model.ensemble import EnsembleNet

        return EnsembleNet([build_net(c) for c in config["members"]])
    band = config.get("band_bpm", (40.0, 250.0))
    return STMapNet(
        channels=tuple(config.get("channels", DEFAULT_CHANNELS)),
        in_channels=int(config.get("in_channels", 3)),
        fs=float(config.get("fs", 30.0)),
        band_bpm=None if band is None else tuple(band),
        # "input_band": True is how files of one development commit (f92ba72) declared the band filter
        input_filter=str(config.get("input_filter", "band" if config.get("input_band") else "none")),
    )


def count_parameters(net: nn.Module) -> int:
    return int(sum(p.numel() for p in net.parameters()))
