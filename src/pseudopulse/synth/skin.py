"""The face photo the synthetic clips are made from, and its skin mask.

The photo is matplotlib's sample image ``grace_hopper.jpg`` (600x512 RGB, ships inside the matplotlib wheel). The
skin mask comes from MediaPipe face mesh (run once per process, cached): the face-oval polygon minus the eyes
(widened to cover the spectacles), eyebrows and lips, intersected with a loose skin-colour test (drops the
glasses' frames, hair and the cap) and feathered with a Gaussian blur. Values are weights in [0, 1].
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from pseudopulse.errors import FaceError

PHOTO_NAME = "grace_hopper.jpg"


@lru_cache(maxsize=1)
def face_photo() -> np.ndarray:
    """The face photo as a read-only (600, 512, 3) uint8 RGB array."""
    import cv2
    from matplotlib import cbook

    path = cbook.get_sample_data(PHOTO_NAME, asfileobj=False)
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise FaceError(f"{path}: cannot read matplotlib's sample photo {PHOTO_NAME}; reinstall matplotlib (>=3.7)")
    rgb = np.ascontiguousarray(bgr[:, :, ::-1])
    rgb.setflags(write=False)
    return rgb


def landmark_ids(connections) -> np.ndarray:
    return np.unique(np.asarray(list(connections), dtype=np.int64).ravel())


def hull_mask(shape: tuple[int, int], points_xy: np.ndarray, grow_px: float = 0.0) -> np.ndarray:
    """uint8 {0,1} mask of the convex hull of ``points_xy`` (N,2) pixels, optionally grown about its centroid."""
    import cv2

    pts = np.asarray(points_xy, dtype=np.float64)
    if grow_px:
        c = pts.mean(axis=0)
        d = pts - c
        n = np.linalg.norm(d, axis=1, keepdims=True)
        pts = c + d * (1.0 + grow_px / np.maximum(n, 1e-6))
    hull = cv2.convexHull(np.round(pts).astype(np.int32))
    mask = np.zeros(shape, dtype=np.uint8)
    cv2.fillConvexPoly(mask, hull, 1)
    return mask


@lru_cache(maxsize=1)
def face_landmarks() -> np.ndarray:
    """Face-mesh landmarks of the photo (the package's face mesh, one still image): read-only (468, 2) float pixel
    coordinates (x, y)."""
    from pseudopulse.face.detector import FaceMeshDetector

    rgb = face_photo()
    with FaceMeshDetector(tracking=False, torch_threads=None) as mesh:
        lm = mesh.process(np.ascontiguousarray(rgb))
    if lm is None:
        raise FaceError(f"the face mesh found no face in matplotlib's {PHOTO_NAME}")
    xy = np.array(lm[:, :2], dtype=np.float64)
    xy.setflags(write=False)
    return xy


def skin_colour(rgb: np.ndarray) -> np.ndarray:
    """Loose YCrCb skin-colour test (Chai & Ngan ranges), bool (H, W)."""
    import cv2

    ycc = cv2.cvtColor(rgb, cv2.COLOR_RGB2YCrCb)
    y, cr, cb = ycc[..., 0], ycc[..., 1], ycc[..., 2]
    return (y > 60) & (cr >= 135) & (cr <= 180) & (cb >= 80) & (cb <= 130)


@lru_cache(maxsize=1)
def photo_skin_mask() -> np.ndarray:
    """Soft skin mask of the photo: read-only (600, 512) float32 weights in [0, 1] (1 = facial skin)."""
    import cv2
    from pseudopulse.face import landmarks as fm

    rgb = face_photo()
    shape = rgb.shape[:2]
    xy = face_landmarks()
    face = hull_mask(shape, xy[landmark_ids(fm.FACEMESH_FACE_OVAL)], grow_px=-6.0)
    holes = np.zeros(shape, dtype=np.uint8)
    sides = ((fm.FACEMESH_LEFT_EYE, fm.FACEMESH_LEFT_EYEBROW), (fm.FACEMESH_RIGHT_EYE, fm.FACEMESH_RIGHT_EYEBROW))
    for eye, brow in sides:
        holes |= hull_mask(shape, xy[landmark_ids(eye)], grow_px=10.0)
        holes |= hull_mask(shape, xy[landmark_ids(brow)], grow_px=6.0)
    holes |= hull_mask(shape, xy[landmark_ids(fm.FACEMESH_LIPS)], grow_px=5.0)
    hard = (face > 0) & (holes == 0) & skin_colour(rgb)
    hard = cv2.morphologyEx(hard.astype(np.uint8), cv2.MORPH_OPEN, np.ones((5, 5), np.uint8))
    soft = cv2.GaussianBlur(hard.astype(np.float32), (0, 0), sigmaX=2.5)
    soft.setflags(write=False)
    return soft
