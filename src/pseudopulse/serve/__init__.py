"""`pseudopulse serve`: a local web page that reads the heart rate from the browser's camera or from an uploaded
video (``app.create_app``).

The web stack (Starlette, uvicorn, websockets) is the optional extra ``pip install 'pseudopulse[serve]'``; only the
modules of this package import it, and this file does not, so ``missing_extra()`` can say what is missing.
"""

from __future__ import annotations

import importlib.util

import numpy as np

EXTRA = "serve"
INSTALL_HINT = "pip install 'pseudopulse[serve]'"
NEEDS = ("starlette", "uvicorn", "websockets")  # import names the extra provides


def missing_extra() -> list[str]:
    """The modules of the serve extra that are not installed (empty when the page can be served)."""
    return [name for name in NEEDS if importlib.util.find_spec(name) is None]


def json_floats(values, digits: int) -> list:
    """A 1-D array as a JSON list rounded to ``digits``, non-finite values as null (JSON has no NaN)."""
    a = np.round(np.asarray(values, np.float64), digits)
    return [float(v) if np.isfinite(v) else None for v in a]
