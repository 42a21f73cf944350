r"""The flat valley :math:`F(\theta) = \theta_1^2/2` (Theorem 4.1, Example 4.2, Proposition 6.1) and its exact results.

* :class:`FlatValley` — the landscape; its zero set is a hyperplane, α = 2 and L = 1 on every ball;
* machine-learning noise in closed form: :func:`ml_weights`, :func:`displacement_variance`,
  :func:`path_length`, :func:`stays_surely`, :func:`ville_exit_bound` (below);
* any schedule, either noise: :func:`series_weights` writes :math:`y_0 - y_k` as a Rademacher
  series and :func:`law_exit_bounds` bounds the exit probability by its exact law
  (:mod:`lojasgd.rademacher`);
* bounded noise (Theorem 4.1): :func:`bounded_noise_variance` and the Paley–Zygmund lower
  bound :func:`paley_zygmund_exit_bound`.

On :math:`F(x, y) = x^2/2` with the stochastic gradient
:math:`g(\theta;\xi) = (x,\ \sqrt{\sigma F(\theta)}\,\xi)`, :math:`\xi = \pm1` equally likely
(``MLNoise(sigma, direction=[0., 1.])``), and a constant step :math:`0 < \eta \le 1`, SGD from
:math:`\theta_0 = (x_0, y_0)` with :math:`F_0 = x_0^2/2` is explicit:

.. math::

    x_k = (1-\eta)^k x_0, \qquad y_k = y_0 - \sum_{j<k} a_j\xi_j, \qquad
    a_j = \eta\sqrt{\sigma F_0}\,(1-\eta)^j .

Chapter 6 (Proposition 6.1) proves, for the exit from the closed ball :math:`\bar B(\theta_0, r)`:

* every path has the same length :math:`\sqrt{(2+\sigma)F_0}` (:func:`path_length`), the
  η → 0 limit of Theorem 3.1(1)'s bound :math:`K(\eta)\sqrt{F_0}`;
* no path leaves if :math:`(2+\sigma)F_0 \le r^2` (:func:`stays_surely`); every path leaves if
  :math:`2F_0 > r^2`;
* in between, by Ville's maximal inequality for the exponential supermartingale of the
  Rademacher sum, :math:`P(\text{exit}) \le 2\exp\bigl(-(r^2-2F_0)/(2v)\bigr)` with
  :math:`v = \sum_j a_j^2 = \eta\sigma F_0/(2-\eta)` (:func:`ville_exit_bound`).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from .. import rademacher, validation
from ..landscapes import Landscape

__all__ = [
    "FlatValley",
    "ml_weights",
    "displacement_variance",
    "path_length",
    "stays_surely",
    "ville_exit_bound",
    "series_weights",
    "law_exit_bounds",
    "bounded_noise_variance",
    "paley_zygmund_exit_bound",
]


def _array(name: str, value, *, positive: bool = False) -> np.ndarray:
    return validation.real_array(name, value, lower=0.0, strict_lower=positive)


def _etas(etas) -> np.ndarray:
    """Steps η_0, η_1, …: a non-empty 1-d array of finite numbers > 0."""
    return validation.real_array("etas", etas, lower=0.0, strict_lower=True, ndim=1, nonempty=True)


def _step(eta) -> np.ndarray:
    eta = _array("eta", eta, positive=True)
    if np.any(eta > 1):
        raise ValueError(f"eta={validation.show(eta)} must be <= 1 (then |x_k - x_0| <= |x_0| and x_k keeps its sign)")
    return eta


def _out(x: np.ndarray):
    return float(x) if np.ndim(x) == 0 else x


class FlatValley(Landscape):
    r"""The flat valley :math:`F(\theta) = \theta_1^2/2` on :math:`\mathbb R^n` (n ≥ 2; Theorem 4.1).

    Its zero set is the hyperplane :math:`\theta_1 = 0`; on every ball
    :math:`|\nabla F|^2/F = 2` wherever F > 0, so α = 2, and L = 1 with U = ℝⁿ.
    """


    def fused_spec(self) -> tuple[str, dict | None]:
        """The fused kernel of :func:`lojasgd.sgd.simulate` for this landscape (name, parameters)."""
        return "flat_valley", None

    def __init__(self, dim: int = 2) -> None:
        self.dim = validation.integer("dim", dim, low=2)

    def loss(self, theta: Tensor) -> Tensor:
        return 0.5 * theta[..., 0] ** 2

    def grad(self, theta: Tensor) -> Tensor:
        return torch.cat([theta[..., :1], torch.zeros_like(theta[..., 1:])], dim=-1)


def ml_weights(F0: float, eta: float, sigma: float, n: int) -> np.ndarray:
    r"""The first n weights :math:`a_j = \eta\sqrt{\sigma F_0}(1-\eta)^j` of :math:`y_0 - y_k = \sum_{j<k}a_j\xi_j`.

    Args:
        F0: initial loss :math:`F_0 = x_0^2/2 \ge 0`.
        eta: constant step in (0, 1].
        sigma: noise constant σ ≥ 0.
        n: how many weights (an integer ≥ 1).
    """
    F0 = float(_array("F0", F0))
    eta = float(_step(eta))
    sigma = float(_array("sigma", sigma))
    n = validation.integer("n", n, low=1)
    return series_weights(np.full(n, eta), sigma=sigma, x0=float(np.sqrt(2 * F0)))


def displacement_variance(F0, eta, sigma):
    r"""Variance :math:`v = \sum_{j\ge0}a_j^2 = \eta\sigma F_0/(2-\eta)` of :math:`y_\infty - y_0` (arrays broadcast)."""
    F0, eta, sigma = _array("F0", F0), _step(eta), _array("sigma", sigma)
    return _out(eta * sigma * F0 / (2 - eta))


def path_length(F0, sigma):
    r"""The length :math:`\sum_k|\theta_{k+1}-\theta_k| = \sqrt{(2+\sigma)F_0}` of every SGD path (any 0 < η ≤ 1).

    Each step has length :math:`\eta|x_k|\sqrt{1+\sigma/2}` and :math:`\sum_k\eta(1-\eta)^k = 1`.
    """
    F0, sigma = _array("F0", F0), _array("sigma", sigma)
    return _out(np.sqrt((2 + sigma) * F0))


def stays_surely(F0, r, sigma):
    r"""True where :math:`(2+\sigma)F_0 \le r^2`: then no SGD path ever leaves :math:`\bar B(\theta_0, r)`."""
    F0, r, sigma = _array("F0", F0), _array("r", r, positive=True), _array("sigma", sigma)
    out = (2 + sigma) * F0 <= r**2
    return bool(out) if np.ndim(out) == 0 else out


def ville_exit_bound(F0, r, eta, sigma):
    r"""Proposition 6.1's bound on :math:`P(\exists k: |\theta_k-\theta_0| > r)` for the flat valley.

    .. math::

        P(\text{exit}) \le \begin{cases}
            0 & (2+\sigma)F_0 \le r^2,\\
            \min\Bigl\{1,\ 2\exp\Bigl(-\dfrac{(2-\eta)(r^2-2F_0)}{2\eta\sigma F_0}\Bigr)\Bigr\} & 2F_0 < r^2 < (2+\sigma)F_0,\\
            1 & r^2 \le 2F_0,
        \end{cases}

    and the probability equals 1 when :math:`2F_0 > r^2`. Arrays broadcast.

    Args:
        F0: initial loss :math:`x_0^2/2 \ge 0`.
        r: radius r > 0.
        eta: constant step in (0, 1].
        sigma: noise constant σ ≥ 0.
    """
    F0, r, eta, sigma = _array("F0", F0), _array("r", r, positive=True), _step(eta), _array("sigma", sigma)
    F0, r, eta, sigma = np.broadcast_arrays(F0, r, eta, sigma)
    out = np.ones(F0.shape)
    sure = (2 + sigma) * F0 <= r**2
    mid = ~sure & (2 * F0 < r**2)
    v = eta[mid] * sigma[mid] * F0[mid] / (2 - eta[mid])
    out[mid] = np.minimum(1.0, 2 * np.exp(-(r[mid] ** 2 - 2 * F0[mid]) / (2 * v)))
    out[sure] = 0.0
    return _out(out)


def series_weights(etas, *, s: float | None = None, sigma: float | None = None, x0: float = 0.0) -> np.ndarray:
    r"""Weights of :math:`y_0 - y_k = \sum_{j<k} a_j\xi_j` for SGD on :math:`F(x,y) = x^2/2` with steps ``etas``.

    Give exactly one of ``s`` and ``sigma``:

    * bounded noise :math:`g = (x, s\xi)` (Theorem 4.1): :math:`a_j = s\,\eta_j`;
    * machine-learning noise :math:`g = (x, \sqrt{\sigma F}\,\xi)` (Example 4.2):
      :math:`a_j = \eta_j\sqrt{\sigma/2}\,|x_0|\prod_{i<j}|1-\eta_i|`.

    Args:
        etas: the steps :math:`\eta_0, \eta_1, \dots` (1-d, positive), e.g. ``Schedule.values(T)``.
        s: bounded-noise size s > 0.
        sigma: machine-learning-noise constant σ ≥ 0.
        x0: first coordinate of θ₀ (used by machine-learning noise only).
    """
    eta = _etas(etas)
    if (s is None) == (sigma is None):
        raise ValueError(f"give exactly one of s (bounded noise) and sigma (machine-learning noise), got s={s!r}, sigma={sigma!r}")
    if s is not None:
        return validation.positive("s", s) * eta
    sigma = validation.nonnegative("sigma", sigma)
    x0 = validation.real("x0", x0)
    shrink = np.concatenate([[1.0], np.cumprod(np.abs(1 - eta[:-1]))])
    return eta * math.sqrt(sigma / 2) * abs(x0) * shrink


def law_exit_bounds(r: float, x0: float, weights, etas) -> tuple[float, float]:
    r"""Two-sided bounds on the exit probability of SGD in the flat valley (Example 4.2, Lemma 4.5).

    For steps :math:`0 < \eta_j \le 1` (so :math:`|x_k - x_0| \le |x_0|`) and :math:`|x_0| < r`,
    with :math:`y_0 - y_T = \sum_{j<T}a_j\xi_j` the sum of the given weights,

    .. math:: P(|y_T - y_0| > r) \le P(\exists k \le T:\ |\theta_k-\theta_0| > r)
              \le 2P\bigl(|y_T - y_0| > \sqrt{r^2 - x_0^2}\bigr).

    The same holds with T = ∞ when the weights are the whole sequence.

    Args:
        r: radius :math:`r > |x_0|`.
        x0: first coordinate of θ₀.
        weights: the weights :math:`a_0, \dots, a_{T-1}` (:func:`series_weights`); all zero
            is allowed (then y never moves and both bounds are 0).
        etas: the steps used (checked to lie in (0, 1]).

    Returns:
        ``(lower, upper)`` with upper clipped at 1.
    """
    eta = _etas(etas)
    if np.any(eta > 1):
        raise ValueError(f"etas={validation.show(eta)} must lie in (0, 1] (then x_k stays between 0 and x0)")
    r = validation.positive("r", r)
    x0 = validation.real("x0", x0)
    if abs(x0) >= r:
        raise ValueError(f"x0={x0:.6g} must satisfy |x0| < r={r:.6g}")
    a = validation.real_array("weights", weights, ndim=1, nonempty=True)
    if not np.any(a != 0):
        return 0.0, 0.0
    lower, inner = rademacher.abs_tail(np.array([r, math.sqrt(r**2 - x0**2)]), a)
    return float(lower), float(min(1.0, 2 * inner))


def bounded_noise_variance(s: float, etas) -> float:
    r"""Variance :math:`v = s^2\sum_k \eta_k^2` of :math:`y_\infty - y_0` in Theorem 4.1."""
    s = validation.positive("s", s)
    return rademacher.second_moment(s * _etas(etas))


def paley_zygmund_exit_bound(r: float, s: float, etas) -> float:
    r"""Paley–Zygmund lower bound of Theorem 4.1(3) on the exit probability under bounded noise.

    With :math:`v = s^2\sum_k\eta_k^2` and the exact Rademacher fourth moment
    :math:`\mathbb E(y_\infty-y_0)^4 = 3v^2 - 2s^4\sum_k\eta_k^4`,

    .. math:: P(\exists k:\ \theta_k\notin B(\theta_0, r)) \ge
              \frac{(1 - r^2/v)^2\, v^2}{3v^2 - 2s^4\sum_k \eta_k^4} \ge \frac{(1-r^2/v)^2}{3}

    for every starting point θ₀ (the y-coordinate moves independently of x), and 0 when
    ``r**2 >= v``. With ``etas`` the steps η_0…η_{T−1} of a run of length T, this bounds
    :math:`P(|y_T - y_0| > r)` and hence the probability of leaving the ball by step T; since that
    event is contained in the event of ever leaving, it also bounds the infinite run. (The
    bound itself is not monotone in v: it is a statement about the horizon-T sum.)

    Args:
        r: radius r > 0.
        s: noise size s > 0.
        etas: the steps η_0, η_1, … (1-d, positive).
    """
    r = validation.positive("r", r)
    s = validation.positive("s", s)
    return rademacher.paley_zygmund(r, s * _etas(etas))
