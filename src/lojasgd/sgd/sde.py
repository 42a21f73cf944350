r"""The small-step limit of SGD with machine-learning noise: an SDE and its Euler–Maruyama scheme.

SGD with step η and machine-learning noise, :math:`\theta_{k+1} = \theta_k - \eta\nabla F(\theta_k) - \eta\sqrt{\sigma F(\theta_k)}\,\xi_k`
with :math:`\mathbb E\xi = 0`, :math:`\operatorname{Cov}\xi = I/n`, has per-step drift
:math:`-\eta\nabla F` and per-step noise covariance :math:`\eta^2\sigma F\,I/n`. Matching both per
unit of time :math:`t = k\eta` gives the SDE

.. math:: d\theta_t = -\nabla F(\theta_t)\,dt + \sqrt{\eta\sigma F(\theta_t)/n}\;dW_t

(:math:`W` a standard Brownian motion in ℝⁿ), in which η is a fixed parameter of the noise
(chapter 6). Its Euler–Maruyama scheme with time step Δt,

.. math:: \theta_{j+1} = \theta_j - \Delta t\,\nabla F(\theta_j) - \sqrt{\eta\sigma F(\theta_j)\,\Delta t}\;\zeta_j,
          \qquad \zeta_j \sim N(0, I/n),

is *exactly* SGD with step Δt, Gaussian directions and noise constant :math:`\eta\sigma/\Delta t`:
:func:`euler_maruyama` runs it through :func:`lojasgd.sgd.simulate`. With Δt = η it is SGD
itself with Gaussian instead of Rademacher directions; Δt → 0 approaches the SDE.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from .. import validation
from ..landscapes import Landscape
from ..noise import MLNoise
from .simulate import SGDResult, simulate

__all__ = ["euler_maruyama"]


def _number_or_vector(name: str, value, *, positive: bool) -> float | Tensor:
    """A number (a float) or one number per trajectory (a float64 tensor), > 0 or >= 0."""
    arr = validation.real_array(name, value, lower=0.0, strict_lower=positive)
    if arr.ndim == 0:
        return float(arr)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a number or a non-empty 1-d array (one per trajectory), got shape {arr.shape}")
    return torch.as_tensor(arr)


def euler_maruyama(
    landscape: Landscape,
    theta0,
    *,
    eta: float | Tensor,
    sigma: float | Tensor,
    dt: float,
    t_max: float,
    r: float | Tensor,
    n_traj: int | None = None,
    seed: int = 0,
    **kwargs,
) -> SGDResult:
    r"""Euler–Maruyama paths of :math:`d\theta = -\nabla F\,dt + \sqrt{\eta\sigma F/n}\,dW` up to time ``t_max``.

    Args:
        landscape: the loss F.
        theta0: start (and centre of the ball), shape (n,) or (M, n).
        eta: the SGD step η whose noise the SDE carries (a number or a length-M tensor), > 0.
        sigma: the noise constant σ ≥ 0 (a number or a length-M tensor).
        dt: the time step Δt > 0 of the scheme.
        t_max: the time horizon; ``ceil(t_max / dt)`` steps are run.
        r: radius r of the ball :math:`\bar B(\theta_0, r)` whose exits are recorded
            (at the grid times jΔt only).
        n_traj: M, required when ``theta0`` has shape (n,).
        seed: seed of the Gaussian increments.
        **kwargs: passed on to :func:`lojasgd.sgd.simulate` (``record_every``, ``device``, …).

    Returns:
        The :class:`~lojasgd.sgd.SGDResult` of the scheme; step j corresponds to time jΔt.
    """
    dt = validation.positive("dt", dt)
    t_max = validation.positive("t_max", t_max)
    eta = _number_or_vector("eta", eta, positive=True)
    sigma = _number_or_vector("sigma", sigma, positive=False)
    scaled = eta * sigma / dt
    steps = max(1, math.ceil(t_max / dt - 1e-9))
    return simulate(landscape, MLNoise(scaled, direction="gaussian"), theta0, eta=dt, r=r, steps=steps,
                    n_traj=n_traj, seed=seed, **kwargs)
