r"""Gradient flow :math:`\theta'(t) = -\nabla F(\theta(t))`, integrated accurately (chapter 2).

Chapter 2 proves (Proposition ``prop-gradient-flow``): if :math:`\alpha = \alpha(\theta_0, r) > 0`
on :math:`B = \bar B(\theta_0, r)`, then as long as the gradient flow stays in B,

.. math:: F(\theta(t)) \le e^{-\alpha t} F(\theta_0), \qquad
          \int_0^t |\theta'(s)|\,ds \le \frac{2}{\sqrt\alpha}\bigl(\sqrt{F(\theta_0)} - \sqrt{F(\theta(t))}\bigr)
          \le 2\sqrt{F(\theta_0)/\alpha},

so under Chatterjee's criterion :math:`4F(\theta_0) < r^2\alpha(\theta_0, r)` the flow never leaves
B and converges to a zero of F. :func:`gradient_flow` integrates the flow (DOP853, with the path
length as an extra coordinate) so that these bounds can be checked; it is the η → 0 limit of
gradient descent.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.integrate import solve_ivp

from .. import validation
from ..landscapes import Landscape, as_point

__all__ = ["GradientFlow", "gradient_flow"]


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
    t_end = validation.positive("t_end", t_end)
    n_eval = validation.integer("n_eval", n_eval, low=2)
    rtol = validation.positive("rtol", rtol)
    atol = validation.positive("atol", atol)
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
    if not np.all(np.isfinite(sol.y)):
        raise FloatingPointError("the gradient flow left the finite numbers (a blow-up before t_end)")
    with torch.no_grad():
        loss = land.loss(torch.from_numpy(theta)).numpy()
    return GradientFlow(t=sol.t, theta=theta, loss=loss, path_length=sol.y[n].copy())
