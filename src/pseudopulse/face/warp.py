"""Image warps and polygon masks in NumPy / SciPy, resampling exactly as OpenCV (< 4.12) does.

The face port must feed its networks the crops MediaPipe's CPU graph makes with ``cv::warpPerspective``, and the
skin ROI must sample the frame as it always did (``cv::warpAffine``); so the warps here reproduce OpenCV's
fixed-point bilinear resampling rather than a plain float one:

- source positions are quantised to 1/32 px (``INTER_BITS = 5``): perspective maps in double precision, then
  ``round(32 x)`` (half to even); affine maps in OpenCV's 10-bit fixed point (``AB_BITS``);
- a uint8 output pixel is ``(sum p * wx * wy + 512) >> 10`` over the 2 x 2 neighbours, with integer weights
  ``wx = 32 - fx`` or ``fx`` (OpenCV's coefficients ``wx * wy * 32`` scaled by 2^15, ``INTER_REMAP_COEF_BITS``) —
  bit-exact with OpenCV 4.11 on uint8 images; float images use the same quantised weights in float32;
- borders: ``"constant"`` (0 outside), ``"replicate"`` (clamped) or ``"reflect101"`` (``d c b | a b c d | c b a``).

Coordinates: pixel (x, y) is the centre of column x, row y (OpenCV's convention). Images are (H, W) or (H, W, C).
Matrices map output pixels to source pixels (the inverse map, OpenCV's ``WARP_INVERSE_MAP``).

Polygons (``fill_polygon``) are rasterised like OpenCV's ``fillPoly(..., LINE_8)``: rows at rounded vertex heights,
a pixel is filled when it lies between the left and right edge crossings (rounded half up), plus the 8-connected
outline between rounded vertices; it agrees with OpenCV on all but a few boundary pixels.
"""

from __future__ import annotations

import sys

import numpy as np

INTER_BITS = 5
INTER_TAB_SIZE = 1 << INTER_BITS  # 32 sub-pixel positions per axis
_AB_BITS = 10  # OpenCV warpAffine's fixed point for the map (bits)
BORDERS = ("constant", "replicate", "reflect101")


# ----------------------------------------------------------------------------------------------- transforms
def box_points(cx: float, cy: float, width: float, height: float, angle_deg: float) -> np.ndarray:
    """(4, 2) float32 corners of a rotated rectangle (centre, size in px, angle in degrees), in OpenCV's
    ``cv::boxPoints`` order and float32 arithmetic: bottom-left, top-left, top-right, bottom-right (for angle 0)."""
    f = np.float32
    ang = float(f(angle_deg)) * np.pi / 180.0
    b, a = f(np.cos(ang)) * f(0.5), f(np.sin(ang)) * f(0.5)
    cx, cy, w, h = f(cx), f(cy), f(width), f(height)
    p0 = (cx - a * h - b * w, cy + b * h - a * w)
    p1 = (cx + a * h - b * w, cy - b * h - a * w)
    return np.array([p0, p1, (f(2) * cx - p0[0], f(2) * cy - p0[1]), (f(2) * cx - p1[0], f(2) * cy - p1[1])], np.float32)


def _lu_solve(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Solve a x = b by Gaussian elimination with partial pivoting, in OpenCV's order of operations (``LUImpl``),
    so that the result matches ``cv::solve(..., DECOMP_LU)`` to the last bit."""
    a, b = a.astype(np.float64), b.astype(np.float64)
    m = len(b)
    for i in range(m):
        k = i + int(np.argmax(np.abs(a[i:, i])))  # the first largest pivot
        if k != i:
            a[[i, k], i:], b[[i, k]] = a[[k, i], i:], b[[k, i]]
        d = -1.0 / a[i, i]
        for j in range(i + 1, m):
            alpha = a[j, i] * d
            a[j, i + 1:] += alpha * a[i, i + 1:]
            b[j] += alpha * b[i]
    for i in range(m - 1, -1, -1):
        s = b[i]
        for k in range(i + 1, m):
            s -= a[i, k] * b[k]
        b[i] = s / a[i, i]
    return b


def perspective_transform(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """(3, 3) float64 homography mapping the 4 points ``src`` (4, 2) onto ``dst`` (4, 2), float32 inputs, with
    M[2, 2] = 1: ``cv::getPerspectiveTransform`` (same 8 x 8 system and elimination, bit-exact)."""
    s, d = np.asarray(src, np.float32), np.asarray(dst, np.float32)
    a, b = np.zeros((8, 8)), np.zeros(8)
    for i in range(4):
        a[i, :3] = a[i + 4, 3:6] = (s[i, 0], s[i, 1], 1.0)
        a[i, 6:] = (-s[i, 0] * d[i, 0], -s[i, 1] * d[i, 0])  # float32 products, as OpenCV
        a[i + 4, 6:] = (-s[i, 0] * d[i, 1], -s[i, 1] * d[i, 1])
        b[i], b[i + 4] = d[i, 0], d[i, 1]
    return np.append(_lu_solve(a, b), 1.0).reshape(3, 3)


def invert_perspective(m: np.ndarray) -> np.ndarray:
    """(3, 3) inverse of a homography by cofactors over the determinant (``cv::invert`` of a 3 x 3, bit-exact)."""
    s = np.asarray(m, np.float64)
    det = (s[0, 0] * (s[1, 1] * s[2, 2] - s[1, 2] * s[2, 1]) - s[0, 1] * (s[1, 0] * s[2, 2] - s[1, 2] * s[2, 0])
           + s[0, 2] * (s[1, 0] * s[2, 1] - s[1, 1] * s[2, 0]))
    if det == 0:
        raise ValueError("the perspective matrix is singular (determinant 0)")
    d = 1.0 / det
    return np.array([
        [(s[1, 1] * s[2, 2] - s[1, 2] * s[2, 1]) * d, (s[0, 2] * s[2, 1] - s[0, 1] * s[2, 2]) * d,
         (s[0, 1] * s[1, 2] - s[0, 2] * s[1, 1]) * d],
        [(s[1, 2] * s[2, 0] - s[1, 0] * s[2, 2]) * d, (s[0, 0] * s[2, 2] - s[0, 2] * s[2, 0]) * d,
         (s[0, 2] * s[1, 0] - s[0, 0] * s[1, 2]) * d],
        [(s[1, 0] * s[2, 1] - s[1, 1] * s[2, 0]) * d, (s[0, 1] * s[2, 0] - s[0, 0] * s[2, 1]) * d,
         (s[0, 0] * s[1, 1] - s[0, 1] * s[1, 0]) * d],
    ])  # fmt: skip


def invert_affine(m: np.ndarray) -> np.ndarray:
    """(2, 3) inverse of the affine map ``m`` (2, 3) (``cv::invertAffineTransform``, same arithmetic)."""
    m = np.asarray(m, np.float64)
    det = m[0, 0] * m[1, 1] - m[0, 1] * m[1, 0]
    d = 1.0 / det if det != 0 else 0.0
    a11, a22, a12, a21 = m[1, 1] * d, m[0, 0] * d, -m[0, 1] * d, -m[1, 0] * d
    b1 = -a11 * m[0, 2] - a12 * m[1, 2]
    b2 = -a21 * m[0, 2] - a22 * m[1, 2]
    return np.array([[a11, a12, b1], [a21, a22, b2]])


# ----------------------------------------------------------------------------------------------- source positions
def perspective_positions(inverse: np.ndarray, out_hw: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Source positions of every output pixel of a perspective warp, in 1/32 px (int64 (H, W) each).

    ``inverse`` (3, 3): output pixel -> source pixel. As ``cv::warpPerspective``: double precision, evaluated per
    block of columns (block start x_b, offset x1: ``(m00 x_b + m01 y + m02 + m00 x1) * 32 / w``), then rounded
    half to even."""
    m = np.asarray(inverse, np.float64)
    h, w = out_hw
    bh = min(16, h)
    bw = min(1024 // bh, w)  # OpenCV's block width (BLOCK_SZ = 32)
    xb = (np.arange(w) // bw * bw).astype(np.float64)[None, :]
    x1 = np.arange(w, dtype=np.float64)[None, :] - xb
    y = np.arange(h, dtype=np.float64)[:, None]
    wd = (m[2, 0] * xb + m[2, 1] * y + m[2, 2]) + m[2, 0] * x1
    wd = np.divide(float(INTER_TAB_SIZE), wd, out=np.zeros_like(wd), where=wd != 0)
    lim = float(np.iinfo(np.int32).max)
    fx = np.clip(((m[0, 0] * xb + m[0, 1] * y + m[0, 2]) + m[0, 0] * x1) * wd, -lim, lim)
    fy = np.clip(((m[1, 0] * xb + m[1, 1] * y + m[1, 2]) + m[1, 0] * x1) * wd, -lim, lim)
    return np.rint(fx).astype(np.int64), np.rint(fy).astype(np.int64)


def affine_positions(inverse: np.ndarray, out_hw: tuple[int, int], bits: int = INTER_BITS) -> tuple[np.ndarray, np.ndarray]:
    """Source positions of every output pixel of an affine warp, in 1/2^bits px (int64 (H, W) each).

    ``inverse`` (2, 3): output pixel -> source pixel. As ``cv::warpAffine``: per column ``round(1024 m00 x)``, per
    row ``round(1024 (m01 y + m02))`` plus half a step, summed and shifted down to ``bits`` fractional bits
    (``bits = 5`` for bilinear, 0 for nearest)."""
    m = np.asarray(inverse, np.float64)
    h, w = out_hw
    scale = float(1 << _AB_BITS)
    x = np.arange(w, dtype=np.float64)
    y = np.arange(h, dtype=np.float64)
    shift = _AB_BITS - bits
    half = (1 << shift) >> 1
    ax, ay = np.rint(m[0, 0] * x * scale).astype(np.int64), np.rint(m[1, 0] * x * scale).astype(np.int64)
    bx = np.rint((m[0, 1] * y + m[0, 2]) * scale).astype(np.int64) + half
    by = np.rint((m[1, 1] * y + m[1, 2]) * scale).astype(np.int64) + half
    return (bx[:, None] + ax[None, :]) >> shift, (by[:, None] + ay[None, :]) >> shift


# ----------------------------------------------------------------------------------------------- resampling
def _border_index(i: np.ndarray, n: int, border: str) -> tuple[np.ndarray, np.ndarray | None]:
    """Index into an axis of length ``n`` per ``border``, and (constant border only) where it was inside."""
    if border == "replicate":
        return np.clip(i, 0, n - 1), None
    if border == "reflect101":
        if n == 1:
            return np.zeros_like(i), None
        period = 2 * (n - 1)
        j = np.abs(i) % period
        return np.where(j >= n, period - j, j), None
    inside = (i >= 0) & (i < n)
    return np.clip(i, 0, n - 1), inside


_FIELD = 21  # bits per colour channel in the packed sums (255 * 1024 + 512 < 2^21)
_ROUND = sum(1 << (2 * INTER_BITS - 1 + c * _FIELD) for c in range(3))


def _spread(v: np.ndarray) -> np.ndarray:
    """Bytes 0, 1, 2 of each int64 (an RGB pixel) -> one channel per 21-bit field."""
    return (v & 0xFF) | ((v & 0xFF00) << (_FIELD - 8)) | ((v & 0xFF0000) << (2 * _FIELD - 16))


def _remap_rgb_inside(img: np.ndarray, sx, sy, ax, ay) -> np.ndarray | None:
    """The uint8 RGB bilinear sum for positions whose 2 x 2 neighbours all lie inside a C-contiguous ``img``;
    None when a word would read past the image's last byte (the bottom-right pixel pair).

    Speed: each output pixel reads its two horizontal neighbour pairs as two 8-byte words (an unaligned int64 view
    of the RGB bytes, 3-byte stride) and carries R, G, B in three 21-bit fields of one int64, so the weighted sums
    are ~20 operations on (N,) arrays instead of on (N, 4, 3) ones; the integers are the same as in the general
    path."""
    h, w = img.shape[:2]
    words = np.ndarray(((img.size - 8) // 3 + 1,), dtype="<i8", buffer=img, strides=(3,))  # pixel i = bytes 3i..3i+7
    i = sy * w + sx
    if int(i.max()) + w >= len(words):
        return None
    top, bottom = words[i], words[i + w]
    wx0, wx1 = INTER_TAB_SIZE - ax, ax
    acc = (_spread(top) * wx0 + _spread(top >> 24) * wx1) * (INTER_TAB_SIZE - ay)
    acc += (_spread(bottom) * wx0 + _spread(bottom >> 24) * wx1) * ay
    acc += _ROUND
    out = np.empty(sx.shape + (3,), np.uint8)
    for c in range(3):  # each field < 256 after the shift; the uint8 cast keeps its 8 low bits
        out[..., c] = acc >> (2 * INTER_BITS + c * _FIELD)
    return out


def remap_bilinear(image: np.ndarray, fx: np.ndarray, fy: np.ndarray, border: str = "constant") -> np.ndarray:
    """Bilinear resampling of ``image`` (H, W[, C]) uint8 or float at source positions ``fx``, ``fy`` given in
    1/32 px (integer arrays of the output's shape), OpenCV's fixed-point way (module docstring).

    uint8 in -> uint8 out, bit-exact with OpenCV; float in -> float32 out. ``border``: see ``BORDERS``."""
    if border not in BORDERS:
        raise ValueError(f"border must be one of {BORDERS}; got {border!r}")
    img = np.asarray(image)
    h, w = img.shape[:2]
    sx, sy = fx >> INTER_BITS, fy >> INTER_BITS
    ax, ay = fx & (INTER_TAB_SIZE - 1), fy & (INTER_TAB_SIZE - 1)
    if img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3 and sys.byteorder == "little" and sx.size:
        x0, y0, x1, y1 = int(sx.min()), int(sy.min()), int(sx.max()), int(sy.max())
        if img.flags.c_contiguous and x0 >= 0 and y0 >= 0 and x1 < w - 1 and y1 < h - 1:
            out = _remap_rgb_inside(img, sx, sy, ax, ay)
            if out is not None:
                return out
        elif border != "reflect101" and (x1 - x0 + 3) * (y1 - y0 + 3) <= 4 * h * w:
            # positions reach past the border (a face crop at the frame's edge, a letterbox): the same sums on the
            # window they read, its outside filled as the border rule says (edge pixels repeated, or zeros), so the
            # fast path applies; one spare row keeps the last 8-byte word inside the buffer
            rows, cols = np.arange(y0, y1 + 3), np.arange(x0, x1 + 2)
            window = np.take(np.take(img, np.clip(rows, 0, h - 1), axis=0), np.clip(cols, 0, w - 1), axis=1)
            if border == "constant":
                window[(rows < 0) | (rows >= h)] = 0
                window[:, (cols < 0) | (cols >= w)] = 0
            out = _remap_rgb_inside(window, sx - x0, sy - y0, ax, ay)
            if out is not None:
                return out
    flat = img.reshape(h * w, -1)
    x0, in_x0 = _border_index(sx, w, border)
    x1, in_x1 = _border_index(sx + 1, w, border)
    y0, in_y0 = _border_index(sy, h, border)
    y1, in_y1 = _border_index(sy + 1, h, border)
    wx0, wx1 = INTER_TAB_SIZE - ax, ax
    wy0, wy1 = INTER_TAB_SIZE - ay, ay
    if border == "constant":  # a neighbour outside the image contributes 0
        wx0, wx1, wy0, wy1 = wx0 * in_x0, wx1 * in_x1, wy0 * in_y0, wy1 * in_y1
    r0, r1 = (y0 * w).ravel(), (y1 * w).ravel()
    c0, c1 = x0.ravel(), x1.ravel()
    weights = ((wy0 * wx0).ravel(), (wy0 * wx1).ravel(), (wy1 * wx0).ravel(), (wy1 * wx1).ravel())
    if img.dtype == np.uint8:
        acc = np.zeros((r0.size, flat.shape[1]), np.int32)
        for idx, wt in zip((r0 + c0, r0 + c1, r1 + c0, r1 + c1), weights):
            acc += flat[idx] * wt.astype(np.int32)[:, None]
        acc += 1 << (2 * INTER_BITS - 1)
        acc >>= 2 * INTER_BITS
        out = np.clip(acc, 0, 255).astype(np.uint8)
    else:
        acc = np.zeros((r0.size, flat.shape[1]), np.float32)
        norm = np.float32(1.0 / INTER_TAB_SIZE**2)
        for idx, wt in zip((r0 + c0, r0 + c1, r1 + c0, r1 + c1), weights):
            acc += flat[idx].astype(np.float32, copy=False) * (wt.astype(np.float32) * norm)[:, None]
        out = acc
    return out.reshape(fx.shape + img.shape[2:])


def warp_perspective(image: np.ndarray, inverse: np.ndarray, out_hw: tuple[int, int], border: str = "constant") -> np.ndarray:
    """``image`` resampled (bilinear) through the homography ``inverse`` (3, 3, output px -> source px) onto an
    ``out_hw`` image: ``cv::warpPerspective(..., INTER_LINEAR | WARP_INVERSE_MAP)``, bit-exact on uint8."""
    return remap_bilinear(image, *perspective_positions(inverse, out_hw), border)


def warp_affine(image: np.ndarray, inverse: np.ndarray, out_hw: tuple[int, int], border: str = "constant") -> np.ndarray:
    """``image`` resampled (bilinear) through the affine map ``inverse`` (2, 3, output px -> source px) onto an
    ``out_hw`` image: ``cv::warpAffine(..., INTER_LINEAR | WARP_INVERSE_MAP)``, bit-exact on uint8."""
    return remap_bilinear(image, *affine_positions(inverse, out_hw), border)


def inside_source(inverse: np.ndarray, out_hw: tuple[int, int], src_hw: tuple[int, int]) -> np.ndarray:
    """(H, W) bool: output pixels whose nearest source pixel lies inside a ``src_hw`` image, for the affine map
    ``inverse`` (2, 3) (= ``cv::warpAffine`` of an all-ones image, ``INTER_NEAREST | WARP_INVERSE_MAP``)."""
    x, y = affine_positions(inverse, out_hw, bits=0)
    return (x >= 0) & (x < src_hw[1]) & (y >= 0) & (y < src_hw[0])


# ----------------------------------------------------------------------------------------------- polygons
def convex_hull(points: np.ndarray) -> np.ndarray:
    """(K, 2) vertices of the convex hull of ``points`` (N, 2), in order around it (``scipy.spatial.ConvexHull``)."""
    from scipy.spatial import ConvexHull

    pts = np.asarray(points, np.float64)
    return pts[ConvexHull(pts).vertices]


def _clip_line(w: int, h: int, x1: int, y1: int, x2: int, y2: int) -> tuple[int, int, int, int]:
    """Integer segment clipped to the image [0, w-1] x [0, h-1] with OpenCV's ``clipLine`` arithmetic (a segment
    wholly outside comes back partly moved, as there)."""
    right, bottom = w - 1, h - 1

    def code(x, y, with_y=True):
        return (x < 0) + (x > right) * 2 + ((y < 0) * 4 + (y > bottom) * 8 if with_y else 0)

    c1, c2 = code(x1, y1), code(x2, y2)
    if (c1 & c2) == 0 and (c1 | c2) != 0:
        if c1 & 12:
            a = 0 if c1 < 8 else bottom
            x1 += int((a - y1) * (x2 - x1) / (y2 - y1))
            y1, c1 = a, code(x1, a, False)
        if c2 & 12:
            a = 0 if c2 < 8 else bottom
            x2 += int((a - y2) * (x2 - x1) / (y2 - y1))
            y2, c2 = a, code(x2, a, False)
        if (c1 & c2) == 0 and (c1 | c2) != 0:
            if c1:
                a = 0 if c1 == 1 else right
                y1 += int((a - x1) * (y2 - y1) / (x2 - x1))
                x1 = a
            if c2:
                a = 0 if c2 == 1 else right
                y2 += int((a - x2) * (y2 - y1) / (x2 - x1))
                x2 = a
    return x1, y1, x2, y2


def _lines(mask: np.ndarray, x0: np.ndarray, y0: np.ndarray, x1: np.ndarray, y1: np.ndarray) -> None:
    """Draw 8-connected lines between integer pixels (int64 arrays of endpoints) into ``mask`` as OpenCV's
    ``line(LINE_8)``: a segment not wholly inside the image is clipped first (``_clip_line``), then each is drawn
    from its left end, the minor coordinate stepping when it is more than half a pixel behind; all in one pass."""
    h, w = mask.shape
    x0, y0, x1, y1 = (np.array(a, dtype=np.int64) for a in (x0, y0, x1, y1))
    inside = (x0 >= 0) & (x0 < w) & (y0 >= 0) & (y0 < h) & (x1 >= 0) & (x1 < w) & (y1 >= 0) & (y1 < h)
    for e in np.flatnonzero(~inside):
        x0[e], y0[e], x1[e], y1[e] = _clip_line(w, h, int(x0[e]), int(y0[e]), int(x1[e]), int(y1[e]))
    swap = x1 < x0  # from the left end
    x0, x1 = np.where(swap, x1, x0), np.where(swap, x0, x1)
    y0, y1 = np.where(swap, y1, y0), np.where(swap, y0, y1)
    dx, dy = x1 - x0, y1 - y0
    n = np.maximum(dx, np.abs(dy))
    counts = n + 1
    k = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)  # 0..n per segment
    x0, y0, dx, dy, n = (np.repeat(a, counts) for a in (x0, y0, dx, dy, n))
    n2 = 2 * np.maximum(n, 1)  # n = 0: the single point (x0, y0) either way
    major_x = dx >= np.abs(dy)
    xs = np.where(major_x, x0 + k, x0 + (2 * k * dx + n2 // 2 - 1) // n2)
    ys = np.where(major_x, y0 + np.sign(dy) * ((2 * k * np.abs(dy) + n2 // 2 - 1) // n2), y0 + np.sign(dy) * k)
    ok = (xs >= 0) & (xs < w) & (ys >= 0) & (ys < h)  # a clipped segment wholly outside draws nothing
    mask[ys[ok], xs[ok]] = True


_XY_SHIFT = 16  # OpenCV's fixed point for polygon edges


def fill_polygon(shape: tuple[int, int], points: np.ndarray) -> np.ndarray:
    """(H, W) bool mask of the polygon ``points`` (N, 2) float pixels (x, y) (even-odd rule), rasterised exactly
    as OpenCV's ``fillPoly(..., LINE_8, shift=4)`` of the points rounded to 1/16 px: vertex rows rounded half up;
    on each row, the pixels from ceil(left edge x) to floor(right edge x), edges stepped in 16-bit fixed point;
    plus the 8-connected outline between the vertices rounded to whole pixels. Edges that leave the image run
    along their clipped whole-pixel segment, as in OpenCV."""
    h, w = shape
    mask = np.zeros((h, w), bool)
    if len(points) < 2:
        return mask
    q = np.round(np.asarray(points, np.float64) * 16.0).astype(np.int64)  # 1/16 px
    fx = q[:, 0] << (_XY_SHIFT - 4)  # x in 1/65536 px
    ry = (q[:, 1] + 8) >> 4  # rows, rounded half up
    rx = (fx + (1 << (_XY_SHIFT - 1))) >> _XY_SHIFT  # whole-pixel vertices of the outline
    j = np.arange(len(q)) - 1  # edge e runs from vertex j[e] = e - 1 to vertex e
    _lines(mask, rx[j], ry[j], rx, ry)
    keep = ry[j] != ry  # horizontal edges cross no row
    x0, y0, x1, y1 = fx[j][keep], ry[j][keep], fx[keep], ry[keep]
    c0x, c0y, c1x, c1y = x0.copy(), y0.copy(), x1.copy(), y1.copy()
    rx0, rx1 = rx[j][keep], rx[keep]
    outside = ~((rx0 >= 0) & (rx0 < w) & (rx1 >= 0) & (rx1 < w) & (y0 >= 0) & (y0 < h) & (y1 >= 0) & (y1 < h))
    for e in np.flatnonzero(outside):  # an edge leaving the image steps along its clipped whole-pixel segment
        cx0, cy0, cx1, cy1 = _clip_line(w, h, int(rx0[e]), int(y0[e]), int(rx1[e]), int(y1[e]))
        if cy0 != cy1:
            c0x[e], c0y[e], c1x[e], c1y[e] = cx0 << _XY_SHIFT, cy0, cx1 << _XY_SHIFT, cy1
    num, den = c1x - c0x, c1y - c0y
    step = np.abs(num) // np.abs(den) * np.where((num >= 0) == (den >= 0), 1, -1)  # C's truncating division
    down = y0 < y1
    top, bottom = np.minimum(y0, y1), np.maximum(y0, y1)
    xtop = np.where(down, c0x, c1x) + (top - np.where(down, c0y, c1y)) * step
    if top.size:
        rows = np.arange(max(int(top.min()), 0), min(int(bottom.max()), h))
        if rows.size:
            active = (rows[:, None] >= top[None, :]) & (rows[:, None] < bottom[None, :])  # (rows, edges)
            big = np.iinfo(np.int64).max
            xs = np.where(active, xtop[None, :] + (rows[:, None] - top[None, :]) * step[None, :], big)
            xs.sort(axis=1)
            cols = np.arange(w)
            for k in range(0, xs.shape[1] - 1, 2):  # even-odd pairs of crossings, left to right
                ok = xs[:, k + 1] != big
                if not ok.any():  # sorted: no row has more crossings
                    break
                lo = (xs[ok, k] + (1 << _XY_SHIFT) - 1) >> _XY_SHIFT
                hi = xs[ok, k + 1] >> _XY_SHIFT
                mask[rows[ok]] |= (cols[None, :] >= lo[:, None]) & (cols[None, :] <= hi[:, None])
    return mask


def _cdiv(a: int, b: int) -> int:
    """C's integer division (truncates toward zero)."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def _lines_subpixel(mask: np.ndarray, x1: np.ndarray, y1: np.ndarray, x2: np.ndarray, y2: np.ndarray) -> None:
    """Draw lines between points in 1/65536 px (int64 arrays) into ``mask``, as OpenCV's ``Line2`` (the outline of
    ``fillConvexPoly`` with sub-pixel vertices): a segment not wholly inside the image is clipped first, then each
    is stepped one pixel along its major axis from the lower end, the minor coordinate in fixed point, each point
    rounded half up; all in one pass."""
    h, w = mask.shape
    right, bottom = (w << _XY_SHIFT) - 1, (h << _XY_SHIFT) - 1
    x1, y1, x2, y2 = (np.array(a, dtype=np.int64) for a in (x1, y1, x2, y2))
    inside = (x1 >= 0) & (x1 <= right) & (y1 >= 0) & (y1 <= bottom) & (x2 >= 0) & (x2 <= right) & (y2 >= 0) & (y2 <= bottom)
    for e in np.flatnonzero(~inside):
        x1[e], y1[e], x2[e], y2[e] = _clip_line(w << _XY_SHIFT, h << _XY_SHIFT, int(x1[e]), int(y1[e]), int(x2[e]), int(y2[e]))
    one = 1 << _XY_SHIFT
    dx, dy = x2 - x1, y2 - y1
    major_x = np.abs(dx) > np.abs(dy)
    swap = np.where(major_x, dx < 0, dy < 0)  # from the lower end along the major axis
    x1, x2 = np.where(swap, x2, x1), np.where(swap, x1, x2)
    y1, y2 = np.where(swap, y2, y1), np.where(swap, y1, y2)
    dx, dy = x2 - x1, y2 - y1

    def cdiv(a, b):  # C's truncating division
        return np.abs(a) // np.abs(b) * np.where((a >= 0) == (b >= 0), 1, -1)

    xs_ = np.where(major_x, one, cdiv(dx << _XY_SHIFT, np.abs(dy) | 1))
    ys_ = np.where(major_x, cdiv(dy << _XY_SHIFT, np.abs(dx) | 1), one)
    counts = np.maximum(np.where(major_x, dx, dy) >> _XY_SHIFT, -1) + 1
    k = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
    x1, y1, xs_, ys_ = (np.repeat(a, counts) for a in (x1, y1, xs_, ys_))
    px = (x1 + (one >> 1) + k * xs_) >> _XY_SHIFT
    py = (y1 + (one >> 1) + k * ys_) >> _XY_SHIFT
    ok = (px >= 0) & (px < w) & (py >= 0) & (py < h)
    mask[py[ok], px[ok]] = True


def fill_convex_polygon(shape: tuple[int, int], points: np.ndarray) -> np.ndarray:
    """(H, W) bool mask of the convex polygon ``points`` (N, 2) float pixels (x, y), rasterised as OpenCV's
    ``fillConvexPoly(..., LINE_8, shift=4)`` of the points rounded to 1/16 px: walking down both sides from the
    top vertex, each row filled from round(left x) to round(right x) (edges stepped in 16-bit fixed point), plus
    the sub-pixel outline."""
    h, w = shape
    mask = np.zeros((h, w), bool)
    v = np.round(np.asarray(points, np.float64) * 16.0).astype(np.int64)  # 1/16 px
    n = len(v)
    if n == 0:
        return mask
    up = _XY_SHIFT - 4
    vx, vy = [int(a) for a in v[:, 0]], [int(a) for a in v[:, 1]]
    prev = np.arange(n) - 1
    _lines_subpixel(mask, v[prev, 0] << up, v[prev, 1] << up, v[:, 0] << up, v[:, 1] << up)
    imin = int(np.argmin(v[:, 1]))  # the first topmost vertex
    xmin, xmax = (min(vx) + 8) >> 4, (max(vx) + 8) >> 4
    ymin, ymax = (min(vy) + 8) >> 4, (max(vy) + 8) >> 4
    if n < 3 or xmax < 0 or ymax < 0 or xmin >= w or ymin >= h:
        return mask
    ymax = min(ymax, h - 1)
    # two edges walking from the top vertex: forward (di = 1) and backward (di = n - 1) around the polygon
    idx, di, ex, edx, ye = [imin, imin], [1, n - 1], [-(1 << _XY_SHIFT)] * 2, [0, 0], [ymin, ymin]
    edges = n
    y = ymin
    while True:
        for i in range(2):
            if y >= ye[i]:
                idx0 = idx[i]
                j = (idx0 + di[i]) % n
                while edges > 0:
                    edges -= 1
                    ty = (vy[j] + 8) >> 4
                    if ty > y:
                        xs, xe = vx[idx0] << up, vx[j] << up
                        ye[i] = ty
                        edx[i] = _cdiv((xe - xs) * 2 + (ty - y), 2 * (ty - y))
                        ex[i] = xs
                        idx[i] = j
                        break
                    idx0 = j
                    j = (j + di[i]) % n
                else:
                    edges -= 1
        if y >= 0:
            left, right = (1, 0) if ex[0] > ex[1] else (0, 1)
            x1 = (ex[left] + (1 << (_XY_SHIFT - 1))) >> _XY_SHIFT
            x2 = (ex[right] + (1 << (_XY_SHIFT - 1))) >> _XY_SHIFT
            if x2 >= 0 and x1 < w:
                mask[y, max(x1, 0):min(x2, w - 1) + 1] = True
        if edges < 0:  # the last row is still filled
            break
        ex[0] += edx[0]
        ex[1] += edx[1]
        y += 1
        if y > ymax:
            break
    return mask
