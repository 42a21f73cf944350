r"""Second-moment (Chebyshev) bounds on the path length and the exit probability (Proposition 3.7).

Theorem 3.1(1) bounds the *mean* path length before exit, :math:`\mathbb E P_\infty \le K(\bar\eta)\sqrt{F(\theta_0)}`
with :math:`P_\infty = \sum_{k<\tau}|\theta_{k+1}-\theta_k|`, and Markov's inequality turns it into
:math:`P(\tau<\infty) \le K\sqrt{F(\theta_0)}/r`, of order :math:`\sqrt{F(\theta_0)}`. Chapter 3's
Proposition 3.7 bounds the *second* moment instead. With the upper gradient constant

.. math:: \Lambda = \sup\{|\nabla F(\theta)|^2/F(\theta) : \theta\in B,\ F(\theta)>0\} \ \ (\ge \alpha)

and a constant step η, Minkowski's inequality and Lemma 3.3 give

.. math::

    \bigl(\mathbb E P_\infty^2\bigr)^{1/2} \le \sqrt{(\Lambda+\sigma)F(\theta_0)}\,\sum_{k\ge0}\eta\,q(\eta)^{k/2}
    = \frac{\eta\sqrt{(\Lambda+\sigma)F(\theta_0)}}{1-\sqrt{q(\eta)}}
    \le \sqrt{\frac{\Lambda+\sigma}{\alpha+\sigma}}\,K(\eta)\sqrt{F(\theta_0)},

and Chebyshev's inequality :math:`P(\tau<\infty) \le P(P_\infty > r) \le \mathbb E P_\infty^2/r^2`
gives an exit bound of order :math:`F(\theta_0)`, the square of Theorem 3.1(2)'s up to the
factor :math:`(\Lambda+\sigma)/(\alpha+\sigma)`. On the flat valley :math:`\Lambda = \alpha = 2`.
"""

from __future__ import annotations

import numpy as np

from . import theory
from .theory import _nonnegative, _positive, _real

__all__ = ["path_rms_bound", "exit_probability_bound_l2"]


def _Lambda(Lambda, alpha) -> float | np.ndarray:
    Lambda = _positive("Lambda", Lambda)
    if np.any(np.asarray(Lambda) < np.asarray(alpha)):
        raise ValueError(
            f"Lambda={Lambda} must be >= alpha={alpha}: the supremum of |grad F|^2/F over the ball "
            "is at least its infimum"
        )
    return Lambda


def path_rms_bound(F0: float, eta: float, alpha: float, L: float, sigma: float, Lambda: float) -> float:
    r"""Proposition 3.7: :math:`(\mathbb E P_\infty^2)^{1/2} \le \eta\sqrt{(\Lambda+\sigma)F_0}/(1-\sqrt{q(\eta)})`.

    Args:
        F0: initial loss F(θ₀) ≥ 0.
        eta: the constant step, in ``(0, eta_max)``.
        alpha, L, sigma: the constants of Assumptions 1, 2 and 4.
        Lambda: :math:`\Lambda = \sup_B |\nabla F|^2/F \ge \alpha`.

    Returns:
        The bound on the root-mean-square path length before exit (a float, or an array
        when an argument is an array).
    """
    F0 = _nonnegative("F0", F0)
    q = theory.contraction_factor(eta, alpha, L, sigma)
    Lambda = _Lambda(Lambda, _real("alpha", alpha))
    eta = _real("eta", eta)
    if np.any(np.asarray(q) < 0):
        raise ValueError(
            f"q(eta)={q} must be >= 0: under Assumptions 1-4, 0 <= E F(theta0 - eta g) <= q(eta) F(theta0) "
            "(Lemma 3.3), so alpha, L, sigma are inconsistent"
        )
    out = eta * np.sqrt((Lambda + sigma) * F0) / (1 - np.sqrt(q))
    return float(out) if np.ndim(out) == 0 else out


def exit_probability_bound_l2(
    F0: float, r: float, eta: float, alpha: float, L: float, sigma: float, Lambda: float
) -> float:
    r"""Proposition 3.7: :math:`P(\tau<\infty) \le \min\{1,\ \eta^2(\Lambda+\sigma)F_0/((1-\sqrt{q(\eta)})^2r^2)\}`.

    Args:
        F0: initial loss F(θ₀) ≥ 0.
        r: radius of the ball, r > 0.
        eta: the constant step, in ``(0, eta_max)``.
        alpha, L, sigma: the constants of Assumptions 1, 2 and 4.
        Lambda: :math:`\Lambda = \sup_B |\nabla F|^2/F \ge \alpha`.
    """
    r = _positive("r", r)
    rms = path_rms_bound(F0, eta, alpha, L, sigma, Lambda)
    out = np.minimum(1.0, (np.asarray(rms) / r) ** 2)
    return float(out) if np.ndim(out) == 0 else out
