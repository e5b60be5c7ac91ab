"""Heart rate of a whole recording, predicted and true, through the one read-out (``signal.estimate_hr``).

``recording_hr(stmap, predictor)`` is the predictor's wave on its uniform grid -> detrend + band-pass -> PSD peak:
the read-out ``pseudopulse predict`` applies to a recording (``api.predict_stmap``) and that every clip of an
evaluation goes through. ``true_recording_hr`` reads the reference the same way: the contact PPG resampled onto a
uniform grid at its own mean rate, through the same ``estimate_hr``; datasets that give only HR values give their
mean. The methods benchmark's whole-recording tables, the peer benchmark and the experiments' synthetic grid all
use these two functions.
"""

from __future__ import annotations

import numpy as np

from pseudopulse.datasets.base import GroundTruth
from pseudopulse.errors import DatasetError
from pseudopulse.predictors import Predictor
from pseudopulse.reading import read_wave
from pseudopulse.signal import DEFAULT_BAND_HZ, HREstimate, estimate_hr, uniform_times


def recording_hr(stmap, predictor: Predictor, band_hz: tuple[float, float] = DEFAULT_BAND_HZ) -> HREstimate:
    """HR (bpm), SNR (dB) and read-out wave of the whole STMap by ``predictor``, read on the predictor's uniform
    grid (its rate in Hz: the video's, or the network's). Raises ``SignalError`` where the predictor or the
    read-out refuses the recording (too short, too much face loss)."""
    return read_wave(stmap, predictor, band_hz)[3]


def true_recording_hr(gt: GroundTruth, band_hz: tuple[float, float] = DEFAULT_BAND_HZ) -> float:
    """Reference HR (bpm) of a whole recording: ``estimate_hr`` of the GT PPG on a uniform grid at its mean rate
    (Hz), or the mean of the dataset's HR values when it has no PPG."""
    if gt.ppg is None:
        if gt.hr_bpm is None:
            raise DatasetError(f"{gt.source}: ground truth has neither a PPG nor HR values")
        return float(np.mean(gt.hr_bpm))
    t = np.asarray(gt.timestamps_s, dtype=np.float64)
    if len(t) < 2 or t[-1] <= t[0]:
        raise DatasetError(f"{gt.source}: a ground-truth PPG needs at least 2 increasing timestamps; got {len(t)}")
    fs = (len(t) - 1) / float(t[-1] - t[0])
    grid = uniform_times(t, fs)
    return float(estimate_hr(np.interp(grid, t, np.asarray(gt.ppg, dtype=np.float64)), fs, band_hz).hr_bpm)
