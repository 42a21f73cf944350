r"""Parameter sweeps as one batched SGD run: a grid of settings × repetitions ↔ M trajectories.

A :class:`Grid` holds named axes (for example η and σ) and a number of repetitions.
Its :meth:`~Grid.column` gives, for each of the :math:`M = (\text{cells})\times\text{reps}`
trajectories, the value of one axis, as a 1-d tensor to pass to
:func:`~lojasgd.sgd.simulate` (``eta=grid.column("eta")``,
``MLNoise(sigma=grid.column("sigma"))``, per-trajectory ``theta0`` or ``radius``), so that
the whole sweep is one tensor program. Per-trajectory outcomes are folded back into the
grid with :meth:`~Grid.per_cell`, :meth:`~Grid.counts` and :meth:`~Grid.intervals`.

Layout: trajectories are ordered cell by cell (C order over the axes), the ``reps``
repetitions of a cell contiguous: trajectory m belongs to cell ``m // reps``.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from . import stats

__all__ = ["Grid"]


class Grid:
    """A rectangular grid of settings, each repeated ``reps`` times, laid out as M trajectories.

    Args:
        reps: repetitions per cell (an integer ≥ 1).
        **axes: the axes, in order, each a non-empty 1-d sequence of finite numbers.

    Example:
        >>> g = Grid(3, eta=[0.1, 0.2], sigma=[0.0, 1.0, 2.0])
        >>> g.shape, g.n_traj
        ((2, 3), 18)
    """

    def __init__(self, reps: int, **axes) -> None:
        if isinstance(reps, bool) or not isinstance(reps, (int, np.integer)) or reps < 1:
            raise ValueError(f"reps={reps!r} must be an integer >= 1")
        if not axes:
            raise ValueError("give at least one axis, e.g. Grid(100, eta=[0.1, 0.2])")
        self.reps = int(reps)
        self.axes: dict[str, np.ndarray] = {}
        for name, values in axes.items():
            arr = np.asarray(values, dtype=float)
            if arr.ndim != 1 or arr.size == 0:
                raise ValueError(f"axis {name!r} must be a non-empty 1-d sequence, got shape {arr.shape}")
            if not np.all(np.isfinite(arr)):
                raise ValueError(f"axis {name!r} must be finite")
            self.axes[name] = arr

    @property
    def names(self) -> tuple[str, ...]:
        """The axis names, in order."""
        return tuple(self.axes)

    @property
    def shape(self) -> tuple[int, ...]:
        """The grid shape (one length per axis)."""
        return tuple(a.size for a in self.axes.values())

    @property
    def n_cells(self) -> int:
        """Number of cells (settings)."""
        return int(np.prod(self.shape))

    @property
    def n_traj(self) -> int:
        """M = n_cells · reps, the number of trajectories of the batched run."""
        return self.n_cells * self.reps

    def values(self, name: str) -> np.ndarray:
        """The value of axis ``name`` at every cell: an array of the grid's shape (``meshgrid`` ij)."""
        if name not in self.axes:
            raise KeyError(f"no axis {name!r}; axes are {self.names}")
        k = self.names.index(name)
        shape = [1] * len(self.shape)
        shape[k] = self.shape[k]
        return np.broadcast_to(self.axes[name].reshape(shape), self.shape).copy()

    def column(self, name: str, *, dtype: torch.dtype = torch.float64, device="cpu") -> Tensor:
        """The value of axis ``name`` for each of the M trajectories: a tensor of shape (M,)."""
        flat = torch.as_tensor(self.values(name).reshape(-1), dtype=dtype, device=device)
        return flat.repeat_interleave(self.reps)

    def per_cell(self, x) -> np.ndarray:
        """Per-trajectory values (length M) as an array of shape ``(*grid.shape, reps)``."""
        arr = np.asarray(x)
        if arr.shape[:1] != (self.n_traj,):
            raise ValueError(f"expected {self.n_traj} per-trajectory values, got shape {arr.shape}")
        return arr.reshape(*self.shape, self.reps, *arr.shape[1:])

    def counts(self, mask) -> np.ndarray:
        """How many trajectories of each cell satisfy a boolean ``mask`` (length M); integers of the grid's shape."""
        m = np.asarray(mask)
        if m.dtype != bool:
            raise TypeError(f"mask must be boolean, got dtype {m.dtype}")
        return self.per_cell(m).sum(axis=-1)

    def intervals(self, counts, *, level: float = 0.95, method: str = "wilson") -> tuple[np.ndarray, np.ndarray]:
        """Confidence limits (low, high) for the proportion ``counts / reps`` in every cell.

        ``counts`` has the grid's shape (e.g. from :meth:`counts`); ``method`` is ``"wilson"``
        or ``"exact"`` (Clopper–Pearson), see :mod:`lojasgd.stats`.
        """
        c = np.asarray(counts)
        if c.shape != self.shape:
            raise ValueError(f"counts must have the grid's shape {self.shape}, got {c.shape}")
        low, high = np.empty(self.shape), np.empty(self.shape)
        for idx in np.ndindex(*self.shape):
            iv = stats.proportion_interval(int(c[idx]), self.reps, level, method)
            low[idx], high[idx] = iv.low, iv.high
        return low, high

    def __repr__(self) -> str:
        axes = ", ".join(f"{n}[{a.size}]" for n, a in self.axes.items())
        return f"Grid({axes}, reps={self.reps}, M={self.n_traj})"
