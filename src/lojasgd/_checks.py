"""Boundary validation shared by the numpy-facing modules (theory, valley, rademacher).

Errors name the argument, its value and the violated condition, as the book's functions
promise; inner code trusts what these return.
"""

from __future__ import annotations

import numpy as np


def show(value: float | np.ndarray) -> str:
    """A short rendering of a scalar (6 significant digits) or of an array's range."""
    arr = np.asarray(value, dtype=float)
    if arr.ndim == 0:
        return f"{float(arr):.6g}"
    flat = arr.ravel()
    return f"array(min={flat.min():.6g}, max={flat.max():.6g})" if flat.size else "array([])"


def real_array(name: str, value, *, lower: float | None = None, strict: bool = False) -> np.ndarray:
    """``value`` as a float ndarray, finite, and ``> lower`` (``strict``) or ``>= lower``.

    Raises TypeError for booleans, strings and non-numeric input, ValueError naming the
    argument otherwise.
    """
    if isinstance(value, bool):
        raise TypeError(f"{name}={value!r} must be a real number, not a bool")
    if isinstance(value, (str, bytes)):
        raise TypeError(f"{name}={value!r} must be a real number, not a string")
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"{name}={value!r} must be a real number or an array of them") from None
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}={show(arr)} must be finite")
    if lower is not None:
        if strict and np.any(arr <= lower):
            raise ValueError(f"{name}={show(arr)} must be > {lower:g}")
        if not strict and np.any(arr < lower):
            raise ValueError(f"{name}={show(arr)} must be >= {lower:g}")
    return arr
