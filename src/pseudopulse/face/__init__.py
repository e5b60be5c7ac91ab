"""Face landmarks (MediaPipe's face mesh, ported to PyTorch), keyframe tracking and skin-ROI statistics."""

from pseudopulse.face.detector import DETECTOR_NAME, FaceMeshDetector
from pseudopulse.face.roi import BlockStats, FaceSkinSampler, SmoothedSkinMask, full_frame_stats, rgb_to_yuv
from pseudopulse.face.track import FaceTracker, TrackedFrame, TrackStats

__all__ = [
    "DETECTOR_NAME",
    "BlockStats",
    "FaceMeshDetector",
    "FaceSkinSampler",
    "SmoothedSkinMask",
    "FaceTracker",
    "TrackStats",
    "TrackedFrame",
    "full_frame_stats",
    "rgb_to_yuv",
]
