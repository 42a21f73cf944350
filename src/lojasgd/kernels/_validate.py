"""Boundary checks of the kernels' entry points (errors name the argument, its value and the condition)."""

from __future__ import annotations

import math

import numpy as np
import torch


def show(arr: np.ndarray) -> str:
    """A scalar to 6 digits, or an array's range."""
    a = np.asarray(arr, dtype=float)
    if a.ndim == 0:
        return f"{float(a):.6g}"
    return f"array(min={np.nanmin(a):.6g}, max={np.nanmax(a):.6g})" if a.size else "array([])"


def real(name: str, value, *, shape: tuple[int, ...] | None = None, positive: bool = False,
         nonneg: bool = False) -> np.ndarray:
    """``value`` as a float64 ndarray: not bool, finite, of ``shape`` if given, > 0 or >= 0 if asked."""
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name}={value!r} must be a real number or array, not a bool")
    if isinstance(value, (str, bytes)):
        raise TypeError(f"{name}={value!r} must be a real number or array, not a string")
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name}={value!r} must be a real number or an array of them") from None
    if arr.dtype == np.bool_:
        raise TypeError(f"{name} must hold real numbers, not booleans")
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if shape is not None and arr.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}={show(arr)} must be finite")
    if positive and np.any(arr <= 0):
        raise ValueError(f"{name}={show(arr)} must be > 0")
    if nonneg and np.any(arr < 0):
        raise ValueError(f"{name}={show(arr)} must be >= 0")
    return arr


def per_traj(name: str, value, M: int, *, positive: bool = False, nonneg: bool = False) -> np.ndarray:
    """A number or an (M,) array as a contiguous float64 array of shape (M,)."""
    arr = real(name, value, positive=positive, nonneg=nonneg)
    if arr.ndim == 0:
        return np.full(M, float(arr))
    if arr.shape != (M,):
        raise ValueError(f"{name} must be a number or have shape ({M},), got {arr.shape}")
    return np.ascontiguousarray(arr)


def integer(name: str, value, low: int, high: int | None = None) -> int:
    """An int (numpy ints accepted, bools refused) with ``low <= value (< high)``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name}={value!r} must be an integer, not {type(value).__name__}")
    v = int(value)
    if v < low or (high is not None and v >= high):
        raise ValueError(f"{name}={v} must be an integer {'>= ' + str(low) if high is None else f'in [{low}, {high})'}")
    return v


def optional_integer(name: str, value, low: int) -> int | None:
    return None if value is None else integer(name, value, low)


def flag(name: str, value) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name}={value!r} must be a bool")
    return bool(value)


def tolerance(name: str, value) -> float | None:
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name}={value!r} must be a number or None")
    v = float(value)
    if not (math.isfinite(v) and v >= 0):
        raise ValueError(f"{name}={v} must be a finite number >= 0")
    return v
