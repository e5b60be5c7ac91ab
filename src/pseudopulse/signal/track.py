"""Heart-rate track over sliding windows, with label-free per-window quality features and an optional Viterbi path.

Contract: a pulse wave ``(T,)`` sampled at ``fs`` Hz (5–240 Hz), time on axis 0. The wave is cleaned once with the
package read-out (``postprocess.clean_wave``: smoothness-prior detrend + zero-phase band-pass, the same routine
``estimate_hr`` applies to predictions and ground truth), cut into ``window_s`` windows ``hop_s`` apart, and each
window's Hann-weighted power spectrum is evaluated directly on a fixed frequency grid (``resolution_bpm`` apart,
independent of ``fs``) by a zoom DFT. A wave shorter than one window gives one window (the whole wave).

Tracking (``tracked=True``) is the speech pitch-tracking recipe (a Viterbi path through the window spectra): the
emission score of rate bin ``k`` in window ``i`` is ``log(P_i(k) + floor)`` and the transition from rate ``a`` to
``b`` over one hop costs ``|b − a| / (max_rate_bpm_per_s · hop_s)`` nats (Laplace prior on the rate change), mixed
with a flat "jump" transition that costs ``jump_cost_nats`` once. The jump is the fallback for genuine fast changes
(exercise, startle): a rate that moves and then STAYS pays the jump once and the path follows it, while an isolated
excursion (one window won by half/double the rate or by a motion peak) must pay it twice and is smoothed away.
Windows where the path differs from the window's own spectral peak are flagged in ``HRTrack.overridden``.
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass

import numpy as np

from pseudopulse.errors import SignalError
from pseudopulse.signal.filters import DEFAULT_BAND_HZ, check_fs
from pseudopulse.signal.postprocess import clean_wave

MIN_FS_HZ = 5.0
MAX_FS_HZ = 240.0
NYQUIST_MARGIN = 0.9  # the band's upper edge is kept below 0.9 · fs/2
EMISSION_FLOOR = 1e-3  # added to the normalised PSD (sums to 1 over the band) before the log
DEFAULT_MAX_RATE_BPM_PER_S = 2.0  # Laplace scale of the rate change per second of hop
DEFAULT_JUMP_COST_NATS = 8.0
TRACK_BLOCK = 256  # windows whose spectra are computed at once (bounded memory on long waves)


@dataclass(frozen=True)
class HRTrack:
    """Heart rate over sliding windows of one wave.

    Arrays have one row per window (K windows) unless noted. Rates in bpm, times in s from the wave's start.
    Quality features (label-free, per window):
    ``peak_share`` fraction of band power within ±``tol_bpm`` of the window's read rate (0..1);
    ``snr_db`` de Haan SNR (power within ±tol of the rate and of twice the rate over the rest of the band; the
    harmonic counts only where it lies inside the computed grid);
    ``peak_ratio`` power of the read peak over the highest PSD value further than 2·tol from it (≥ 1 when the
    read rate is the top peak; < 1 only on a tracked path that overrode the peak);
    ``harmonic_ratio`` power within ±tol of twice the read rate over the power at the read rate (NaN where 2f
    is above the grid);
    ``subharmonic_ratio`` power within ±tol of half the read rate over the power at the read rate (NaN where f/2
    is below the grid; a large value says the true rate may be f/2);
    ``entropy`` normalised spectral entropy of the band PSD (0 = one line, 1 = flat noise);
    ``autocorr`` highest normalised autocorrelation of the cleaned window at lags of one beat period inside the
    band (open-rppg's SQI).
    """

    t_s: np.ndarray  # (K,) window centres, s
    hr_bpm: np.ndarray  # (K,) the read rate: the Viterbi path when tracked, else each window's PSD peak
    peak_bpm: np.ndarray  # (K,) each window's own PSD peak (untracked)
    spectra: np.ndarray  # (K, F) band PSD per window, each row sums to 1
    freqs_hz: np.ndarray  # (F,) grid of ``spectra`` (inside band_hz)
    peak_share: np.ndarray  # (K,)
    snr_db: np.ndarray  # (K,)
    peak_ratio: np.ndarray  # (K,)
    harmonic_ratio: np.ndarray  # (K,)
    subharmonic_ratio: np.ndarray  # (K,)
    entropy: np.ndarray  # (K,)
    autocorr: np.ndarray  # (K,)
    overridden: np.ndarray  # (K,) bool: the tracked rate differs from the window's own peak by > tol_bpm
    fs: float
    window_s: float  # effective window length (the wave's length when it is shorter than the window)
    hop_s: float
    band_hz: tuple[float, float]
    tol_bpm: float
    tracked: bool

    @property
    def n_windows(self) -> int:
        return int(len(self.t_s))

    @property
    def freqs_bpm(self) -> np.ndarray:
        return 60.0 * self.freqs_hz

    @property
    def median_hr_bpm(self) -> float:
        """Median of the read rates (bpm): the reading of the whole wave."""
        return float(np.median(self.hr_bpm))

    @property
    def spread_bpm(self) -> float:
        """Median absolute deviation of the read rates from their median (bpm): 0 for a steady track."""
        return float(np.median(np.abs(self.hr_bpm - np.median(self.hr_bpm))))

    def agreement(self, tol_bpm: float = 5.0) -> float:
        """Share of windows whose own PSD peak lies within ``tol_bpm`` of the median read rate (0..1)."""
        return float(np.mean(np.abs(self.peak_bpm - self.median_hr_bpm) <= tol_bpm))

    def mean_spectrum(self) -> np.ndarray:
        """(F,) mean of the window spectra (sums to 1)."""
        return self.spectra.mean(axis=0)


def effective_band(band_hz: tuple[float, float], fs: float) -> tuple[float, float]:
    lo, hi = float(band_hz[0]), float(band_hz[1])
    if not 0 < lo < hi:
        raise SignalError(f"band_hz must satisfy 0 < low < high (Hz); got {band_hz}")
    top = NYQUIST_MARGIN * fs / 2.0
    if lo >= top:
        raise SignalError(
            f"band_hz low edge {lo:g} Hz is above 0.9·fs/2 = {top:.2f} Hz at fs={fs:g} Hz; raise fs or lower the band"
        )
    if hi > top:
        warnings.warn(
            f"hr_track: band_hz upper edge {hi:g} Hz is above 0.9·fs/2 = {top:.2f} Hz at fs={fs:g} Hz; "
            f"using ({lo:g}, {top:.2f}) Hz instead",
            stacklevel=3,
        )
        hi = top
    return lo, hi


@functools.lru_cache(maxsize=8)
def _zoom_basis(n: int, fs: float, freqs_key: bytes) -> np.ndarray:
    """(n, F) Hann-weighted DFT basis at the frequencies ``freqs_key`` (float64 bytes, Hz); cached, since a stream
    and the confidence evidence read many windows of one length on one grid."""
    freqs_hz = np.frombuffer(freqs_key, dtype=np.float64)
    win = np.hanning(n + 2)[1:-1]
    t = np.arange(n) / fs
    basis = np.exp(-2j * np.pi * np.outer(t, freqs_hz)) * win[:, None]
    basis.setflags(write=False)
    return basis


def _zoom_psd(frames: np.ndarray, fs: float, freqs_hz: np.ndarray) -> np.ndarray:
    """Hann-weighted power of each row of ``frames`` (K, n) at ``freqs_hz`` (F,) -> (K, F) (arbitrary units)."""
    n = frames.shape[1]
    basis = _zoom_basis(n, float(fs), np.ascontiguousarray(freqs_hz, dtype=np.float64).tobytes())
    x = frames - frames.mean(axis=1, keepdims=True)
    out = np.empty((len(frames), len(freqs_hz)))
    for i in range(0, len(frames), TRACK_BLOCK):  # bounded memory for long waves at high fs
        out[i : i + TRACK_BLOCK] = np.abs(x[i : i + TRACK_BLOCK] @ basis) ** 2
    return out


def _band_power(power: np.ndarray, bpm: np.ndarray, centre_bpm: np.ndarray, tol_bpm: float) -> np.ndarray:
    """Sum of ``power`` (K, F) within ±tol of each row's ``centre_bpm`` (K,); NaN where the centre is off-grid."""
    mask = np.abs(bpm[None, :] - centre_bpm[:, None]) <= tol_bpm
    out = (power * mask).sum(axis=1)
    off = (centre_bpm < bpm[0] - tol_bpm / 2) | (centre_bpm > bpm[-1] + tol_bpm / 2)
    out[off] = np.nan
    return out


def _autocorr_sqi(frames: np.ndarray, fs: float, band_hz: tuple[float, float]) -> np.ndarray:
    """Highest normalised autocorrelation of each row at lags 1/band_hi .. 1/band_lo s (open-rppg SQI), (K,)."""
    x = frames - frames.mean(axis=1, keepdims=True)
    n = x.shape[1]
    lag_lo = max(1, int(np.floor(fs / band_hz[1])))
    lag_hi = min(n - 2, int(np.ceil(fs / band_hz[0])))
    if lag_hi < lag_lo:
        return np.full(len(x), np.nan)
    nfft = 1 << int(np.ceil(np.log2(2 * n)))
    spec = np.fft.rfft(x, nfft, axis=1)
    ac = np.fft.irfft(np.abs(spec) ** 2, nfft, axis=1)[:, : lag_hi + 1]
    ac0 = np.maximum(ac[:, :1], 1e-30)
    lags = np.arange(lag_lo, lag_hi + 1)
    unbiased = ac[:, lags] / ac0 * n / (n - lags)  # correct for the shrinking overlap
    return np.clip(unbiased.max(axis=1), -1.0, 1.0)


_WINDOW_FEATURES = ("peak_share", "snr_db", "peak_ratio", "harmonic_ratio", "subharmonic_ratio", "entropy")


def _window_features(pw: np.ndarray, spectra: np.ndarray, path: np.ndarray, grid_hz: np.ndarray, in_band: np.ndarray,
                     tol_bpm: float) -> dict[str, np.ndarray]:  # fmt: skip
    """The quality features of ``HRTrack`` (``_WINDOW_FEATURES``, each (B,)) of B windows read at the band bins
    ``path`` (B,): ``pw`` (B, G) power on the extended grid ``grid_hz`` (G,) over each window's in-band total,
    ``spectra`` (B, F) its in-band part (``in_band`` (G,) bool)."""
    bpm_grid = 60.0 * grid_hz
    bpm = bpm_grid[in_band]
    hr = bpm[path]
    p_f = _band_power(pw, bpm_grid, hr, tol_bpm)
    p_2f = _band_power(pw, bpm_grid, 2.0 * hr, tol_bpm)
    p_half = _band_power(pw, bpm_grid, 0.5 * hr, tol_bpm)
    peak_share = np.clip(_band_power(spectra, bpm, hr, tol_bpm), 0.0, 1.0)
    harm_in_band = (2.0 * hr <= bpm[-1] + tol_bpm) & np.isfinite(p_2f)
    sig = peak_share + np.where(harm_in_band, _band_power(spectra, bpm, 2.0 * hr, tol_bpm), 0.0)
    sig = np.minimum(sig, 1.0)
    far = np.abs(bpm[None, :] - hr[:, None]) > 2.0 * tol_bpm
    rest = np.where(far, spectra, 0.0).max(axis=1)
    f = spectra.shape[1]
    return {
        "peak_share": peak_share,
        "snr_db": 10.0 * np.log10(np.maximum(sig, 1e-12) / np.maximum(1.0 - sig, 1e-12)),
        "peak_ratio": spectra[np.arange(len(spectra)), path] / np.maximum(rest, 1e-12),
        "harmonic_ratio": p_2f / np.maximum(p_f, 1e-12),
        "subharmonic_ratio": p_half / np.maximum(p_f, 1e-12),
        "entropy": -(spectra * np.log(np.maximum(spectra, 1e-300))).sum(axis=1) / np.log(max(f, 2)),
    }


def transition_scores(freqs_bpm: np.ndarray, *, hop_s: float, max_rate_bpm_per_s: float, jump_cost_nats: float) -> np.ndarray:
    """(F_from, F_to) log transition score over one hop from rate a to b (bpm): log(exp(−|b − a| /
    (max_rate_bpm_per_s · hop_s)) + exp(−jump_cost_nats)), a Laplace prior on the rate change per hop mixed with a
    flat jump that costs ``jump_cost_nats`` once."""
    scale = max(max_rate_bpm_per_s * hop_s, 1e-6)
    d = np.abs(freqs_bpm[:, None] - freqs_bpm[None, :])
    return np.logaddexp(-d / scale, -float(jump_cost_nats))


def viterbi_path(
    spectra: np.ndarray, freqs_bpm: np.ndarray, *, hop_s: float, max_rate_bpm_per_s: float, jump_cost_nats: float
) -> np.ndarray:
    """Most likely state sequence (K,) of bin indices through the window spectra ``spectra`` (K, F) (each summing to
    1), with the emission score ``log(P + EMISSION_FLOOR)`` (nats, taken a row at a time) and the transition scores
    of ``transition_scores``."""
    k, f = spectra.shape
    trans = transition_scores(freqs_bpm, hop_s=hop_s, max_rate_bpm_per_s=max_rate_bpm_per_s, jump_cost_nats=jump_cost_nats)
    score = np.log(spectra[0] + EMISSION_FLOOR)
    back = np.zeros((k, f), dtype=np.min_scalar_type(f))  # bin indices: 2 bytes each for any practical grid
    for i in range(1, k):
        cand = score[:, None] + trans
        back[i] = np.argmax(cand, axis=0)
        score = cand[back[i], np.arange(f)] + np.log(spectra[i] + EMISSION_FLOOR)
    path = np.empty(k, dtype=np.int64)
    path[-1] = int(np.argmax(score))
    for i in range(k - 1, 0, -1):
        path[i - 1] = back[i, path[i]]
    return path


class OnlineTrack:
    """The Viterbi tracker of ``hr_track`` run causally, for a stream: one window spectrum at a time (each on the
    grid ``freqs_bpm``, summing to 1 over the band), the rate (bpm) at the end of the best path so far. No look-ahead,
    so an isolated excursion that the offline path smooths away can show for a window before the path returns;
    the prior and the jump cost are the offline ones. A spectrum on another grid (the stream's frame rate changed)
    starts a new path."""

    def __init__(self, *, hop_s: float = 1.0, max_rate_bpm_per_s: float = DEFAULT_MAX_RATE_BPM_PER_S,
                 jump_cost_nats: float = DEFAULT_JUMP_COST_NATS):  # fmt: skip
        self.hop_s, self.max_rate, self.jump_cost = float(hop_s), float(max_rate_bpm_per_s), float(jump_cost_nats)
        self._freqs: np.ndarray | None = None
        self._trans: np.ndarray | None = None
        self._score: np.ndarray | None = None

    def reset(self) -> None:
        """Forget the path (after a gap in the stream)."""
        self._score = None

    def step(self, spectrum: np.ndarray, freqs_bpm: np.ndarray) -> float:
        """The tracked rate (bpm) after one more window whose band spectrum is ``spectrum`` (F,) on ``freqs_bpm``."""
        emission = np.log(np.asarray(spectrum, dtype=np.float64) + EMISSION_FLOOR)
        if self._freqs is None or len(self._freqs) != len(freqs_bpm) or not np.allclose(self._freqs, freqs_bpm):
            self._freqs = np.asarray(freqs_bpm, dtype=np.float64).copy()
            self._trans = transition_scores(self._freqs, hop_s=self.hop_s, max_rate_bpm_per_s=self.max_rate,
                                            jump_cost_nats=self.jump_cost)  # fmt: skip
            self._score = None
        if self._score is None:
            score = emission
        else:
            score = (self._score[:, None] + self._trans).max(axis=0) + emission
        self._score = score - score.max()  # only differences matter; keeps the numbers bounded over hours
        return float(self._freqs[int(np.argmax(self._score))])


def hr_track(
    wave: np.ndarray,
    *,
    fs: float,
    window_s: float = 10.0,
    hop_s: float = 1.0,
    band_hz: tuple[float, float] = DEFAULT_BAND_HZ,
    tracked: bool = False,
    clean: bool = True,
    resolution_bpm: float = 0.5,
    tol_bpm: float | None = None,
    max_rate_bpm_per_s: float = DEFAULT_MAX_RATE_BPM_PER_S,
    jump_cost_nats: float = DEFAULT_JUMP_COST_NATS,
) -> HRTrack:
    """Heart rate (bpm) of ``wave`` (T,) at ``fs`` Hz over ``window_s``-second windows every ``hop_s`` seconds.

    ``band_hz`` (Hz): rates searched (default 0.7–3.0 Hz = 42–180 bpm); its upper edge is lowered, with a warning,
    to 0.9·fs/2 when fs is too low. ``clean``: apply the package read-out (detrend + band-pass) to the whole wave
    first (pass False for a wave that is already clean). ``resolution_bpm``: spacing of the frequency grid.
    ``tol_bpm``: half-width of the peak in the quality features (None: max(6, 60/window) bpm, one DFT bin of
    the window, so short windows count their wider main lobe). ``tracked``: read each window's rate from a Viterbi
    path (see the module docstring; ``max_rate_bpm_per_s`` and ``jump_cost_nats`` set its prior) instead of its own
    PSD peak. Returns an ``HRTrack``; raises ``SignalError`` for fs outside 5–240 Hz or a wave under 8 samples.
    """
    fs = check_fs(fs)
    if not MIN_FS_HZ <= fs <= MAX_FS_HZ:
        raise SignalError(f"hr_track supports fs in {MIN_FS_HZ:g}–{MAX_FS_HZ:g} Hz; got fs={fs:g} Hz (resample the wave)")
    if window_s <= 0 or hop_s <= 0:
        raise SignalError(f"window_s and hop_s must be > 0 s; got window_s={window_s}, hop_s={hop_s}")
    x = np.asarray(wave, dtype=np.float64)
    if x.ndim != 1:
        raise SignalError(f"hr_track expects a 1-D wave (T,); got shape {x.shape}")
    if len(x) < 8 or not np.all(np.isfinite(x)):
        raise SignalError(
            f"hr_track needs >= 8 finite samples; got {len(x)} samples, {int((~np.isfinite(x)).sum())} non-finite"
        )
    lo, hi = effective_band(band_hz, fs)
    if clean:
        x = clean_wave(x, fs, (lo, hi))
    n = min(len(x), max(8, int(round(window_s * fs))))
    if tol_bpm is None:
        tol_bpm = max(6.0, 60.0 * fs / n)
    hop = max(1, int(round(hop_s * fs)))
    starts = np.arange(0, len(x) - n + 1, hop)
    frames = np.lib.stride_tricks.sliding_window_view(x, n)[::hop]  # (K, n) view, no copy

    # grid: the band, extended up to twice its top (for the harmonic) and down to half its bottom, within Nyquist
    step_hz = resolution_bpm / 60.0
    ext_lo = max(step_hz, lo / 2.0 - tol_bpm / 60.0)
    ext_hi = min(NYQUIST_MARGIN * fs / 2.0, 2.0 * hi + tol_bpm / 60.0)
    grid = np.arange(ext_lo, ext_hi + step_hz / 2, step_hz)
    in_band = (grid >= lo - 1e-12) & (grid <= hi + 1e-12)
    freqs = grid[in_band]
    bpm = 60.0 * freqs
    blocks = [slice(i, i + TRACK_BLOCK) for i in range(0, len(starts), TRACK_BLOCK)]

    # windows a block at a time (the (K, G) power of a long wave is never held): spectra first, then the features
    # of the read rates, which for a tracked path are known only once every spectrum is
    k = len(starts)
    spectra, total, autocorr = np.empty((k, len(freqs))), np.empty((k, 1)), np.empty(k)
    feats = {name: np.empty(k) for name in _WINDOW_FEATURES}
    powers = []
    for blk in blocks:
        power = _zoom_psd(frames[blk], fs, grid)  # (B, G)
        total[blk] = np.maximum(power[:, in_band].sum(axis=1, keepdims=True), 1e-300)
        spectra[blk] = power[:, in_band] / total[blk]
        autocorr[blk] = _autocorr_sqi(frames[blk], fs, (lo, hi))
        powers.append(power if len(blocks) == 1 else None)  # kept only when one block holds every window
    peak_idx = np.argmax(spectra, axis=1)
    if tracked and len(spectra) > 1:
        path = viterbi_path(
            spectra, bpm, hop_s=hop / fs, max_rate_bpm_per_s=max_rate_bpm_per_s,
            jump_cost_nats=jump_cost_nats,
        )  # fmt: skip
    else:
        path = peak_idx
    hr = bpm[path]
    peak_bpm = bpm[peak_idx]
    for blk, power in zip(blocks, powers):
        power = _zoom_psd(frames[blk], fs, grid) if power is None else power
        for name, value in _window_features(power / total[blk], spectra[blk], path[blk], grid, in_band, tol_bpm).items():
            feats[name][blk] = value
    return HRTrack(
        t_s=(starts + n / 2.0) / fs, hr_bpm=hr, peak_bpm=peak_bpm, spectra=spectra, freqs_hz=freqs,
        **feats, autocorr=autocorr,
        overridden=np.abs(hr - peak_bpm) > tol_bpm, fs=fs, window_s=n / fs, hop_s=hop / fs, band_hz=(lo, hi),
        tol_bpm=float(tol_bpm), tracked=bool(tracked and len(spectra) > 1),
    )  # fmt: skip
