"""Errors raised by pseudopulse. Each message names the file or value, the rule broken and the fix."""


class PseudopulseError(Exception):
    """Base class: every error the package raises on bad input derives from this."""


class VideoError(PseudopulseError):
    """A video file or frame folder cannot be read (missing, not a video, no frames, truncated)."""


class FaceError(PseudopulseError):
    """No face could be found or tracked where one was required."""


class SignalError(PseudopulseError):
    """A signal is unusable: too short for the method window, too many missing samples, bad sampling rate."""


class DatasetError(PseudopulseError):
    """A dataset folder or ground-truth file does not have the documented layout or content."""


class ModelError(PseudopulseError):
    """A checkpoint or model file is missing, corrupt or incompatible."""


class OutputError(PseudopulseError):
    """An output or cache path cannot be written (a file where a folder is needed, no permission, a name clash)."""
