"""The static scene of a clip: the face photo scaled into a frame on a plain wall, its skin mask, and skin tone.

Everything here depends only on (width, height, skin_tone) and is cached, so rendering a clip starts from
ready float32 arrays. Coordinates are frame pixels (x right, y down).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from pseudopulse.synth.skin import (
    binary_close, binary_open, ellipse_element, face_landmarks, face_photo, hull_mask, landmark_ids, photo_skin_mask, resize,
    skin_colour,
)

# Per-channel multipliers of the skin at skin_tone = -1 (melanin absorbs blue/green most) and the gain at +1.
_DARK_TINT = np.array([0.42, 0.33, 0.30], dtype=np.float32)
_LIGHT_GAIN = np.array([0.22, 0.26, 0.30], dtype=np.float32)


@dataclass(frozen=True)
class Scene:
    base: np.ndarray  # (H, W, 3) float32 RGB 0..255, the still frame (skin tone applied)
    skin: np.ndarray  # (H, W) float32 0..1 soft skin mask (where the pulse is)
    face_box: tuple[int, int, int, int]  # (x0, y0, x1, y1) of the skin mask's support, px
    face_centre: tuple[float, float]  # (x, y) centre of rotation/zoom for head motion, px
    wall: np.ndarray  # (H, W, 3) float32 the same frame without the photo (for face-less spans)


def _placement(width: int, height: int) -> tuple[float, int, int, int, int]:
    """Scale and (x0, y0, w, h) of the photo in the frame: full height (or full width if narrower), bottom-centred."""
    ph, pw = face_photo().shape[:2]
    s = min(height / ph, width / pw)
    w, h = max(2, int(round(pw * s))), max(2, int(round(ph * s)))
    return s, (width - w) // 2, height - h, w, h


def _wall(width: int, height: int) -> np.ndarray:
    """A plain, softly lit beige wall: vertical gradient, vignette and faint low-frequency blotches (fixed seed)."""
    y = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
    x = np.linspace(-1.0, 1.0, width, dtype=np.float32)[None, :]
    light = 1.0 - 0.18 * y - 0.12 * x**2
    rng = np.random.default_rng(12345)
    blot = resize(rng.standard_normal((6, 8)).astype(np.float32), width, height, "cubic")
    light = light * (1.0 + 0.03 * blot)
    colour = np.array([196.0, 188.0, 172.0], dtype=np.float32)
    return light[..., None] * colour


def _tint_region() -> np.ndarray:
    """Photo-sized float32 0..1 weights of all visible skin (face, ears, neck) for the skin-tone change."""
    from scipy import ndimage

    from pseudopulse.face.landmarks import FACEMESH_FACE_OVAL

    rgb = face_photo()
    xy = face_landmarks()
    oval = xy[landmark_ids(FACEMESH_FACE_OVAL)]
    chin_to_neck = oval + np.array([0.0, 0.45 * (oval[:, 1].max() - oval[:, 1].min())])
    region = hull_mask(rgb.shape[:2], np.concatenate([oval, chin_to_neck]), grow_px=35.0)
    hard = (region > 0) & skin_colour(rgb)
    hard = binary_open(hard, np.ones((3, 3), bool))
    # close the creases and wrinkles that fail the colour test, but not across the eyes (not skin)
    hard = binary_close(hard, ellipse_element(9)) & (region > 0)
    return np.maximum(ndimage.gaussian_filter(hard.astype(np.float32), 3.0, mode="mirror"), photo_skin_mask())


@lru_cache(maxsize=8)
def make_scene(width: int, height: int, skin_tone: float = 0.0) -> Scene:
    """The static scene for a frame size and skin tone (-1 darker .. +1 lighter). Cached; arrays are read-only."""
    s, x0, y0, w, h = _placement(width, height)
    photo = np.clip(resize(face_photo(), w, h, "area" if s < 1 else "cubic"), 0.0, 255.0)
    skin_p = np.clip(resize(photo_skin_mask(), w, h, "linear"), 0.0, 1.0)

    if skin_tone != 0.0:
        tint_w = np.clip(resize(_tint_region(), w, h, "linear"), 0.0, 1.0)[..., None]
        gain = 1.0 + skin_tone * (1.0 - _DARK_TINT) if skin_tone < 0 else 1.0 + skin_tone * _LIGHT_GAIN
        photo = photo * (1.0 - tint_w) + np.minimum(photo * gain, 255.0) * tint_w

    # feather the photo's left/right edges into the wall
    alpha = np.ones((h, w), dtype=np.float32)
    ramp = max(1, int(0.06 * w))
    edge = np.linspace(0.0, 1.0, ramp, dtype=np.float32)
    alpha[:, :ramp] *= edge[None, :]
    alpha[:, w - ramp:] *= edge[None, ::-1]
    wall = _wall(width, height)
    base = wall.copy()
    roi = base[y0:y0 + h, x0:x0 + w]
    roi[:] = roi * (1.0 - alpha[..., None]) + photo * alpha[..., None]

    skin = np.zeros((height, width), dtype=np.float32)
    skin[y0:y0 + h, x0:x0 + w] = skin_p * alpha
    ys, xs = np.nonzero(skin > 0.05)
    box = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
    centre = (float((box[0] + box[2]) / 2), float((box[1] + box[3]) / 2))
    for a in (base, skin, wall):
        a.setflags(write=False)
    return Scene(base=base, skin=skin, face_box=box, face_centre=centre, wall=wall)


def skin_mask(width: int = 640, height: int = 480) -> np.ndarray:
    """(H, W) float32 0..1 skin mask of an unmoved synthetic frame (where the pulse is rendered)."""
    return make_scene(width, height, 0.0).skin
