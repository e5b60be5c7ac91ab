"""Index sets of the 468-point MediaPipe face mesh used for alignment and the skin mask.

The ``FACEMESH_*`` edge lists below are copied verbatim from mediapipe 0.10.21
(``mediapipe/python/solutions/face_mesh_connections.py``, Apache-2.0; see ``weights/NOTICE``): each is a set of
(landmark, landmark) edges of the mesh topology, the same topology as the shipped ``face_landmark.npz`` network.
``mesh_index_sets`` turns them into point sets / ordered polygons.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

N_LANDMARKS = 468

# ---- mediapipe 0.10.21 face_mesh_connections.py (Apache-2.0), edges sorted
FACEMESH_FACE_OVAL: frozenset[tuple[int, int]] = frozenset([
    (10, 338), (21, 54), (54, 103), (58, 132), (67, 109), (93, 234), (103, 67), (109, 10), (127, 162),
    (132, 93), (136, 172), (148, 176), (149, 150), (150, 136), (152, 148), (162, 21), (172, 58), (176, 149),
    (234, 127), (251, 389), (284, 251), (288, 397), (297, 332), (323, 361), (332, 284), (338, 297), (356, 454),
    (361, 288), (365, 379), (377, 152), (378, 400), (379, 378), (389, 356), (397, 365), (400, 377), (454, 323),
])
FACEMESH_LEFT_EYE: frozenset[tuple[int, int]] = frozenset([
    (249, 390), (263, 249), (263, 466), (373, 374), (374, 380), (380, 381), (381, 382), (382, 362), (384, 398),
    (385, 384), (386, 385), (387, 386), (388, 387), (390, 373), (398, 362), (466, 388),
])
FACEMESH_LEFT_EYEBROW: frozenset[tuple[int, int]] = frozenset([
    (276, 283), (282, 295), (283, 282), (293, 334), (295, 285), (296, 336), (300, 293), (334, 296),
])
FACEMESH_RIGHT_EYE: frozenset[tuple[int, int]] = frozenset([
    (7, 163), (33, 7), (33, 246), (144, 145), (145, 153), (153, 154), (154, 155), (155, 133), (157, 173),
    (158, 157), (159, 158), (160, 159), (161, 160), (163, 144), (173, 133), (246, 161),
])
FACEMESH_RIGHT_EYEBROW: frozenset[tuple[int, int]] = frozenset([
    (46, 53), (52, 65), (53, 52), (63, 105), (65, 55), (66, 107), (70, 63), (105, 66),
])
FACEMESH_LIPS: frozenset[tuple[int, int]] = frozenset([
    (0, 267), (13, 312), (14, 317), (17, 314), (37, 0), (39, 37), (40, 39), (61, 146), (61, 185),
    (78, 95), (78, 191), (80, 81), (81, 82), (82, 13), (84, 17), (87, 14), (88, 178), (91, 181),
    (95, 88), (146, 91), (178, 87), (181, 84), (185, 40), (191, 80), (267, 269), (269, 270), (270, 409),
    (310, 415), (311, 310), (312, 311), (314, 405), (317, 402), (318, 324), (321, 375), (324, 308), (375, 291),
    (402, 318), (405, 321), (409, 291), (415, 308),
])


def _points(edges) -> np.ndarray:
    return np.array(sorted({i for e in edges for i in e}), dtype=np.int64)


def _ordered_loop(edges) -> np.ndarray:
    """Walk a closed edge loop (e.g. the face oval) and return its vertex indices in order."""
    adj: dict[int, list[int]] = {}
    for a, b in edges:
        adj.setdefault(a, []).append(b)
        adj.setdefault(b, []).append(a)
    start = min(adj)
    order, prev, cur = [start], None, start
    while True:
        nxt = [n for n in adj[cur] if n != prev]
        if not nxt or nxt[0] == start:
            break
        prev, cur = cur, nxt[0]
        order.append(cur)
        if len(order) > len(adj):
            raise ValueError("edge set is not a simple loop")
    return np.array(order, dtype=np.int64)


@lru_cache(maxsize=1)
def mesh_index_sets() -> dict[str, np.ndarray]:
    """Landmark index arrays: ``face_oval`` (ordered polygon), ``left_eye_region``/``right_eye_region``
    (eye + eyebrow points, excluded via their convex hull), ``lips`` (excluded via convex hull)."""
    return {
        "face_oval": _ordered_loop(FACEMESH_FACE_OVAL),
        "left_eye_region": _points(FACEMESH_LEFT_EYE | FACEMESH_LEFT_EYEBROW),
        "right_eye_region": _points(FACEMESH_RIGHT_EYE | FACEMESH_RIGHT_EYEBROW),
        "lips": _points(FACEMESH_LIPS),
    }


# Alignment anchors: the face-oval ring plus rigid inner points (nose bridge/tip, eye corners).
# Template = mean frontal mesh (Procrustes-aligned mesh of 10 UBFC-rPPG subjects' first frames plus the
# Grace Hopper photo, mirror-symmetrised), scaled so the face-oval bounding box is the unit square.
# Coordinates (x right, y down) in units of the canonical square's side.
ANCHOR_TEMPLATE: dict[int, tuple[float, float]] = {}  # filled below from _TEMPLATE_TEXT

_TEMPLATE_TEXT = """
1 0.4980 0.5989
4 0.4980 0.5599
6 0.4980 0.3571
10 0.4980 0.0000
21 0.0190 0.1507
33 0.1714 0.3080
54 0.0577 0.0900
58 0.0626 0.6688
67 0.2343 0.0147
93 0.0367 0.4814
103 0.1253 0.0433
109 0.3545 0.0019
127 0.0023 0.3117
132 0.0500 0.5668
133 0.3702 0.3239
136 0.1566 0.8207
148 0.4049 0.9907
149 0.2751 0.9244
150 0.2199 0.8813
152 0.4980 1.0000
162 0.0000 0.2173
168 0.4980 0.3063
172 0.1068 0.7538
176 0.3344 0.9632
234 0.0272 0.3963
251 0.9770 0.1507
263 0.8355 0.3108
284 0.9383 0.0900
288 0.9334 0.6688
297 0.7617 0.0147
323 0.9839 0.4792
332 0.8707 0.0433
338 0.6414 0.0019
356 1.0000 0.3034
361 0.9672 0.5688
362 0.6296 0.3246
365 0.8394 0.8207
377 0.5911 0.9907
378 0.7209 0.9244
379 0.7760 0.8813
389 0.9960 0.2173
397 0.8892 0.7538
400 0.6616 0.9632
454 0.9933 0.3943
"""
for _row in _TEMPLATE_TEXT.split("\n"):
    if _row.strip():
        _i, _x, _y = _row.split()
        ANCHOR_TEMPLATE[int(_i)] = (float(_x), float(_y))


def anchor_arrays() -> tuple[np.ndarray, np.ndarray]:
    """(indices (n,), template (n, 2) in unit-square canonical coordinates)."""
    idx = np.array(sorted(ANCHOR_TEMPLATE), dtype=np.int64)
    return idx, np.array([ANCHOR_TEMPLATE[i] for i in idx], dtype=np.float64)
