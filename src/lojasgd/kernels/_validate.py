"""The kernels' argument checks, in their calling convention, delegated to :mod:`lojasgd.validation`.

There is one set of rules for the whole package; these adapters only map the kernels'
keyword names (``shape``, ``positive``, ``nonneg``, an exclusive ``high``) onto it.
"""

from __future__ import annotations

import numpy as np

from .. import validation

show = validation.show


def real(name: str, value, *, shape: tuple[int, ...] | None = None, positive: bool = False,
         nonneg: bool = False) -> np.ndarray:
    """``value`` as a float64 ndarray: real, finite, of ``shape`` if given, > 0 or >= 0 if asked."""
    arr = validation.real_array(name, value, lower=0.0 if (positive or nonneg) else None, strict_lower=positive)
    if shape is not None and arr.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {arr.shape}")
    return arr


def per_traj(name: str, value, M: int, *, positive: bool = False, nonneg: bool = False) -> np.ndarray:
    """A number or an (M,) array as a contiguous float64 array of shape (M,)."""
    t = validation.per_trajectory(name, value, M, positive=positive, nonnegative=nonneg)
    return np.ascontiguousarray(t.numpy())


def integer(name: str, value, low: int, high: int | None = None) -> int:
    """An integer with ``low <= value < high`` (``high`` exclusive, as in ``range``)."""
    return validation.integer(name, value, low=low, high=None if high is None else high - 1)


def optional_integer(name: str, value, low: int) -> int | None:
    return None if value is None else integer(name, value, low)


def flag(name: str, value) -> bool:
    return validation.flag(name, value)


def tolerance(name: str, value) -> float | None:
    return None if value is None else validation.nonnegative(name, value)
