r"""The law of a weighted Rademacher sum :math:`S = \sum_j a_j\xi_j` (chapter 4).

The :math:`\xi_j` are independent fair signs (:math:`P(\xi_j = 1) = P(\xi_j = -1) = 1/2`) and the
weights :math:`a_j` are deterministic reals. In the flat valley :math:`F(x, y) = x^2/2`, SGD's
second coordinate is :math:`y_k = y_0 - \sum_{j<k} a_j\xi_j` with

* bounded noise (Theorem 4.1): :math:`a_j = s\,\eta_j`;
* machine-learning noise (Example 4.2): :math:`a_j = \eta_j\sqrt{\sigma/2}\,|x_j|`,
  :math:`x_j = \prod_{i<j}(1-\eta_i)\,x_0` (:func:`lojasgd.examples.valley.series_weights`).

What is computed, with the chapter result each function serves:

* moments: :math:`\mathbb E S^2 = \sum a_j^2`, :math:`\mathbb E S^4 = 3(\sum a_j^2)^2 - 2\sum a_j^4`
  (Lemma 4.3);
* the Paley–Zygmund lower bound
  :math:`P(|S| > t) \ge (1 - t^2/v)^2 v^2/\mathbb E S^4` for :math:`t^2 < v = \mathbb E S^2`
  (Lemma 4.4, Theorem 4.1(3));
* atoms: :math:`\max_x P(S = x) \le \binom{n}{\lfloor n/2\rfloor}2^{-n}` for n non-zero weights
  (Lemma 4.6, Sperner and Erdős), and the exact law of a short sum by enumeration;
* the characteristic function :math:`\varphi(u) = \mathbb E e^{iuS} = \prod_j\cos(a_j u)` and its
  inversion: the density of S and :math:`P(|S| > t)` (Theorem 4.1(5), the figures);
* the two-sided exit bounds of Example 4.2 from Lévy's maximal inequality (Lemma 4.5).

Inversion. :math:`|S| \le R = \sum_j|a_j|`. The trapezoid rule with step :math:`h < 2\pi/(R+t)`
applied to the inversion integrals

.. math:: f(x) = \frac1\pi\int_0^\infty \cos(xu)\,\varphi(u)\,du,\qquad
          P(|S| \le t) = \frac2\pi\int_0^\infty \frac{\sin(tu)}{u}\,\varphi(u)\,du

is exact up to aliasing terms that vanish because the law lives in :math:`[-R, R]`
(Poisson summation), so the only error is the truncation of the integral at a cut-off U. U is
chosen where the bound :math:`|\varphi(u)| \le \exp(-\tfrac{u^2}{2}\sum_{|a_j|u\le\pi/2}a_j^2)`
(from :math:`|\cos z| \le e^{-z^2/2}` for :math:`|z| \le \pi/2`) falls below ``tol``. For a long
sum with decaying weights, such as those of Theorem 4.1, :math:`|\varphi|` stays negligible
beyond U and the result is the law to about ``tol``; a finite sum is atomic, and what is
computed is its law seen at resolution about 1/U, which is indistinguishable from it when
its atoms are tiny (Lemma 4.6). For lattice laws (equal weights) :math:`\varphi` is periodic
and the inversion is not meaningful; pass an explicit ``cutoff`` only when you know the decay.
"""

from __future__ import annotations

import math
import numpy as np

from . import validation

__all__ = [
    "second_moment",
    "fourth_moment",
    "paley_zygmund",
    "atom_bound",
    "enumerate_law",
    "largest_atom",
    "characteristic_function",
    "inversion_cutoff",
    "density",
    "abs_tail",
]

_MAX_ENUMERATE = 24


def _weights(weights, name: str = "weights") -> np.ndarray:
    """A non-empty 1-d array of finite reals as float64."""
    return validation.real_array(name, weights, ndim=1, nonempty=True)


def _nonneg(name: str, value) -> np.ndarray:
    return validation.real_array(name, value, lower=0.0)


def _out(x: np.ndarray):
    return float(x) if np.ndim(x) == 0 else x


def second_moment(weights) -> float:
    r""":math:`\mathbb E S^2 = \sum_j a_j^2`, the variance of :math:`S = \sum_j a_j\xi_j` (Lemma 4.3)."""
    a = _weights(weights)
    return float(np.sum(a**2))


def fourth_moment(weights) -> float:
    r""":math:`\mathbb E S^4 = 3\bigl(\sum_j a_j^2\bigr)^2 - 2\sum_j a_j^4 \le 3(\mathbb E S^2)^2` (Lemma 4.3).

    Only the index patterns iiii and iijj (three pairings) survive the expectation.
    """
    a = _weights(weights)
    v = float(np.sum(a**2))
    return 3 * v**2 - 2 * float(np.sum(a**4))


def paley_zygmund(t: float, weights) -> float:
    r"""Paley–Zygmund lower bound on :math:`P(|S| > t)` (Lemma 4.4 applied to :math:`Z = S^2`).

    .. math:: P(|S| > t) \ge \frac{(1 - t^2/v)^2\, v^2}{3v^2 - 2\sum_j a_j^4}, \qquad v = \sum_j a_j^2,

    for :math:`0 \le t^2 < v`, and 0 (the trivial bound) when :math:`t^2 \ge v`. With
    :math:`a_j = s\eta_j` this is :func:`lojasgd.examples.valley.paley_zygmund_exit_bound`.

    Args:
        t: threshold t ≥ 0 (a radius r in Theorem 4.1(3)).
        weights: the weights :math:`a_j`, not all zero.
    """
    t = float(_nonneg("t", t))
    a = _weights(weights)
    v = float(np.sum(a**2))
    if v == 0:
        raise ValueError("weights must not all be zero (then S = 0 and E S^4 = 0)")
    if t**2 >= v:
        return 0.0
    return (1 - t**2 / v) ** 2 * v**2 / fourth_moment(a)


def atom_bound(n: int) -> float:
    r"""Largest possible atom of a sum of n non-zero weighted signs: :math:`\binom{n}{\lfloor n/2\rfloor}2^{-n}` (Lemma 4.6).

    By Sperner's theorem the sign patterns giving one value form an antichain. The bound is
    attained by equal weights and is at most :math:`1/\sqrt{2\lfloor n/2\rfloor+1}`. n = 0 gives 1.
    """
    n = validation.integer("n", n, low=0)
    # log-space so that large n neither overflows nor loses precision
    return math.exp(math.lgamma(n + 1) - math.lgamma(n // 2 + 1) - math.lgamma(n - n // 2 + 1) - n * math.log(2))


def enumerate_law(weights, *, decimals: int = 12) -> tuple[np.ndarray, np.ndarray]:
    r"""The exact law of a short sum :math:`S = \sum_{j<n} a_j\xi_j` by listing its :math:`2^n` sign patterns.

    Values that agree to ``decimals`` decimals (relative to :math:`\max_j|a_j|`) are merged, so
    that sums that are equal in exact arithmetic count as one atom.

    Args:
        weights: n ≤ 24 weights.
        decimals: merging precision.

    Returns:
        ``(values, probs)``: the sorted distinct values and their probabilities (summing to 1).
    """
    decimals = validation.integer("decimals", decimals, low=0)
    a = _weights(weights)
    if a.size > _MAX_ENUMERATE:
        raise ValueError(f"len(weights)={a.size} must be <= {_MAX_ENUMERATE} for enumeration (2^n patterns)")
    values = np.zeros(1)
    for aj in a:
        values = np.concatenate([values + aj, values - aj])
    scale = max(float(np.max(np.abs(a))), 1e-300)
    keys = np.round(values / scale, decimals)
    uniq, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
    reps = np.zeros(uniq.size)
    reps[inverse] = values  # one representative value per merged atom
    return reps, counts / values.size


def largest_atom(weights) -> float:
    r""":math:`\max_x P(S = x)` for a short sum, by :func:`enumerate_law`."""
    return float(enumerate_law(weights)[1].max())


def characteristic_function(u, weights, *, chunk: int = 256) -> np.ndarray | float:
    r"""The characteristic function :math:`\varphi(u) = \mathbb E\cos(uS) = \prod_j\cos(a_j u)` (S is symmetric).

    Args:
        u: points (any shape).
        weights: the weights :math:`a_j`.
        chunk: how many weights to multiply at once (memory ``u.size * chunk``).
    """
    a = _weights(weights)
    u = validation.real_array("u", u)
    chunk = validation.integer("chunk", chunk, low=1)
    flat = u.ravel()
    out = np.ones_like(flat)
    for start in range(0, a.size, chunk):
        out *= np.prod(np.cos(np.multiply.outer(flat, a[start:start + chunk])), axis=1)
    return _out(out.reshape(u.shape))


def _decay_bound(u: np.ndarray, a_sorted: np.ndarray, cum_sq: np.ndarray) -> np.ndarray:
    r""":math:`\exp(-\tfrac{u^2}{2}\sum_{a_j u \le \pi/2} a_j^2)` for ascending positive weights."""
    idx = np.searchsorted(a_sorted, np.pi / (2 * np.maximum(u, 1e-300)), side="right")
    return np.exp(-0.5 * u**2 * np.where(idx > 0, cum_sq[np.maximum(idx - 1, 0)], 0.0))


def inversion_cutoff(weights, *, tol: float = 1e-14, step: float | None = None, max_points: int = 2_000_000) -> float:
    r"""The cut-off U of the inversion integrals: the first grid point where :math:`|\varphi|`'s bound is below ``tol``.

    The bound is :math:`|\varphi(u)| \le \exp(-\tfrac{u^2}{2}\sum_{|a_j|u\le\pi/2}a_j^2)`. Raises
    ValueError if the bound never falls below ``tol`` before :math:`u = \pi/(2\min_j|a_j|)`,
    where it stops saying anything (the law is too close to atomic, e.g. few or equal weights).

    Args:
        weights: the weights (zeros are ignored).
        tol: target size of :math:`|\varphi|` beyond U, in (0, 1).
        step: grid step (default :math:`\pi/R` with :math:`R = \sum_j|a_j|`).
        max_points: give up (ValueError) after this many grid points; the bound can stall
            above ``tol`` for ever, e.g. for geometric weights :math:`\rho^j` with ρ not close to 1,
            whose bound tends to :math:`\exp(-\pi^2/(8(1-\rho^2)))`.
    """
    a = np.sort(np.abs(_weights(weights)))
    a = a[a > 0]
    if a.size == 0:
        raise ValueError("weights must not all be zero")
    tol = validation.in_range("tol", tol, 0.0, 1.0, open_low=True, open_high=True)
    h = np.pi / a.sum() if step is None else validation.positive("step", step)
    max_points = validation.integer("max_points", max_points, low=1)
    cum_sq = np.cumsum(a**2)
    u_lim = np.pi / (2 * a[0])
    n_max = int(min(u_lim / h, max_points)) + 1
    for start in range(1, n_max + 1, 4096):
        u = h * np.arange(start, min(start + 4096, n_max + 1))
        ok = np.nonzero(_decay_bound(u, a, cum_sq) <= tol)[0]
        if ok.size:
            return float(u[ok[0]])
    raise ValueError(
        f"the characteristic-function bound does not fall below tol={tol:g} before u = "
        f"{min(u_lim, h * n_max):.6g} (pi/(2 min|a_j|) = {u_lim:.6g}, at most max_points={max_points} grid points): "
        "the sum is too short, too close to a lattice law, or its weights decay too fast for inversion; "
        "use enumerate_law or Monte Carlo, or pass cutoff= explicitly"
    )


def _grid(a: np.ndarray, reach: float, tol: float, cutoff: float | None) -> tuple[np.ndarray, float, np.ndarray]:
    """Trapezoid grid u_n = n h on [0, U] with h = π/(R + reach) and φ on it."""
    R = float(np.sum(np.abs(a)))
    h = np.pi / (R + reach)
    if cutoff is None:
        U = inversion_cutoff(a, tol=tol, step=h)
    else:
        U = validation.positive("cutoff", cutoff)
    u = h * np.arange(int(math.ceil(U / h)) + 1)
    return u, h, np.asarray(characteristic_function(u, a))


def density(x, weights, *, tol: float = 1e-14, cutoff: float | None = None) -> np.ndarray | float:
    r"""The density :math:`f(x) = \frac1\pi\int_0^\infty\cos(xu)\varphi(u)\,du` of S, by the trapezoid rule.

    See the module docstring for why the trapezoid rule is exact here up to the cut-off.
    For :math:`a_j = 1/j` (the random harmonic series) :math:`f(0) \approx 1/4` and
    :math:`f(2) \approx 1/8` (Schmuland 2003).

    Args:
        x: points (any shape).
        weights: the weights :math:`a_j`.
        tol: size of :math:`|\varphi|` beyond the automatic cut-off.
        cutoff: an explicit cut-off U instead.
    """
    a = _weights(weights)
    x = validation.real_array("x", x)
    if not np.all(np.isfinite(x)):
        raise ValueError("x must be finite")
    R = float(np.sum(np.abs(a)))
    flat = x.ravel()
    u, h, phi = _grid(a, min(float(np.max(np.abs(flat), initial=0.0)), R), tol, cutoff)
    f = (h / np.pi) * (0.5 * phi[0] + np.cos(np.multiply.outer(flat, u[1:])) @ phi[1:])
    f[np.abs(flat) > R] = 0.0
    return _out(f.reshape(x.shape))


def abs_tail(t, weights, *, tol: float = 1e-14, cutoff: float | None = None) -> np.ndarray | float:
    r""":math:`P(|S| > t)` by inverting :math:`P(|S|\le t) = \frac2\pi\int_0^\infty\frac{\sin(tu)}{u}\varphi(u)\,du`.

    Exactly 0 for :math:`t \ge R = \sum_j|a_j|`. Values are clipped to [0, 1].

    Args:
        t: thresholds t ≥ 0 (any shape).
        weights: the weights :math:`a_j`.
        tol: size of :math:`|\varphi|` beyond the automatic cut-off.
        cutoff: an explicit cut-off U instead.
    """
    a = _weights(weights)
    t = _nonneg("t", t)
    R = float(np.sum(np.abs(a)))
    flat = t.ravel()
    u, h, phi = _grid(a, min(float(np.max(flat, initial=0.0)), R), tol, cutoff)
    inside = (h / np.pi) * (flat + 2 * (np.sin(np.multiply.outer(flat, u[1:])) / u[1:]) @ phi[1:])
    tail = np.clip(1 - inside, 0.0, 1.0)
    tail[flat >= R] = 0.0
    return _out(tail.reshape(t.shape))
