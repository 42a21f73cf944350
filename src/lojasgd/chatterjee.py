r"""Chatterjee's criterion: gradient flow in a ball where the local Łojasiewicz condition holds.

Chapter 2 proves (Proposition ``prop-gradient-flow``): if :math:`\alpha = \alpha(\theta_0, r) > 0`
on :math:`B = \bar B(\theta_0, r)`, then as long as the gradient flow
:math:`\theta'(t) = -\nabla F(\theta(t))` stays in B,

.. math:: F(\theta(t)) \le e^{-\alpha t} F(\theta_0), \qquad
          \int_0^t |\theta'(s)|\,ds \le \frac{2}{\sqrt\alpha}\bigl(\sqrt{F(\theta_0)} - \sqrt{F(\theta(t))}\bigr)
          \le 2\sqrt{F(\theta_0)/\alpha},

so under Chatterjee's criterion :math:`4F(\theta_0) < r^2\alpha(\theta_0, r)` the flow never leaves
B and converges to a zero of F. This module integrates the flow accurately
(:func:`gradient_flow`, with the path length as an extra coordinate) so that these bounds can
be checked, and gives the criterion's region for the hyperbola :math:`F(a, b) = (ab-1)^2/2`
(Proposition ``prop-hyperbola-region``): some r works iff :math:`|ab - 1| < (a^2+b^2)/4`, and the
best radius is :math:`|\theta_0|/2`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from scipy.integrate import solve_ivp

from .landscapes import Landscape, as_point

__all__ = [
    "GradientFlow",
    "gradient_flow",
    "hyperbola_criterion_margin",
    "hyperbola_best_radius",
]


@dataclass(frozen=True)
class GradientFlow:
    r"""A solution of :math:`\theta' = -\nabla F(\theta)` sampled at times ``t``.

    Attributes:
        t: sample times :math:`0 = t_0 < \dots < t_{R-1}`, shape (R,).
        theta: :math:`\theta(t_j)`, shape (R, n).
        loss: :math:`F(\theta(t_j))`, shape (R,).
        path_length: :math:`\int_0^{t_j}|\theta'(s)|\,ds = \int_0^{t_j}|\nabla F(\theta(s))|\,ds`,
            integrated with the flow, shape (R,).
    """

    t: np.ndarray
    theta: np.ndarray
    loss: np.ndarray
    path_length: np.ndarray

    @property
    def distance(self) -> np.ndarray:
        r""":math:`|\theta(t_j) - \theta_0|`, shape (R,); never larger than ``path_length``."""
        return np.linalg.norm(self.theta - self.theta[0], axis=-1)


def gradient_flow(
    landscape: Landscape,
    theta0,
    t_end: float,
    *,
    n_eval: int = 401,
    rtol: float = 1e-10,
    atol: float = 1e-12,
) -> GradientFlow:
    r"""Integrate the gradient flow :math:`\theta' = -\nabla F(\theta)`, :math:`\theta(0) = \theta_0`, on [0, t_end].

    The state is augmented by the path length :math:`s(t) = \int_0^t|\nabla F(\theta(u))|\,du`
    (so :math:`s' = |\nabla F(\theta)|`), and the system is solved by ``scipy.integrate.solve_ivp``
    with the eighth-order Dormand–Prince method (DOP853) in float64.

    Args:
        landscape: the loss F (its ``grad`` is evaluated at one point at a time).
        theta0: the starting point θ₀, shape (n,).
        t_end: final time T > 0.
        n_eval: number R ≥ 2 of equally spaced sample times in [0, T].
        rtol, atol: tolerances passed to ``solve_ivp`` (both > 0).

    Returns:
        A :class:`GradientFlow`.
    """
    t0 = as_point(landscape, theta0)
    if isinstance(t_end, bool) or not isinstance(t_end, (int, float)) or not math.isfinite(t_end) or t_end <= 0:
        raise ValueError(f"t_end={t_end!r} must be a finite number > 0")
    if isinstance(n_eval, bool) or not isinstance(n_eval, int) or n_eval < 2:
        raise ValueError(f"n_eval={n_eval!r} must be an integer >= 2")
    for name, tol in (("rtol", rtol), ("atol", atol)):
        if not (isinstance(tol, (int, float)) and math.isfinite(tol) and tol > 0):
            raise ValueError(f"{name}={tol!r} must be a finite number > 0")
    land = landscape.to(dtype=torch.float64)
    n = landscape.dim

    def rhs(_t: float, y: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            g = land.grad(torch.from_numpy(y[:n]).unsqueeze(0))[0].numpy()
        return np.concatenate([-g, [np.linalg.norm(g)]])

    times = np.linspace(0.0, float(t_end), n_eval)
    y0 = np.concatenate([t0.numpy(), [0.0]])
    sol = solve_ivp(rhs, (0.0, float(t_end)), y0, method="DOP853", t_eval=times, rtol=rtol, atol=atol)
    if not sol.success:
        raise RuntimeError(f"solve_ivp failed: {sol.message}")
    theta = sol.y[:n].T.copy()
    with torch.no_grad():
        loss = land.loss(torch.from_numpy(theta)).numpy()
    return GradientFlow(t=sol.t, theta=theta, loss=loss, path_length=sol.y[n].copy())


def _hyperbola_points(theta0) -> np.ndarray:
    arr = np.asarray(theta0, dtype=float)
    if arr.ndim == 0 or arr.shape[-1] != 2:
        raise ValueError(f"theta0 must have shape (..., 2), got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError("theta0 must be finite")
    return arr


def hyperbola_criterion_margin(theta0) -> np.ndarray | float:
    r"""The margin :math:`(a^2+b^2)/4 - |ab-1|` of Chatterjee's criterion on the hyperbola (Proposition ``prop-hyperbola-region``).

    For :math:`F(a, b) = (ab-1)^2/2` and :math:`\alpha(\theta_0, r) = 2(|\theta_0|-r)^2`
    (:math:`0 < r < |\theta_0|`; α = 0 once the ball contains the origin),

    .. math:: \max_{0<r<|\theta_0|} r^2\alpha(\theta_0, r) - 4F(\theta_0)
              = \frac{|\theta_0|^4}{8} - 2(ab-1)^2
              = 2\Bigl(\frac{a^2+b^2}{4} - |ab-1|\Bigr)\Bigl(\frac{a^2+b^2}{4} + |ab-1|\Bigr),

    so some radius satisfies :math:`4F(\theta_0) < r^2\alpha(\theta_0, r)` iff the margin is positive.

    Args:
        theta0: points (a, b), shape (..., 2).

    Returns:
        The margin, shape (...) (a float for a single point).
    """
    arr = _hyperbola_points(theta0)
    a, b = arr[..., 0], arr[..., 1]
    margin = (a**2 + b**2) / 4 - np.abs(a * b - 1)
    return float(margin) if np.ndim(margin) == 0 else margin


def hyperbola_best_radius(theta0) -> np.ndarray | float:
    r"""The radius :math:`|\theta_0|/2` that maximises :math:`r^2\alpha(\theta_0, r) = 2r^2(|\theta_0|-r)^2` on the hyperbola.

    Args:
        theta0: points (a, b), shape (..., 2), none of them the origin.

    Returns:
        :math:`|\theta_0|/2`, shape (...) (a float for a single point).
    """
    arr = _hyperbola_points(theta0)
    rho = np.linalg.norm(arr, axis=-1)
    if np.any(rho == 0):
        raise ValueError("theta0 must not be the origin: every ball around 0 has α = 0")
    r = rho / 2
    return float(r) if np.ndim(r) == 0 else r
