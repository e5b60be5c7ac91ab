"""STMap: per-frame ROI-block colour means plus skin-pixel statistics (see stmap.types for the shape contract)."""

from pseudopulse.stmap.types import STMap

__all__ = ["STMap"]
