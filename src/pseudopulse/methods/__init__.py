"""Training-free rPPG methods: pure functions (T, 3) RGB means or (T, 3, 3) skin correlations -> pulse (T,).

Every wave returned rises with blood volume (the polarity of a contact PPG) and is NOT band-passed (except
CHROM's published in-window filter): run ``pseudopulse.signal.estimate_hr`` on it. Look methods up by name with
``get_method`` / ``METHODS``; ``Method.apply(stmap)`` runs one on an STMap.
"""

from pseudopulse.methods.chrom import chrom
from pseudopulse.methods.green import green
from pseudopulse.methods.ica import fastica, ica
from pseudopulse.methods.lgi import lgi
from pseudopulse.methods.pbv import PBV_SIGNATURE, pbv
from pseudopulse.methods.pos import pos
from pseudopulse.methods.registry import METHOD_ALIASES, METHODS, Method, get_method
from pseudopulse.methods.ssr import ssr, ssr_reference

__all__ = [
    "METHOD_ALIASES",
    "METHODS",
    "Method",
    "PBV_SIGNATURE",
    "chrom",
    "fastica",
    "get_method",
    "green",
    "ica",
    "lgi",
    "pbv",
    "pos",
    "ssr",
    "ssr_reference",
]
