r"""Exit frequencies over many starting points from one batched SGD run (Theorem 3.1(1)–(2)).

Theorem 3.1 bounds, for each starting point θ₀ and the ball :math:`B = \bar B(\theta_0, r)`,
the exit probability through a chain of three inequalities,

.. math::

    P(\tau<\infty) \;\le\; P(P_\infty > r) \;\le\; \frac{\mathbb E P_\infty}{r}
    \;\le\; \frac{K(\bar\eta)\sqrt{F(\theta_0)}}{r},
    \qquad P_\infty = \sum_{k<\tau}|\theta_{k+1}-\theta_k| ,

(the triangle inequality, Markov's inequality, Theorem 3.1(1)). :func:`exit_sweep` runs
``n_per`` trajectories from each of S starting points as one call of
:func:`lojasgd.sgd.simulate` (one start per trajectory) and returns, per start, every
quantity in that chain: the exit count with its confidence interval, the count of paths longer
than r with its interval, and the first two moments of the path length before exit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from . import stats
from .landscapes import Landscape, as_theta
from .noise import Noise
from .sgd import SGDResult, simulate

__all__ = ["ExitSweep", "exit_sweep"]


@dataclass
class ExitSweep:
    r"""Per-start summaries of an exit experiment (arrays of length S, one entry per start).

    Attributes:
        theta0: the starting points, shape (S, n).
        F0: :math:`F(\theta_0)` per start.
        radius: r per start.
        n_per: trajectories per start.
        n_exits: how many left the ball within the run.
        exit_intervals: confidence intervals (:class:`~lojasgd.stats.Interval`) for P(τ < ∞).
        n_long_paths: how many had path length before exit :math:`P_\infty > r`.
        long_path_intervals: confidence intervals for :math:`P(P_\infty > r)`.
        path_mean, path_sem: sample mean of :math:`P_\infty` and its standard error.
        path_sq_mean: sample mean of :math:`P_\infty^2`.
        result: the underlying :class:`~lojasgd.sgd.SGDResult` (trajectory m belongs to
            start ``m // n_per``).
    """

    theta0: np.ndarray
    F0: np.ndarray
    radius: np.ndarray
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
    radius: float | np.ndarray,
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
        radius: r > 0, one number or one per start (shape (S,)).
        steps: SGD steps per trajectory.
        seed: seed of the run.
        stop_tol: passed to :func:`~lojasgd.sgd.simulate` (stop once every trajectory has
            left or has F ≤ stop_tol; needs noise that vanishes at the minimum).
        level, method: confidence level and method (``"wilson"`` or ``"exact"``) of the intervals.

    Returns:
        An :class:`ExitSweep`.
    """
    if isinstance(n_per, bool) or not isinstance(n_per, (int, np.integer)) or n_per < 1:
        raise ValueError(f"n_per={n_per!r} must be an integer >= 1")
    n_per = int(n_per)
    th = as_theta(starts, landscape.dim, name="starts", dtype=torch.float64)
    if th.ndim != 2:
        raise ValueError(f"starts must have shape (S, {landscape.dim}), got {tuple(th.shape)}")
    S = th.shape[0]
    r = np.asarray(radius, dtype=float)
    if r.ndim == 0:
        r = np.full(S, float(r))
    if r.shape != (S,):
        raise ValueError(f"radius must be a number or have shape ({S},), got {r.shape}")
    if not np.all(np.isfinite(r)) or np.any(r <= 0):
        raise ValueError(f"radius={r} must be finite and > 0")
    theta0 = th.repeat_interleave(n_per, dim=0)
    res = simulate(
        landscape, noise, theta0, eta=eta, radius=torch.tensor(np.repeat(r, n_per)), steps=steps,
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
        radius=r,
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
