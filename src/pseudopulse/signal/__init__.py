"""Signal processing shared by predictions and ground truth: filters, spectra, heart rate, quality, beats."""

from pseudopulse.signal.beats import Beats, detect_beats
from pseudopulse.signal.postprocess import HREstimate, clean_wave, estimate_hr
from pseudopulse.signal.filters import DEFAULT_BAND_HZ, bandpass, check_fs, detrend, standardize, uniform_times
from pseudopulse.signal.quality import irrelevant_power_ratio, snr_db
from pseudopulse.signal.spectrum import heart_rate, peak_frequency, psd

__all__ = [
    "Beats",
    "HREstimate",
    "clean_wave",
    "estimate_hr",
    "DEFAULT_BAND_HZ",
    "bandpass",
    "check_fs",
    "detect_beats",
    "detrend",
    "heart_rate",
    "irrelevant_power_ratio",
    "peak_frequency",
    "psd",
    "snr_db",
    "standardize",
    "uniform_times",
]
