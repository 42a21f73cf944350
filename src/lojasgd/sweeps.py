r"""Parameter sweeps as one batched SGD run: grids of settings, exit frequencies over many starts.

* :class:`Grid` — a grid of settings × repetitions laid out as M trajectories;
* :func:`exit_sweep` — exit frequencies over many starting points from one run, with every
  quantity in Theorem 3.1(2)'s chain of inequalities
  :math:`P(\tau<\infty) \le P(P_\infty > r) \le \mathbb E P_\infty/r \le K(\bar\eta)\sqrt{F(\theta_0)}/r`
  (the triangle inequality, Markov's inequality, Theorem 3.1(1)), per start: the exit count
  with its confidence interval, the count of paths longer than r with its interval, and the
  first two moments of the path length before exit.

A :class:`Grid` holds named axes (for example η and σ) and a number of repetitions.
Its :meth:`~Grid.column` gives, for each of the :math:`M = (\text{cells})\times\text{reps}`
trajectories, the value of one axis, as a 1-d tensor to pass to
:func:`~lojasgd.sgd.simulate` (``eta=grid.column("eta")``,
``MLNoise(sigma=grid.column("sigma"))``, per-trajectory ``theta0`` or ``r``), so that
the whole sweep is one tensor program. Per-trajectory outcomes are folded back into the
grid with :meth:`~Grid.per_cell`, :meth:`~Grid.counts` and :meth:`~Grid.intervals`.

Layout: trajectories are ordered cell by cell (C order over the axes), the ``reps``
repetitions of a cell contiguous: trajectory m belongs to cell ``m // reps``.

Sharded sweeps (the scripts' ``--shard i/n`` and ``--merge``): :func:`parse_shard` reads ``i/n``,
:func:`save_shard` writes one slice's per-trajectory outcomes with the settings that identify the
run, and :func:`merge_shards` checks that the files are the n slices of one run and concatenates
them. On the counter-based stream a trajectory's outcome does not depend on the slice, so the merged
outcomes, and every summary computed from them, are exactly those of one run. Any scheduler (a job
array, ``xargs -P``, several GPUs) can run the slices.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from . import stats, validation
from .landscapes import Landscape
from .noise import Noise
from .sgd import SGDResult, simulate

__all__ = ["Grid", "ExitSweep", "exit_sweep", "parse_shard", "save_shard", "merge_shards"]


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
        reps = validation.integer("reps", reps, low=1)
        if not axes:
            raise ValueError("give at least one axis, e.g. Grid(100, eta=[0.1, 0.2])")
        self.reps = int(reps)
        self.axes: dict[str, np.ndarray] = {}
        for name, values in axes.items():
            self.axes[name] = validation.real_array(f"axis {name!r}", values, ndim=1, nonempty=True)

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


@dataclass
class ExitSweep:
    r"""Per-start summaries of an exit experiment (arrays of length S, one entry per start).

    Attributes:
        theta0: the starting points, shape (S, n).
        F0: :math:`F(\theta_0)` per start.
        r: r per start.
        n_per: trajectories per start.
        n_exits: how many left the ball within the run.
        exit_intervals: confidence intervals (:class:`~lojasgd.stats.Interval`) for P(τ < ∞).
        n_long_paths: how many had path length before exit :math:`P_\infty > r`.
        long_path_intervals: confidence intervals for :math:`P(P_\infty > r)`.
        path_mean: (path_mean, path_sem) sample mean of :math:`P_\infty` and its standard error.
        path_sem: see ``path_mean``.
        path_sq_mean: sample mean of :math:`P_\infty^2`.
        result: the underlying :class:`~lojasgd.sgd.SGDResult` (trajectory m belongs to
            start ``m // n_per``).
    """

    theta0: np.ndarray
    F0: np.ndarray
    r: np.ndarray
    n_per: int
    n_exits: np.ndarray
    exit_intervals: list[stats.Interval]
    n_long_paths: np.ndarray
    long_path_intervals: list[stats.Interval]
    path_mean: np.ndarray
    path_sem: np.ndarray
    path_sq_mean: np.ndarray
    result: SGDResult

    @property
    def exit_frequency(self) -> np.ndarray:
        """Observed exit fraction per start."""
        return self.n_exits / self.n_per

    @property
    def exit_low(self) -> np.ndarray:
        """Lower ends of the exit-probability intervals."""
        return np.array([iv.low for iv in self.exit_intervals])

    @property
    def exit_high(self) -> np.ndarray:
        """Upper ends of the exit-probability intervals."""
        return np.array([iv.high for iv in self.exit_intervals])


def exit_sweep(
    landscape: Landscape,
    noise: Noise,
    starts,
    *,
    n_per: int,
    eta: float,
    r: float | np.ndarray,
    steps: int,
    seed: int = 0,
    stop_tol: float | None = None,
    level: float = 0.95,
    method: str = "wilson",
) -> ExitSweep:
    r"""Run ``n_per`` SGD trajectories from each start at once and summarise the exits per start.

    Args:
        landscape, noise: the problem.
        starts: the S starting points θ₀ (also the balls' centres), shape (S, n).
        n_per: trajectories per start, ≥ 1.
        eta: the constant step η > 0.
        r: r > 0, one number or one per start (shape (S,)).
        steps: SGD steps per trajectory.
        seed: seed of the run.
        stop_tol: passed to :func:`~lojasgd.sgd.simulate` (stop once every trajectory has
            left or has F ≤ stop_tol; needs noise that vanishes at the minimum).
        level, method: confidence level and method (``"wilson"`` or ``"exact"``) of the intervals.

    Returns:
        An :class:`ExitSweep`.
    """
    validation.instance("landscape", landscape, Landscape)
    n_per = validation.integer("n_per", n_per, low=1)
    th = validation.theta("starts", starts, landscape.dim, ndim=2, dtype=torch.float64)
    S = th.shape[0]
    if S == 0:
        raise ValueError("starts must contain at least one starting point")
    r = validation.per_trajectory("r", r, S, positive=True).numpy()
    theta0 = th.repeat_interleave(n_per, dim=0)
    res = simulate(
        landscape, noise, theta0, eta=eta, r=torch.tensor(np.repeat(r, n_per)), steps=steps,
        seed=seed, stop_tol=stop_tol,
    )
    exited = res.exited.reshape(S, n_per)
    path = res.path_length.reshape(S, n_per)
    long = path > r[:, None]
    n_exits = exited.sum(1)
    n_long = long.sum(1)
    with torch.no_grad():
        F0 = landscape.to(dtype=torch.float64).loss(th).numpy()
    sem = path.std(1, ddof=1) / np.sqrt(n_per) if n_per > 1 else np.full(S, np.nan)
    return ExitSweep(
        theta0=th.numpy(),
        F0=F0,
        r=r,
        n_per=n_per,
        n_exits=n_exits,
        exit_intervals=[stats.proportion_interval(int(k), n_per, level, method) for k in n_exits],
        n_long_paths=n_long,
        long_path_intervals=[stats.proportion_interval(int(k), n_per, level, method) for k in n_long],
        path_mean=path.mean(1),
        path_sem=sem,
        path_sq_mean=(path**2).mean(1),
        result=res,
    )


# --------------------------------------------------------------------------- sharded sweeps
def parse_shard(text: str | None) -> tuple[int, int] | None:
    """``"i/n"`` → ``(i, n)`` with 0 ≤ i < n (``None`` stays ``None``): the i-th of n slices of the trajectories."""
    if text is None:
        return None
    parts = str(text).split("/")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise ValueError(f"--shard={text!r} must be i/n with integers 0 <= i < n, e.g. 0/4")
    i, n = int(parts[0]), int(parts[1])
    if not 0 <= i < n:
        raise ValueError(f"--shard={text!r} must be i/n with integers 0 <= i < n, e.g. 0/4")
    return i, n


def save_shard(path, shard: tuple[int, int], outcomes: dict[str, np.ndarray], settings: dict) -> None:
    """Write one slice's per-trajectory ``outcomes`` (arrays whose first axis is the slice's trajectories).

    ``settings`` (numbers and strings) identify the run; :func:`merge_shards` refuses files whose
    settings differ.
    """
    i, n = shard
    fields = {f"out_{k}": np.asarray(v) for k, v in outcomes.items()}
    meta = {f"set_{k}": np.asarray(v) for k, v in settings.items()}
    np.savez_compressed(path, shard_index=i, shard_count=n, **fields, **meta)


def merge_shards(paths, settings: dict) -> dict[str, np.ndarray]:
    """Concatenate the per-trajectory outcomes of the n shard files of one run, in slice order.

    Every file must carry ``settings`` exactly, the same n, and each index 0, …, n − 1 exactly once;
    otherwise ``ValueError`` says which file and what differs.
    """
    if isinstance(paths, (str, bytes)) or not paths:
        raise ValueError("--merge needs the list of shard files")
    parts = {}
    for p in paths:
        d = np.load(p)
        if "shard_index" not in d.files:
            raise ValueError(f"{p} is not a shard file (no shard_index)")
        for k, v in settings.items():
            if f"set_{k}" not in d.files or not np.array_equal(d[f"set_{k}"], np.asarray(v)):
                got = d[f"set_{k}"] if f"set_{k}" in d.files else "nothing"
                raise ValueError(f"{p} was run with {k}={got}, not {v}")
        i, n = int(d["shard_index"]), int(d["shard_count"])
        if i in parts:
            raise ValueError(f"{p} is shard {i}/{n} again")
        parts[i] = (n, {k[4:]: d[k] for k in d.files if k.startswith("out_")})
    counts = {n for n, _ in parts.values()}
    if len(counts) != 1 or sorted(parts) != list(range(counts.pop())):
        raise ValueError(f"the files are shards {sorted(parts)} of {sorted({n for n, _ in parts.values()})}: "
                         "need each of 0, ..., n-1 of one n exactly once")
    names = parts[0][1].keys()
    return {k: np.concatenate([parts[i][1][k] for i in sorted(parts)]) for k in names}
