r"""Boundary validation for the whole package: one place, one set of rules.

Every public function of :mod:`lojasgd` checks its arguments here before it computes
anything, and inner code trusts what these functions return. The rules:

* **Real numbers.** Accepted: Python ``int`` and ``float``, numpy integer and floating
  scalars, 0-d numpy arrays and 0-d torch tensors of a real dtype (and, where an argument
  may be an array, numpy arrays, torch tensors and sequences of such numbers). Refused with
  :class:`TypeError`: ``bool`` (of any library), complex numbers, strings, ``None`` and
  other objects. Refused with :class:`ValueError`: NaN, ±∞, and values outside the
  argument's range.
* **Integers.** Python ``int``, numpy integer scalars and 0-d integer arrays/tensors; a
  float is refused even when it is integral (a count written ``1e3`` is a float).
* **Shapes.** A parameter vector θ must have exactly the landscape's dimension in its last
  axis: extra or missing coordinates are an error, never truncated or broadcast.

Every error message names the argument, shows its value and states the condition broken,
for example ``eta=-0.1 must be > 0``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor

__all__ = [
    "show",
    "real",
    "real_array",
    "scalar_or_array",
    "positive",
    "nonnegative",
    "in_range",
    "integer",
    "flag",
    "is_plus_infinity",
    "seed",
    "choice",
    "instance",
    "theta",
    "per_trajectory",
    "device",
    "float_dtype",
    "levels",
]

#: seeds are stored in 63 bits (torch.Generator.manual_seed and the counter-based stream)
SEED_MAX = 2**63 - 1


def show(value: Any) -> str:
    """A short rendering of a value for an error message: 6 significant digits, or an array's range."""
    if isinstance(value, Tensor):
        value = value.detach().to("cpu")
        if value.dtype == torch.bool or value.is_complex():
            return repr(value.tolist()) if value.numel() <= 6 else f"tensor(shape={tuple(value.shape)}, dtype={value.dtype})"
        value = value.to(torch.float64).numpy()
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        return repr(value)
    if arr.ndim == 0:
        return f"{float(arr):.6g}"
    flat = arr.ravel()
    if flat.size == 0:
        return f"array(shape={arr.shape})"
    if flat.size <= 4:
        return "[" + ", ".join(f"{x:.6g}" for x in flat) + "]"
    finite = flat[np.isfinite(flat)]
    extra = f", {flat.size - finite.size} non-finite" if finite.size < flat.size else ""
    if finite.size == 0:
        return f"array(shape={arr.shape}, all non-finite)"
    return f"array(shape={arr.shape}, min={finite.min():.6g}, max={finite.max():.6g}{extra})"


def _is_bool(value: Any) -> bool:
    if isinstance(value, (bool, np.bool_)):
        return True
    if isinstance(value, np.ndarray) and value.dtype == np.bool_:
        return True
    return isinstance(value, Tensor) and value.dtype == torch.bool


def _real_ndarray(name: str, value: Any) -> np.ndarray:
    """``np.asarray(value)`` if it holds real numbers (integer or floating dtype), else a TypeError."""
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name}={value!r} must be a real number or an array of them") from None
    if arr.dtype == np.bool_:
        raise TypeError(f"{name} must hold real numbers, not bools")
    if arr.dtype.kind == "c":
        raise TypeError(f"{name} must be real, not complex")
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"{name}={value!r} must be a real number or an array of them")
    return arr


def _real_tensor(name: str, value: Tensor) -> Tensor:
    """A tensor that holds real numbers with values (no bool, no complex, not on ``meta``)."""
    if value.dtype == torch.bool:
        raise TypeError(f"{name} must hold real numbers, not bools")
    if value.is_complex():
        raise TypeError(f"{name} must be real, not complex")
    if value.device.type == "meta":
        raise ValueError(f"{name} is a tensor on the meta device, which holds no values")
    return value


def _to_array(name: str, value: Any) -> np.ndarray:
    """``value`` as a float64 ndarray, refusing what is not a real number (TypeError)."""
    if value is None:
        raise TypeError(f"{name}=None must be a real number")
    if _is_bool(value):
        raise TypeError(f"{name}={value!r} must be a real number, not a bool")
    if isinstance(value, (str, bytes)):
        raise TypeError(f"{name}={value!r} must be a real number, not a string")
    if isinstance(value, Tensor):
        return _real_tensor(name, value).detach().to("cpu", torch.float64).numpy()
    if isinstance(value, (complex, np.complexfloating)):
        raise TypeError(f"{name}={value!r} must be real, not complex")
    if isinstance(value, numbers.Real):
        return np.asarray(float(value))
    arr = _real_ndarray(name, value)
    return arr.astype(np.float64)


def _check_range(
    name: str, arr: np.ndarray, lower: float | None, upper: float | None, strict_lower: bool, strict_upper: bool
) -> None:
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}={show(arr)} must be finite")
    if lower is not None:
        bad = arr <= lower if strict_lower else arr < lower
        if np.any(bad):
            raise ValueError(f"{name}={show(arr)} must be {'>' if strict_lower else '>='} {lower:g}")
    if upper is not None:
        bad = arr >= upper if strict_upper else arr > upper
        if np.any(bad):
            raise ValueError(f"{name}={show(arr)} must be {'<' if strict_upper else '<='} {upper:g}")


def real(
    name: str,
    value: Any,
    *,
    lower: float | None = None,
    upper: float | None = None,
    strict_lower: bool = False,
    strict_upper: bool = False,
) -> float:
    """One finite real number as a Python float, within the given bounds.

    Accepts Python and numpy numbers and 0-d arrays or tensors; an array with more than one
    element is refused (use :func:`real_array` where arrays are allowed).
    """
    arr = _to_array(name, value)
    if arr.ndim != 0:
        if arr.size == 1:
            raise ValueError(f"{name} must be a single number, got an array of shape {arr.shape}")
        raise ValueError(f"{name}={show(arr)} must be a single number, not an array")
    _check_range(name, arr, lower, upper, strict_lower, strict_upper)
    return float(arr)


def real_array(name: str, value: Any, *, ndim: int | None = None, nonempty: bool = False, **bounds: Any) -> np.ndarray:
    """Finite real numbers as a float64 ndarray (any shape unless ``ndim`` is given).

    ``bounds`` are those of :func:`real` (``lower``, ``upper``, ``strict_lower``,
    ``strict_upper``), applied entrywise.
    """
    arr = _to_array(name, value)
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must be a {ndim}-d array, got shape {arr.shape}")
    if nonempty and arr.size == 0:
        raise ValueError(f"{name} must not be empty")
    _check_range(name, arr, bounds.get("lower"), bounds.get("upper"), bounds.get("strict_lower", False),
                 bounds.get("strict_upper", False))
    return arr


def scalar_or_array(name: str, value: Any, **bounds: Any) -> float | np.ndarray:
    """Like :func:`real_array`, but a 0-d input comes back as a Python float (numpy broadcasting rules)."""
    arr = real_array(name, value, **bounds)
    return float(arr) if arr.ndim == 0 else arr


def positive(name: str, value: Any) -> float:
    """A finite number > 0."""
    return real(name, value, lower=0.0, strict_lower=True)


def nonnegative(name: str, value: Any) -> float:
    """A finite number >= 0."""
    return real(name, value, lower=0.0)


def in_range(name: str, value: Any, low: float, high: float, *, open_low: bool = False, open_high: bool = False) -> float:
    """A finite number in the interval between ``low`` and ``high`` (closed unless told)."""
    x = real(name, value)
    below = x <= low if open_low else x < low
    above = x >= high if open_high else x > high
    if below or above:
        interval = f"{'(' if open_low else '['}{low:g}, {high:g}{')' if open_high else ']'}"
        raise ValueError(f"{name}={show(x)} must lie in {interval}")
    return x


def integer(name: str, value: Any, *, low: int | None = None, high: int | None = None) -> int:
    """An integer (Python, numpy, or a 0-d integer array/tensor) as a Python int, within bounds."""
    if _is_bool(value):
        raise TypeError(f"{name}={value!r} must be an integer, not a bool")
    if isinstance(value, Tensor):
        if value.ndim != 0 or value.is_floating_point() or value.is_complex():
            raise TypeError(f"{name}={show(value)} must be an integer, got a tensor of dtype {value.dtype} and shape {tuple(value.shape)}")
        value = int(value.item())
    elif isinstance(value, np.ndarray):
        if value.ndim != 0 or value.dtype.kind not in "iu":
            raise TypeError(f"{name}={show(value)} must be an integer, got an array of dtype {value.dtype} and shape {value.shape}")
        value = int(value)
    elif isinstance(value, (int, np.integer)):
        value = int(value)
    else:
        raise TypeError(f"{name}={value!r} must be an integer, got {type(value).__name__}")
    if (low is not None and value < low) or (high is not None and value > high):
        if low is not None and high is not None:
            raise ValueError(f"{name}={value} must be an integer with {low} <= {name} <= {high}")
        cond = f">= {low}" if low is not None else f"<= {high}"
        raise ValueError(f"{name}={value} must be an integer {cond}")
    return value


def is_plus_infinity(value: Any) -> bool:
    """True for +∞ given as a real number of any type (a bool is never infinite)."""
    if _is_bool(value) or isinstance(value, (str, bytes)) or value is None:
        return False
    try:
        arr = _to_array("value", value)
    except (TypeError, ValueError):
        return False
    return arr.ndim == 0 and float(arr) == math.inf


def flag(name: str, value: Any) -> bool:
    """A boolean switch (Python or numpy bool)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name}={value!r} must be True or False")
    return bool(value)


def seed(name: str, value: Any) -> int:
    """A seed: an integer in [0, 2**63 − 1]."""
    return integer(name, value, low=0, high=SEED_MAX)


def choice(name: str, value: Any, options: Sequence[Any]) -> Any:
    """One of ``options`` (compared with ``==``)."""
    if isinstance(value, str) or not isinstance(value, (list, dict, set)):
        for opt in options:
            if type(value) is type(opt) and value == opt:
                return value
    raise ValueError(f"{name}={value!r} must be one of {tuple(options)}")


def instance(name: str, value: Any, cls: type | tuple[type, ...]) -> Any:
    """``value`` if it is an instance of ``cls``, else a TypeError naming the expected type."""
    if not isinstance(value, cls):
        def qual(c: type) -> str:
            return "torch.nn.Module" if c is torch.nn.Module else c.__name__

        want = qual(cls) if isinstance(cls, type) else " or ".join(qual(c) for c in cls)
        raise TypeError(f"{name} must be a {want}, got {type(value).__name__}")
    return value


def device(name: str, value: Any) -> torch.device:
    """A torch device that holds storage and is available here (``meta`` is refused)."""
    if isinstance(value, bool) or not isinstance(value, (str, torch.device)):
        raise TypeError(f"{name}={value!r} must be a device name such as 'cpu' or 'cuda', or a torch.device")
    try:
        dev = torch.device(value)
    except RuntimeError as err:
        raise ValueError(f"{name}={value!r} is not a device: {err}") from None
    if dev.type == "meta":
        raise ValueError(f"{name}={value!r}: the meta device holds no values, so nothing can be simulated on it")
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"{name}={value!r} but CUDA is not available on this machine")
    if dev.type not in ("cpu", "cuda", "mps", "xpu"):
        raise ValueError(f"{name}={value!r} must be 'cpu' or 'cuda' (or another device with storage)")
    return dev


def float_dtype(name: str, value: Any) -> torch.dtype:
    """A floating torch dtype."""
    if not (isinstance(value, torch.dtype) and value.is_floating_point):
        raise TypeError(f"{name}={value!r} must be a floating torch.dtype such as torch.float64")
    return value


def levels(name: str, value: Any) -> tuple[float, ...]:
    """A sequence of probability levels in [0, 1] as a tuple of floats."""
    if isinstance(value, (str, bytes)) or _is_bool(value):
        raise TypeError(f"{name}={value!r} must be a sequence of numbers in [0, 1]")
    arr = real_array(name, value, lower=0.0, upper=1.0)
    if arr.ndim > 1:
        raise ValueError(f"{name} must be a 1-d sequence, got shape {arr.shape}")
    return tuple(float(q) for q in np.atleast_1d(arr))


def theta(
    name: str,
    value: Any,
    dim: int,
    *,
    ndim: int | tuple[int, ...] | None = None,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
) -> Tensor:
    """Parameter vectors as a floating tensor whose last axis has exactly ``dim`` entries.

    ``ndim`` restricts the number of axes (1 for one θ, 2 for a batch of shape (M, n); a tuple
    allows several). Integer input is converted to ``dtype`` (default: float64 for numpy or
    Python input, torch's default dtype for integer tensors). Refuses bools, complex numbers,
    non-finite entries and a wrong trailing dimension.
    """
    if value is None or isinstance(value, (str, bytes)):
        raise TypeError(f"{name}={value!r} must be an array or tensor of real numbers")
    if _is_bool(value):
        raise TypeError(f"{name} must hold real numbers, not bools")
    if isinstance(value, Tensor):
        t = _real_tensor(name, value)
    else:
        arr = _real_ndarray(name, value)
        if arr.dtype.kind != "f":
            arr = arr.astype(np.float64)
        elif not arr.flags.writeable:
            arr = arr.copy()  # torch cannot share a read-only buffer (np.load, broadcast_to)
        t = torch.as_tensor(arr)
    if not t.is_floating_point():
        t = t.to(torch.get_default_dtype() if dtype is None else dtype)
    if dtype is not None or device is not None:
        t = t.to(dtype=dtype, device=device)
    allowed = (ndim,) if isinstance(ndim, int) else ndim
    def shape_text(k: int) -> str:
        return f"({dim},)" if k == 1 else "(" + ", ".join(["M"] * (k - 1) + [str(dim)]) + ")"

    want = " or ".join(shape_text(k) for k in allowed) if allowed else f"(..., {dim})"
    if t.ndim == 0 or t.shape[-1] != dim or (allowed is not None and t.ndim not in allowed):
        raise ValueError(f"{name} must have shape {want} for a landscape of dimension {dim}, got {tuple(t.shape)}")
    if not bool(torch.isfinite(t).all()):
        raise ValueError(f"{name}={show(t)} must be finite")
    return t


def per_trajectory(
    name: str,
    value: Any,
    M: int,
    *,
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float64,
    positive: bool = False,
    nonnegative: bool = False,
) -> Tensor:
    """A number, or one number per trajectory (shape (M,)), as a length-M tensor on ``device``."""
    arr = _to_array(name, value) if not isinstance(value, Tensor) else None
    if isinstance(value, Tensor):
        t = _real_tensor(name, value).detach().to(device=device, dtype=dtype)
    else:
        t = torch.as_tensor(arr, dtype=dtype, device=device)
    if t.ndim == 0:
        t = t.expand(M).clone()
    if tuple(t.shape) != (M,):
        raise ValueError(f"{name} must be a number or have shape ({M},) (one per trajectory), got {tuple(t.shape)}")
    shown = show(arr) if arr is not None and arr.ndim == 0 else show(t)
    if not bool(torch.isfinite(t).all()):
        raise ValueError(f"{name}={shown} must be finite")
    if positive and bool((t <= 0).any()):
        raise ValueError(f"{name}={shown} must be > 0")
    if nonnegative and bool((t < 0).any()):
        raise ValueError(f"{name}={shown} must be >= 0")
    return t
