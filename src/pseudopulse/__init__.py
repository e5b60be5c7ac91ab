"""pseudopulse: label-free remote photoplethysmography (rPPG) from face video.

Data flows one way: video -> frames + timestamps (io) -> face boxes (face) -> STMap (stmap)
-> pulse wave (methods / model) -> heart rate and quality (signal) -> ``predict`` (a file) or ``stream`` (a camera or stream, as it happens).
"""

__version__ = "0.1.0"

from pseudopulse.errors import PseudopulseError  # noqa: E402

__all__ = ["PseudopulseError", "__version__", "predict", "stream"]


def __getattr__(name):
    # Lazy: `import pseudopulse` stays cheap; the front door loads the pipeline on first use.
    if name == "predict":
        from pseudopulse.api import predict

        return predict
    if name == "stream":
        from pseudopulse.live import stream

        return stream
    if name == "PredictResult":
        from pseudopulse.api import PredictResult

        return PredictResult
    raise AttributeError(name)
