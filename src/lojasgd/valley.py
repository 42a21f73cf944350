r"""The flat valley with machine-learning noise in closed form (Example 4.2, Proposition 6.1).

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
  :math:`v = \sum_j a_j^2 = \eta\sigma F_0/(2-\eta)` (:func:`exit_probability_bound`).
"""

from __future__ import annotations

import numpy as np

from ._checks import real_array

__all__ = ["weights", "displacement_variance", "path_length", "stays_surely", "exit_probability_bound"]


def _array(name: str, value, *, positive: bool = False) -> np.ndarray:
    return real_array(name, value, lower=0.0, strict=positive)


def _step(eta) -> np.ndarray:
    eta = _array("eta", eta, positive=True)
    if np.any(eta > 1):
        raise ValueError(f"eta={eta!r} must be <= 1 (then |x_k - x_0| <= |x_0| and x_k keeps its sign)")
    return eta


def _out(x: np.ndarray):
    return float(x) if np.ndim(x) == 0 else x


def weights(F0: float, eta: float, sigma: float, n: int) -> np.ndarray:
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
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n={n!r} must be an integer >= 1")
    return eta * np.sqrt(sigma * F0) * (1 - eta) ** np.arange(n)


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


def exit_probability_bound(F0, r, eta, sigma):
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
