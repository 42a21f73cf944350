r"""The constants of Theorem 3.1 and Theorem 4.1, as pure functions of floats.

Notation (chapter 2): ``alpha`` is the local Łojasiewicz constant α(θ₀, r) of
Assumption 1, ``L`` the Lipschitz constant of ∇F of Assumption 2, ``sigma`` the
machine-learning-noise constant σ of Assumption 4, ``eta`` a step size η, ``r`` the
radius of the ball B̄(θ₀, r) and ``F0`` the initial loss F(θ₀).

Every function validates its arguments and raises :class:`ValueError` naming the
argument, its value and the violated condition; inner formulas trust their inputs.
Array arguments are accepted where noted and broadcast with numpy rules.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from ._checks import real_array, show

__all__ = [
    "step_size_limit",
    "optimal_step",
    "contraction_factor",
    "path_constant",
    "exit_probability_bound",
    "chatterjee_condition",
    "gd_condition",
    "bounded_noise_exit_lower_bound",
    "bounded_noise_variance",
]


Real = float | np.ndarray


def _scalar_or_array(arr: np.ndarray) -> Real:
    return float(arr) if arr.ndim == 0 else arr


def _real(name: str, value) -> Real:
    """``value`` as a float (scalar input) or a float ndarray; reject non-finite input."""
    return _scalar_or_array(real_array(name, value))


def _positive(name: str, value) -> Real:
    return _scalar_or_array(real_array(name, value, lower=0.0, strict=True))


def _nonnegative(name: str, value) -> Real:
    return _scalar_or_array(real_array(name, value, lower=0.0))


_show = show


def _constants(alpha, L, sigma) -> tuple[Real, Real, Real]:
    return _positive("alpha", alpha), _positive("L", L), _nonnegative("sigma", sigma)


def _step(eta, alpha: Real, L: Real, sigma: Real) -> Real:
    eta = _real("eta", eta)
    eta_max = 2 * alpha / (L * (alpha + sigma))
    if np.any(np.asarray(eta) <= 0):
        raise ValueError(f"eta={_show(eta)} must be > 0")
    if np.any(np.asarray(eta) >= eta_max):
        raise ValueError(
            f"eta={_show(eta)} must be below eta_max={_show(eta_max)} = 2*alpha/(L*(alpha+sigma))"
        )
    return eta


def step_size_limit(alpha: float, L: float, sigma: float) -> float:
    r"""Largest admissible step of Theorem 3.1: :math:`\eta_{\max} = 2\alpha / (L(\alpha+\sigma))`.

    For ``0 < eta < eta_max`` the contraction factor :func:`contraction_factor` is below 1
    and the path constant :func:`path_constant` is positive (Lemmas 3.3 and 3.4).

    Args:
        alpha: local Łojasiewicz constant α > 0 (Assumption 1).
        L: Lipschitz constant of ∇F on U, L > 0 (Assumption 2).
        sigma: machine-learning-noise constant σ ≥ 0 (Assumption 4).

    Returns:
        η_max as a float.
    """
    alpha, L, sigma = _constants(alpha, L, sigma)
    return 2 * alpha / (L * (alpha + sigma))


def optimal_step(alpha: float, L: float, sigma: float) -> float:
    r"""Step minimising the contraction factor: :math:`\eta^* = \alpha / (L(\alpha+\sigma)) = \eta_{\max}/2`.

    At this step :math:`q(\eta^*) = 1 - \alpha^2/(2L(\alpha+\sigma))` and
    :math:`K(\eta^*) = 4\sqrt{\alpha+\sigma}/\alpha`.
    """
    alpha, L, sigma = _constants(alpha, L, sigma)
    return alpha / (L * (alpha + sigma))


def contraction_factor(eta: float, alpha: float, L: float, sigma: float) -> float:
    r"""Contraction factor of Lemma 3.3: :math:`q(\eta) = 1 - \eta\alpha + \tfrac{L\eta^2}{2}(\alpha+\sigma)`.

    Under Assumptions 1–4, :math:`\mathbb E\,F(\theta-\eta g) \le q(\eta) F(\theta)` for
    θ in the ball. ``eta`` must lie in ``(0, eta_max)``, where ``q(eta) < 1``.
    """
    alpha, L, sigma = _constants(alpha, L, sigma)
    eta = _step(eta, alpha, L, sigma)
    return 1 - eta * alpha + 0.5 * L * eta**2 * (alpha + sigma)


def path_constant(eta: float, alpha: float, L: float, sigma: float) -> float:
    r"""Path constant of Lemma 3.4: :math:`K(\eta) = 2\sqrt{\alpha+\sigma} / (\alpha - L\eta(\alpha+\sigma)/2)`.

    Theorem 3.1(1): the expected path length before exit is at most
    :math:`K(\bar\eta)\sqrt{F(\theta_0)}`. K increases with η, equals
    :math:`4\sqrt{\alpha+\sigma}/\alpha` at η* and tends to :math:`2\sqrt{\alpha+\sigma}/\alpha`
    as η → 0. ``eta`` must lie in ``(0, eta_max)``.
    """
    alpha, L, sigma = _constants(alpha, L, sigma)
    eta = _step(eta, alpha, L, sigma)
    return 2 * np.sqrt(alpha + sigma) / (alpha - 0.5 * L * eta * (alpha + sigma))


def exit_probability_bound(
    F0: float, r: float, eta: float, alpha: float, L: float, sigma: float
) -> float:
    r"""Theorem 3.1(2): :math:`P(\tau<\infty) \le \min\{1, K(\eta)\sqrt{F(\theta_0)}/r\}`.

    Args:
        F0: initial loss F(θ₀) ≥ 0.
        r: radius of the ball, r > 0.
        eta: the largest step η̄ used, in ``(0, eta_max)``.
        alpha, L, sigma: the constants of Assumptions 1, 2 and 4.
    """
    F0 = _nonnegative("F0", F0)
    r = _positive("r", r)
    K = path_constant(eta, alpha, L, sigma)
    bound = np.minimum(1.0, K * np.sqrt(F0) / r)
    return float(bound) if np.ndim(bound) == 0 else bound


def chatterjee_condition(F0: float, r: float, alpha: float) -> bool:
    r"""Chatterjee's criterion :math:`4F(\theta_0) < r^2\alpha(\theta_0, r)` (the σ → 0, η → 0 limit).

    Under it, gradient flow from θ₀ stays in the ball and converges to a zero of F.
    ``alpha`` may be ``math.inf`` (F vanishes on the whole ball).
    """
    F0 = _nonnegative("F0", F0)
    r = _positive("r", r)
    if isinstance(alpha, (int, float)) and alpha == math.inf:
        return True
    alpha = _positive("alpha", alpha)
    return 4 * F0 < r**2 * alpha


def gd_condition(F0: float, r: float, eta: float, alpha: float, L: float) -> bool:
    r"""Corollary 3.5 for gradient descent: :math:`4F(\theta_0) < (1 - L\eta/2)^2 r^2 \alpha`, ``0 < eta < 2/L``.

    Equivalent to :math:`K(\eta)\sqrt{F(\theta_0)} < r` with σ = 0: the deterministic
    path length bound is below the radius, so gradient descent never leaves the ball.
    """
    F0 = _nonnegative("F0", F0)
    r = _positive("r", r)
    alpha, L, _ = _constants(alpha, L, 0.0)
    eta = _step(eta, alpha, L, 0.0)
    return 4 * F0 < (1 - 0.5 * L * eta) ** 2 * r**2 * alpha


def _etas(etas: Iterable[float] | np.ndarray) -> np.ndarray:
    arr = np.asarray(list(etas) if not isinstance(etas, np.ndarray) else etas, dtype=float)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"etas must be a non-empty 1-d sequence of steps, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError("etas must be finite")
    if np.any(arr <= 0):
        raise ValueError(f"etas must be > 0; smallest is {arr.min():.6g}")
    return arr


def bounded_noise_variance(s: float, etas: Iterable[float] | np.ndarray) -> float:
    r"""Variance :math:`v = s^2\sum_k \eta_k^2` of :math:`y_\infty - y_0` in Theorem 4.1."""
    s = _positive("s", s)
    arr = _etas(etas)
    return float(s**2 * np.sum(arr**2))


def bounded_noise_exit_lower_bound(r: float, s: float, etas: Iterable[float] | np.ndarray) -> float:
    r"""Paley–Zygmund lower bound of Theorem 4.1(3) on the exit probability under bounded noise.

    With :math:`v = s^2\sum_k\eta_k^2` and the exact Rademacher fourth moment
    :math:`\mathbb E(y_\infty-y_0)^4 = 3v^2 - 2s^4\sum_k\eta_k^4`,

    .. math:: P(\exists k:\ \theta_k\notin B(\theta_0, r)) \ge
              \frac{(1 - r^2/v)^2\, v^2}{3v^2 - 2s^4\sum_k \eta_k^4} \ge \frac{(1-r^2/v)^2}{3}

    for every starting point θ₀ (the y-coordinate moves independently of x), and 0 when
    ``r**2 >= v``. With ``etas`` the steps η_0…η_{T−1} of a run of length T, this bounds
    P(|y_T − y_0| > r) and hence the probability of leaving the ball by step T; since that
    event is contained in the event of ever leaving, it also bounds the infinite run. (The
    bound itself is not monotone in v: it is a statement about the horizon-T sum.)

    Args:
        r: radius r > 0.
        s: noise size s > 0.
        etas: the steps η_0, η_1, … (1-d, positive).
    """
    r = _positive("r", r)
    s = _positive("s", s)
    arr = _etas(etas)
    v = s**2 * float(np.sum(arr**2))
    if r**2 >= v:
        return 0.0
    fourth = 3 * v**2 - 2 * s**4 * float(np.sum(arr**4))
    return (1 - r**2 / v) ** 2 * v**2 / fourth
