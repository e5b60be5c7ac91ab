"""STMap: per-frame ROI-block colour means plus skin-pixel statistics (see stmap.types for the shape contract).

``extract_stmap(path, ...)`` builds one from a video (stmap.extract); ``stmap.cache`` stores them on disk.
"""

from pseudopulse.stmap.types import STMap
from pseudopulse.stmap.extract import extract_stmap, extract_stmap_from_frames

__all__ = ["STMap", "extract_stmap", "extract_stmap_from_frames"]
