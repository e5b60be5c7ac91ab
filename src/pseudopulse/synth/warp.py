"""Whole-frame affine warp of the renderer's float32 frames (head motion): bilinear, reflect-101 border.

The renderer needs correct, plausible frames, not OpenCV's arithmetic: only the face network crops and the skin ROI
must resample exactly as OpenCV does, and they use ``face.warp``. So this warp is a plain float one,
``torch.nn.functional.grid_sample`` (bilinear, ``padding_mode="reflection"`` with ``align_corners=True``, which
reflects about the centres of the edge pixels: ``d c b | a b c d | c b a``, OpenCV's ``BORDER_REFLECT_101``).
Source positions are exact up to float32 (~1e-4 px at 640 px), where OpenCV quantises them to 1/32 px; the two
differ by at most ~1/32 of the local gradient per pixel (on the synth scene at 640 x 480: mean 0.06, max 3.8 grey
levels of 255, at the photo's sharpest edges).

Speed, CPU ms per 640 x 480 (320 x 240) RGB float32 frame, one thread: this 8 (2); ``cv2.warpAffine`` 2.7 (0.7);
``face.warp.warp_affine``'s float path 60 (11); ``scipy.ndimage.affine_transform`` per channel 35 (9). The warp
runs on one torch thread: a 3-channel frame is memory-bound, and a second thread on a busy 2-core machine cost
2.5x the CPU time (20 ms) and 2.5x the wall time.
"""

from __future__ import annotations

import numpy as np


class FrameWarper:
    """Warps (H, W, 3) float32 frames of one size through forward affine maps (unmoved px -> frame px, the
    ``effects.head_motion`` convention): output pixel p shows the input at ``inverse(forward) @ p``.

    The returned array is a buffer owned by the warper, overwritten by its next call (the renderer consumes each
    frame before warping the next)."""

    def __init__(self, height: int, width: int):
        import torch

        if height < 2 or width < 2:
            raise ValueError(f"FrameWarper needs a frame of at least 2 x 2 px; got {width}x{height}")
        self._h, self._w = int(height), int(width)
        # pixel (x, y) -> grid_sample's normalised coordinates (align_corners=True: -1, +1 at the edge pixel centres)
        self._to_norm = np.array([[2.0 / (width - 1), 0.0, -1.0], [0.0, 2.0 / (height - 1), -1.0], [0.0, 0.0, 1.0]])
        self._from_norm = np.linalg.inv(self._to_norm)
        self._out = torch.empty((self._h, self._w, 3), dtype=torch.float32)

    def __call__(self, frame: np.ndarray, forward: np.ndarray) -> np.ndarray:
        """``frame`` (H, W, 3) float32 warped by ``forward`` (2, 3): a float32 (H, W, 3) array (the warper's
        buffer)."""
        import torch
        import torch.nn.functional as F

        if frame.shape != (self._h, self._w, 3) or frame.dtype != np.float32:
            raise ValueError(f"FrameWarper({self._w}x{self._h}) warps ({self._h}, {self._w}, 3) float32 frames; "
                             f"got {frame.dtype} {frame.shape}")
        fwd = np.vstack([np.asarray(forward, np.float64), [0.0, 0.0, 1.0]])
        theta = self._to_norm @ np.linalg.inv(fwd) @ self._from_norm  # normalised output -> normalised source
        src = torch.from_numpy(frame).permute(2, 0, 1)[None]  # (1, 3, H, W) view, no copy
        threads = torch.get_num_threads()
        if threads != 1:
            torch.set_num_threads(1)
        try:
            grid = F.affine_grid(torch.from_numpy(theta[None, :2].astype(np.float32)), [1, 3, self._h, self._w],
                                 align_corners=True)
            moved = F.grid_sample(src, grid, mode="bilinear", padding_mode="reflection", align_corners=True)
            self._out.copy_(moved[0].permute(1, 2, 0))
        finally:
            if threads != 1:
                torch.set_num_threads(threads)
        return self._out.numpy()
