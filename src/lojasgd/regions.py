r"""Where Theorem 3.1 speaks on the hyperbola: certified constants over grids of (θ₀, r, η, σ).

For the two-layer scalar net :math:`F(a, b) = (ab-1)^2/2` with machine-learning noise
:math:`g = \nabla F + \sqrt{\sigma F}\,\xi`, :math:`|\xi| \le 1`, chapter 6 (Lemma 6.3) shows:

* :math:`\|\nabla^2F(\theta)\|_2 = |\theta|^2/2 + \sqrt{|\theta|^4/4 + 3(ab)^2 - 4ab + 1}`
  (:func:`hessian_norm`), and its maximum over a closed disc lies on the boundary circle
  (every :math:`v^\top\nabla^2F(\theta)v`, :math:`|v| = 1`, is a quadratic with a direction of
  positive curvature, so their maximum has no interior local maximum);
* :math:`ab-1` is harmonic, so the maximum of :math:`|ab-1|` over a disc lies on the circle too,
  and :math:`|g| \le |ab-1|\,(|\theta| + \sqrt{\sigma/2})`;
* on the circle :math:`|\theta - c| = R`, :math:`|ab-1|` and :math:`\|\nabla^2F\|_2` change by at
  most :math:`\Lambda` times the arc length, with :math:`\Lambda = |c| + R` and
  :math:`\Lambda = 2\sqrt3\,(|c| + R)`: so the largest value at :math:`m` equally spaced angles
  plus :math:`\pi R\Lambda/m` is an upper bound on the maximum (:func:`circle_max` with ``lipschitz``).

Hence, on :math:`B = \bar B(\theta_0, r)` with :math:`r < |\theta_0|`:
:math:`\alpha = 2(|\theta_0|-r)^2`,
:math:`G_g = \max_{\partial B}|ab-1|\,(|\theta_0| + r + \sqrt{\sigma/2})` bounds every stochastic
gradient on B, and :math:`L = \max\{\|\nabla^2F\|_2 : |\theta-\theta_0| = r + \eta G_g\}` on
:math:`U = \bar B(\theta_0, r+\eta G_g)`. :func:`hyperbola_constants` evaluates these with
certified upper bounds for the two maxima over circles (so :math:`\eta_{\max}` and the region
where Theorem 3.1 is informative can only be drawn too small, never too large) and Theorem 3.1's
verdict, element-wise over broadcast arrays — the theory region of the phase diagrams.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import theory

__all__ = ["hessian_norm", "circle_max", "HyperbolaConstants", "hyperbola_constants"]


def hessian_norm(a, b):
    r"""Spectral norm of :math:`\nabla^2F = \begin{pmatrix} b^2 & 2ab-1\\ 2ab-1 & a^2\end{pmatrix}` for :math:`F=(ab-1)^2/2`.

    Equals the largest eigenvalue :math:`|\theta|^2/2 + \sqrt{|\theta|^4/4 + 3(ab)^2 - 4ab + 1}`
    (the trace :math:`|\theta|^2 \ge 0` makes it dominate the other eigenvalue in modulus).
    Arrays broadcast.
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    rho2, p = a**2 + b**2, a * b
    return rho2 / 2 + np.sqrt(rho2**2 / 4 + 3 * p**2 - 4 * p + 1)


def circle_max(fn, center, radius, *, n_angles: int = 2048, refine: int = 40, lipschitz=None) -> np.ndarray:
    r"""Maximum of ``fn(a, b)`` over the circles :math:`|\theta - c| = R`, element-wise.

    ``center`` has shape (..., 2) and ``radius`` shape (...) (broadcast).

    * Without ``lipschitz`` (an estimate, never above the true maximum up to rounding): the
      maximum over ``n_angles`` equally spaced angles, refined by ``refine`` golden-section
      steps in the bracket around the best angle.
    * With ``lipschitz`` :math:`\Lambda` (broadcast with ``radius``), a bound on the rate of
      change of ``fn`` per unit arc length along the circle (for example a bound on
      :math:`|\nabla\mathrm{fn}|` on the disc): the certified upper bound
      :math:`\max_j \mathrm{fn}(\theta_j) + \pi R\Lambda/m` with :math:`m` = ``n_angles``, since
      every point of the circle lies within arc length :math:`\pi R/m` of a grid point.
    """
    if isinstance(n_angles, bool) or not isinstance(n_angles, int) or n_angles < 8:
        raise ValueError(f"n_angles={n_angles!r} must be an integer >= 8")
    center = np.asarray(center, dtype=float)
    radius = np.asarray(radius, dtype=float)
    if center.shape[-1:] != (2,):
        raise ValueError(f"center must have shape (..., 2), got {center.shape}")
    if not (np.all(np.isfinite(radius)) and np.all(radius >= 0)):
        raise ValueError("radius must be finite and >= 0")
    shape = np.broadcast_shapes(center.shape[:-1], radius.shape)
    if lipschitz is not None:
        lipschitz = np.asarray(lipschitz, dtype=float)
        if not (np.all(np.isfinite(lipschitz)) and np.all(lipschitz >= 0)):
            raise ValueError("lipschitz must be finite and >= 0")
        shape = np.broadcast_shapes(shape, lipschitz.shape)
    c = np.broadcast_to(center, shape + (2,)).reshape(-1, 2)
    R = np.broadcast_to(radius, shape).reshape(-1)

    def value(phi: np.ndarray) -> np.ndarray:  # phi: (m, k)
        return fn(c[:, :1] + R[:, None] * np.cos(phi), c[:, 1:] + R[:, None] * np.sin(phi))

    h = 2 * np.pi / n_angles
    grid = np.arange(n_angles) * h
    vals = value(np.broadcast_to(grid, (c.shape[0], n_angles)))
    if lipschitz is not None:
        Lam = np.broadcast_to(lipschitz, shape).reshape(-1)
        return (vals.max(axis=1) + R * Lam * h / 2).reshape(shape)
    best = np.argmax(vals, axis=1)
    lo, hi = grid[best] - h, grid[best] + h
    g = (np.sqrt(5) - 1) / 2
    x1, x2 = hi - g * (hi - lo), lo + g * (hi - lo)
    f1, f2 = value(x1[:, None])[:, 0], value(x2[:, None])[:, 0]
    for _ in range(refine):
        left = f1 >= f2  # keep [lo, x2]
        hi = np.where(left, x2, hi)
        lo = np.where(left, lo, x1)
        x1n, x2n = hi - g * (hi - lo), lo + g * (hi - lo)
        f1, f2 = (np.where(left, value(x1n[:, None])[:, 0], f2),
                  np.where(left, f1, value(x2n[:, None])[:, 0]))
        x1, x2 = x1n, x2n
    out = np.maximum(vals.max(axis=1), np.maximum(f1, f2))
    return out.reshape(shape)


@dataclass(frozen=True)
class HyperbolaConstants:
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


def hyperbola_constants(theta0, r, eta, sigma, *, n_angles: int = 2048, certified: bool = True) -> HyperbolaConstants:
    r"""Certified constants of Theorem 3.1 for the hyperbola with machine-learning noise, element-wise.

    Args:
        theta0: starting points, shape (..., 2), with :math:`|\theta_0| > r`.
        r: radii, shape broadcasting with ``theta0[..., 0]``; r > 0.
        eta: constant steps η > 0 (broadcast).
        sigma: noise constants σ ≥ 0 (broadcast).
        n_angles: grid size for the maxima over circles (:func:`circle_max`).
        certified: if True (default), :math:`G_g` and L are certified upper bounds (grid maximum
            plus the Lipschitz margin :math:`\pi R\Lambda/m`); if False, refined grid estimates of
            the maxima (slightly too small), for comparison.

    Returns:
        A :class:`HyperbolaConstants` whose arrays have the broadcast shape.
    """
    theta0 = np.asarray(theta0, dtype=float)
    if theta0.ndim == 0 or theta0.shape[-1] != 2 or not np.all(np.isfinite(theta0)):
        raise ValueError(f"theta0 must be a finite array of shape (..., 2), got shape {theta0.shape}")
    r, eta, sigma = (np.asarray(v, dtype=float) for v in (r, eta, sigma))
    for name, v, low in (("r", r, 0.0), ("eta", eta, 0.0)):
        if not (np.all(np.isfinite(v)) and np.all(v > low)):
            raise ValueError(f"{name} must be finite and > 0")
    if not (np.all(np.isfinite(sigma)) and np.all(sigma >= 0)):
        raise ValueError("sigma must be finite and >= 0")
    norm0 = np.linalg.norm(theta0, axis=-1)
    shape = np.broadcast_shapes(norm0.shape, r.shape, eta.shape, sigma.shape)
    norm0, r, eta, sigma = (np.broadcast_to(v, shape) for v in (norm0, r, eta, sigma))
    th = np.broadcast_to(theta0, shape + (2,))
    if np.any(r >= norm0):
        raise ValueError("r must be below |theta0| (a ball around 0 has alpha = 0)")
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
    return HyperbolaConstants(F0=F0, alpha=alpha, G=G, L=L, eta_max=eta_max, admissible=admissible, K=K,
                              bound=bound, informative=informative)
