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
    from matplotlib import cbook
    from PIL import Image, UnidentifiedImageError

    path = cbook.get_sample_data(PHOTO_NAME, asfileobj=False)
    try:
        with Image.open(path) as im:
            rgb = np.array(im.convert("RGB"))
    except (OSError, UnidentifiedImageError) as e:
        raise FaceError(f"{path}: cannot read matplotlib's sample photo {PHOTO_NAME} ({e}); reinstall matplotlib (>=3.7)") from e
    rgb.setflags(write=False)
    return rgb


def landmark_ids(connections) -> np.ndarray:
    return np.unique(np.asarray(list(connections), dtype=np.int64).ravel())


def hull_mask(shape: tuple[int, int], points_xy: np.ndarray, grow_px: float = 0.0) -> np.ndarray:
    """uint8 {0,1} mask of the convex hull of ``points_xy`` (N,2) pixels, optionally grown about its centroid."""
    from pseudopulse.face.warp import convex_hull, fill_convex_polygon

    pts = np.asarray(points_xy, dtype=np.float64)
    if grow_px:
        c = pts.mean(axis=0)
        d = pts - c
        n = np.linalg.norm(d, axis=1, keepdims=True)
        pts = c + d * (1.0 + grow_px / np.maximum(n, 1e-6))
    return fill_convex_polygon(shape, convex_hull(np.round(pts))).astype(np.uint8)


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
    """Loose YCrCb skin-colour test (Chai & Ngan ranges), bool (H, W). YCrCb as JPEG / BT.601 full range:
    Y = .299 R + .587 G + .114 B, Cr = .713 (R - Y) + 128, Cb = .564 (B - Y) + 128, rounded."""
    r, g, b = (rgb[..., c].astype(np.float32) for c in range(3))
    y = 0.299 * r + 0.587 * g + 0.114 * b
    cr = np.rint(0.713 * (r - y) + 128.0)
    cb = np.rint(0.564 * (b - y) + 128.0)
    y = np.rint(y)
    return (y > 60) & (cr >= 135) & (cr <= 180) & (cb >= 80) & (cb <= 130)


@lru_cache(maxsize=1)
def photo_skin_mask() -> np.ndarray:
    """Soft skin mask of the photo: read-only (600, 512) float32 weights in [0, 1] (1 = facial skin)."""
    from scipy import ndimage

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
    hard = binary_open(hard, np.ones((5, 5), bool))
    soft = ndimage.gaussian_filter(hard.astype(np.float32), 2.5, mode="mirror")
    soft.setflags(write=False)
    return soft


def binary_open(mask: np.ndarray, structure: np.ndarray) -> np.ndarray:
    """Morphological opening (erode, then dilate) of a bool mask; outside the image counts as neither (erosion
    there sees 1, dilation 0), so shapes touching the border are kept."""
    from scipy import ndimage

    return ndimage.binary_dilation(ndimage.binary_erosion(mask, structure, border_value=1), structure, border_value=0)


def binary_close(mask: np.ndarray, structure: np.ndarray) -> np.ndarray:
    """Morphological closing (dilate, then erode) of a bool mask, borders as in ``binary_open``."""
    from scipy import ndimage

    return ndimage.binary_erosion(ndimage.binary_dilation(mask, structure, border_value=0), structure, border_value=1)


def ellipse_element(size: int) -> np.ndarray:
    """(size, size) bool elliptic (here: disc) structuring element inscribed in the square."""
    r = (size - 1) / 2.0
    yy, xx = np.mgrid[:size, :size] - r
    return (xx**2 + yy**2) <= r * r + r  # the pixel centres within the disc, its rim rounded outward


def area_weights(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) float64 weights of an area-average shrink along one axis: output pixel i covers input
    [i s, (i + 1) s), s = n_in / n_out >= 1, each input pixel weighted by its overlap (px), divided by s."""
    if n_out > n_in:
        raise ValueError(f"area resampling only shrinks; got {n_in} -> {n_out} px")
    s = n_in / n_out
    lo = np.arange(n_out)[:, None] * s
    j = np.arange(n_in)[None, :]
    return np.clip(np.minimum(lo + s, j + 1) - np.maximum(lo, j), 0.0, None) / s


def resize(image: np.ndarray, width: int, height: int, method: str) -> np.ndarray:
    """``image`` (H, W) or (H, W, C), uint8 or float, resized to ``height`` x ``width`` px, each channel in float
    (no rounding). Returns float32 (height, width[, C]).

    ``method``: "area" (shrinking only: each output pixel the mean of the input area it covers, with fractional
    edge pixels, as OpenCV's INTER_AREA; separable weight matrices, exact) or Pillow's "linear" / "cubic" ("F"
    mode; antialiased when shrinking, bicubic a = -0.5). Pillow's BOX filter is not used for "area": at 600 ->
    480 px it weights whole pixels by their centres and was up to 108 grey levels off the area mean at the
    photo's edges."""
    a = np.asarray(image, np.float32)
    if method == "area":
        wy, wx = area_weights(a.shape[0], height), area_weights(a.shape[1], width)
        planes = [a] if a.ndim == 2 else [a[..., c] for c in range(a.shape[2])]
        out = [(wy @ p.astype(np.float64) @ wx.T).astype(np.float32) for p in planes]
        return out[0] if a.ndim == 2 else np.stack(out, axis=-1)
    from PIL import Image

    filters = {"linear": Image.Resampling.BILINEAR, "cubic": Image.Resampling.BICUBIC}
    if method not in filters:
        raise ValueError(f"resize method must be 'area', 'linear' or 'cubic'; got {method!r}")
    planes = [a] if a.ndim == 2 else [a[..., c] for c in range(a.shape[2])]
    out = [np.asarray(Image.fromarray(np.ascontiguousarray(p), mode="F").resize((width, height), filters[method]))
           for p in planes]
    return out[0] if a.ndim == 2 else np.stack(out, axis=-1)
