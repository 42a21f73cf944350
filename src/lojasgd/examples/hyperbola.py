r"""The hyperbola :math:`F(a, b) = (ab-1)^2/2` (chapters 1–3 and 6) and everything exact about it.

The two-layer scalar linear network: zeros on the hyperbola ab = 1, non-convex,
:math:`\nabla F = (ab-1)(b, a)` and :math:`|\nabla F|^2 = 2F\,|\theta|^2`, so that
:math:`\alpha(\theta_0, r) = 2(|\theta_0| - r)^2` when :math:`|\theta_0| > r`.

* :class:`Hyperbola` — the landscape (closed-form loss, gradient, Hessian eigenvalues, α);
* :func:`criterion_margin`, :func:`best_radius` — Chatterjee's criterion
  :math:`4F(\theta_0) < r^2\alpha(\theta_0, r)` on the hyperbola (chapter 2): some radius works iff
  :math:`|ab - 1| < (a^2+b^2)/4`, and the best radius is :math:`|\theta_0|/2`;
* :func:`hessian_norm`, :func:`ball_constants` — certified constants of Theorem 3.1 over grids of
  (θ₀, r, η, σ) with machine-learning noise :math:`g = \nabla F + \sqrt{\sigma F}\,\xi`,
  :math:`|\xi| \le 1` (Lemma 6.3).

Lemma 6.3 shows:

* :math:`\|\nabla^2F(\theta)\|_2 = |\theta|^2/2 + \sqrt{|\theta|^4/4 + 3(ab)^2 - 4ab + 1}`
  (:func:`hessian_norm`), and its maximum over a closed disc lies on the boundary circle
  (every :math:`v^\top\nabla^2F(\theta)v`, :math:`|v| = 1`, is a quadratic with a direction of
  positive curvature, so their maximum has no interior local maximum);
* :math:`ab-1` is harmonic, so the maximum of :math:`|ab-1|` over a disc lies on the circle too,
  and :math:`|g| \le |ab-1|\,(|\theta| + \sqrt{\sigma/2})`;
* on the circle :math:`|\theta - c| = R`, :math:`|ab-1|` and :math:`\|\nabla^2F\|_2` change by at
  most :math:`\Lambda` times the arc length, with :math:`\Lambda = |c| + R` and
  :math:`\Lambda = 2\sqrt3\,(|c| + R)`: so the largest value at :math:`m` equally spaced angles
  plus :math:`\pi R\Lambda/m` is an upper bound on the maximum
  (:func:`lojasgd.estimate.circle_max` with ``lipschitz``).

Hence, on :math:`B = \bar B(\theta_0, r)` with :math:`r < |\theta_0|`:
:math:`\alpha = 2(|\theta_0|-r)^2`,
:math:`G_g = \max_{\partial B}|ab-1|\,(|\theta_0| + r + \sqrt{\sigma/2})` bounds every stochastic
gradient on B, and :math:`L = \max\{\|\nabla^2F\|_2 : |\theta-\theta_0| = r + \eta G_g\}` on
:math:`U = \bar B(\theta_0, r+\eta G_g)`. :func:`ball_constants` evaluates these with
certified upper bounds for the two maxima over circles (so :math:`\eta_{\max}` and the region
where Theorem 3.1 is informative can only be drawn too small, never too large) and Theorem 3.1's
verdict, element-wise over broadcast arrays — the theory region of the phase diagrams.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from .. import theory, validation
from ..estimate import circle_max
from ..landscapes import Landscape

__all__ = ["Hyperbola", "criterion_margin", "best_radius", "hessian_norm", "BallConstants", "ball_constants"]


class Hyperbola(Landscape):
    r"""The two-layer scalar linear net :math:`F(a,b) = (ab-1)^2/2` (chapters 1–3).

    Zeros on the hyperbola ab = 1, non-convex, :math:`\nabla F = (ab-1)(b, a)` and
    :math:`|\nabla F|^2 = 2F\,|\theta|^2`, so that
    :math:`\alpha(\theta_0, r) = 2(|\theta_0| - r)^2` when :math:`|\theta_0| > r`.
    """

    dim = 2


    def fused_spec(self) -> tuple[str, dict | None]:
        """The fused kernel of :func:`lojasgd.sgd.simulate` for this landscape (name, parameters)."""
        return "hyperbola", None

    def loss(self, theta: Tensor) -> Tensor:
        return 0.5 * (theta[..., 0] * theta[..., 1] - 1) ** 2

    def grad(self, theta: Tensor) -> Tensor:
        res = theta[..., 0] * theta[..., 1] - 1
        return torch.stack([res * theta[..., 1], res * theta[..., 0]], dim=-1)

    def value_and_grad(self, theta: Tensor) -> tuple[Tensor, Tensor]:
        a, b = theta[..., 0], theta[..., 1]
        res = a * b - 1
        return 0.5 * res**2, torch.stack([res * b, res * a], dim=-1)

    def hessian_eigenvalues(self, theta: Tensor) -> Tensor:
        r"""Both eigenvalues of :math:`\nabla^2F = [[b^2, 2ab-1],[2ab-1, a^2]]`, shape ``(..., 2)``."""
        a, b = theta[..., 0], theta[..., 1]
        mean = 0.5 * (a**2 + b**2)
        rad = torch.sqrt(0.25 * (b**2 - a**2) ** 2 + (2 * a * b - 1) ** 2)
        return torch.stack([mean - rad, mean + rad], dim=-1)

    @staticmethod
    def alpha(theta0: Sequence[float] | Tensor, r: float) -> float:
        r"""Closed form :math:`\alpha(\theta_0, r) = 2(|\theta_0| - r)^2`, requiring :math:`|\theta_0| > r`."""
        t0 = validation.theta("theta0", theta0, 2, ndim=1, dtype=torch.float64)
        r = validation.positive("r", r)
        rho = float(torch.linalg.vector_norm(t0))
        if rho <= r:
            raise ValueError(f"r={r:g} must be below |theta0|={rho:.6g}: the ball contains 0, where α = 0")
        return 2 * (rho - r) ** 2


def _points(theta0) -> np.ndarray:
    """Points (a, b) as a float array of shape (..., 2), validated."""
    return validation.theta("theta0", theta0, 2, dtype=torch.float64).numpy()


def criterion_margin(theta0) -> np.ndarray | float:
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
    arr = _points(theta0)
    a, b = arr[..., 0], arr[..., 1]
    margin = (a**2 + b**2) / 4 - np.abs(a * b - 1)
    return float(margin) if np.ndim(margin) == 0 else margin


def best_radius(theta0) -> np.ndarray | float:
    r"""The radius :math:`|\theta_0|/2` that maximises :math:`r^2\alpha(\theta_0, r) = 2r^2(|\theta_0|-r)^2` on the hyperbola.

    Args:
        theta0: points (a, b), shape (..., 2), none of them the origin.

    Returns:
        :math:`|\theta_0|/2`, shape (...) (a float for a single point).
    """
    arr = _points(theta0)
    rho = np.linalg.norm(arr, axis=-1)
    if np.any(rho == 0):
        raise ValueError("theta0 must not be the origin: every ball around 0 has α = 0")
    r = rho / 2
    return float(r) if np.ndim(r) == 0 else r


def hessian_norm(a, b):
    r"""Spectral norm of :math:`\nabla^2F = \begin{pmatrix} b^2 & 2ab-1\\ 2ab-1 & a^2\end{pmatrix}` for :math:`F=(ab-1)^2/2`.

    Equals the largest eigenvalue :math:`|\theta|^2/2 + \sqrt{|\theta|^4/4 + 3(ab)^2 - 4ab + 1}`
    (the trace :math:`|\theta|^2 \ge 0` makes it dominate the other eigenvalue in modulus).
    Arrays broadcast.
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    rho2, p = a**2 + b**2, a * b
    return rho2 / 2 + np.sqrt(rho2**2 / 4 + 3 * p**2 - 4 * p + 1)


@dataclass(frozen=True)
class BallConstants:
    r"""Constants of Assumptions 1, 2, 4 on the hyperbola and Theorem 3.1's verdict (arrays of one shape).

    Attributes:
        F0: :math:`F(\theta_0)`.
        alpha: :math:`2(|\theta_0|-r)^2` (Assumption 1).
        G: :math:`G_g`, an upper bound on every stochastic gradient on B.
        L: an upper bound on :math:`\max\|\nabla^2F\|_2` over :math:`U=\bar B(\theta_0, r+\eta G_g)`
            (Assumption 2).
        eta_max: :math:`2\alpha/(L(\alpha+\sigma))`.
        admissible: :math:`\eta < \eta_{\max}`.
        K: :math:`K(\eta)` where admissible, else NaN.
        bound: :math:`\min(1, K\sqrt{F_0}/r)` where admissible, else 1.
        informative: admissible and :math:`K\sqrt{F_0}/r < 1` (Theorem 3.1(2) guarantees staying).
    """

    F0: np.ndarray
    alpha: np.ndarray
    G: np.ndarray
    L: np.ndarray
    eta_max: np.ndarray
    admissible: np.ndarray
    K: np.ndarray
    bound: np.ndarray
    informative: np.ndarray


def ball_constants(theta0, r, eta, sigma, *, n_angles: int = 2048, certified: bool = True) -> BallConstants:
    r"""Certified constants of Theorem 3.1 for the hyperbola with machine-learning noise, element-wise.

    Args:
        theta0: starting points, shape (..., 2), with :math:`|\theta_0| > r`.
        r: radii, shape broadcasting with ``theta0[..., 0]``; r > 0.
        eta: constant steps η > 0 (broadcast).
        sigma: noise constants σ ≥ 0 (broadcast).
        n_angles: grid size for the maxima over circles (:func:`~lojasgd.estimate.circle_max`).
        certified: if True (default), :math:`G_g` and L are certified upper bounds (grid maximum
            plus the Lipschitz margin :math:`\pi R\Lambda/m`); if False, refined grid estimates of
            the maxima (slightly too small), for comparison.

    Returns:
        A :class:`BallConstants` whose arrays have the broadcast shape.
    """
    theta0 = _points(theta0)
    r = validation.real_array("r", r, lower=0.0, strict_lower=True)
    eta = validation.real_array("eta", eta, lower=0.0, strict_lower=True)
    sigma = validation.real_array("sigma", sigma, lower=0.0)
    n_angles = validation.integer("n_angles", n_angles, low=8)
    certified = validation.flag("certified", certified)
    norm0 = np.linalg.norm(theta0, axis=-1)
    shape = np.broadcast_shapes(norm0.shape, r.shape, eta.shape, sigma.shape)
    norm0, r, eta, sigma = (np.broadcast_to(v, shape) for v in (norm0, r, eta, sigma))
    th = np.broadcast_to(theta0, shape + (2,))
    if np.any(r >= norm0):
        raise ValueError(f"r={validation.show(r)} must be below |theta0|={validation.show(norm0)} (a ball around 0 has alpha = 0)")
    F0 = 0.5 * (th[..., 0] * th[..., 1] - 1) ** 2
    alpha = 2 * (norm0 - r) ** 2
    # rates of change along a circle |theta - c| = R (Lemma 6.3(4)): |grad(ab)| = |theta| <= |c| + R and
    # |d/du Hess F|_F <= 2 sqrt(3) |theta|, which bounds the change of the top eigenvalue (Weyl)
    lip_res = (norm0 + r) if certified else None
    res_max = circle_max(lambda a, b: np.abs(a * b - 1), th, r, n_angles=n_angles, lipschitz=lip_res)
    G = res_max * (norm0 + r + np.sqrt(sigma / 2))
    R_U = r + eta * G
    lip_hess = 2 * np.sqrt(3) * (norm0 + R_U) if certified else None
    L = circle_max(hessian_norm, th, R_U, n_angles=n_angles, lipschitz=lip_hess)
    eta_max = 2 * alpha / (L * (alpha + sigma))
    admissible = eta < eta_max
    K = np.full(shape, np.nan)
    bound = np.ones(shape)
    if np.any(admissible):
        ok = admissible
        K[ok] = theory.path_constant(eta[ok], alpha[ok], L[ok], sigma[ok])
        bound[ok] = np.minimum(1.0, K[ok] * np.sqrt(F0[ok]) / r[ok])
    informative = admissible & (bound < 1)
    return BallConstants(F0=F0, alpha=alpha, G=G, L=L, eta_max=eta_max, admissible=admissible, K=K,
                              bound=bound, informative=informative)
