"""Scalar FP and AdvSIMD: fp.py (scalar floating point) and simd.py (AdvSIMD)."""
from . import fp, simd  # noqa: F401
