r"""The general constants and bounds of chapter 3, as pure functions of numbers.

* Theorem 3.1: :func:`step_size_limit` (η_max), :func:`optimal_step` (η*),
  :func:`contraction_factor` (q(η), Lemma 3.3), :func:`path_constant` (K(η), Lemma 3.4) and
  :func:`markov_exit_bound` (Theorem 3.1(2));
* Corollary 3.5 and Chatterjee's criterion: :func:`gd_condition`, :func:`chatterjee_condition`;
* Proposition 3.8 (fourth moment): :func:`squared_loss_contraction` (:math:`\hat q(\eta)` with
  :math:`\mathbb E F(\theta-\eta g)^2 \le \hat q F(\theta)^2`), :func:`path_moment_bound` (the
  :math:`L^p` norm of the path length, 2 ≤ p ≤ 4) and :func:`fourth_moment_exit_bound`, an exit
  bound of order :math:`F_0^2` that is never above Theorem 3.1(2) or Proposition 3.7;
* Theorem 3.1 restarted at the end of a finite run (chapter 5): :func:`restart_stay_bound`, a
  Hoeffding lower confidence bound on the probability of staying in the ball forever;
* Proposition 3.7 (second moment): with :math:`\Lambda = \sup_B|\nabla F|^2/F \ge \alpha` and a
  constant step, Minkowski's inequality and Lemma 3.3 give
  :math:`(\mathbb E P_\infty^2)^{1/2} \le \eta\sqrt{(\Lambda+\sigma)F_0}/(1-\sqrt{q(\eta)})`
  (:func:`path_rms_bound`) for the path length :math:`P_\infty` before exit, and Chebyshev's
  inequality an exit bound of order :math:`F_0` (:func:`second_moment_exit_bound`).

The exact results about one example (the flat valley's bounded-noise bounds of Theorem 4.1,
the hyperbola's certified constants, the tanh network's ball bounds) live with the example in
:mod:`lojasgd.examples`.

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
import numpy as np

from . import validation

__all__ = [
    "step_size_limit",
    "optimal_step",
    "contraction_factor",
    "path_constant",
    "markov_exit_bound",
    "chatterjee_condition",
    "gd_condition",
    "path_rms_bound",
    "second_moment_exit_bound",
    "restart_stay_bound",
    "squared_loss_contraction",
    "path_moment_bound",
    "fourth_moment_exit_bound",
]


Real = float | np.ndarray


def _out(arr: np.ndarray) -> Real:
    """A 0-d result as a Python float, an array as it is."""
    return float(arr) if np.ndim(arr) == 0 else arr


def _real(name: str, value) -> Real:
    """``value`` as a float (scalar input) or a float ndarray; reject non-finite input."""
    return validation.scalar_or_array(name, value)


def _positive(name: str, value) -> Real:
    return validation.scalar_or_array(name, value, lower=0.0, strict_lower=True)


def _nonnegative(name: str, value) -> Real:
    return validation.scalar_or_array(name, value, lower=0.0)


_show = validation.show


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


def markov_exit_bound(
    F0: float, r: float, eta: float, alpha: float, L: float, sigma: float
) -> float:
    r"""Theorem 3.1(2): :math:`P(\tau<\infty) \le \min\{1, K(\eta)\sqrt{F(\theta_0)}/r\}`.

    Markov's inequality applied to the path length before exit, whose mean Theorem 3.1(1)
    bounds by :math:`K(\bar\eta)\sqrt{F(\theta_0)}`; compare :func:`second_moment_exit_bound`.

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
    if validation.is_plus_infinity(alpha):
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


# --------------------------------------------------------------------------- Proposition 3.7
def _Lambda(Lambda, alpha) -> float | np.ndarray:
    Lambda = _positive("Lambda", Lambda)
    if np.any(np.asarray(Lambda) < np.asarray(alpha)):
        raise ValueError(
            f"Lambda={_show(Lambda)} must be >= alpha={_show(alpha)}: the supremum of |grad F|^2/F over the ball "
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
    sigma = _nonnegative("sigma", sigma)
    q = contraction_factor(eta, alpha, L, sigma)
    Lambda = _Lambda(Lambda, _real("alpha", alpha))
    eta = _real("eta", eta)
    if np.any(np.asarray(q) < 0):
        raise ValueError(
            f"q(eta)={_show(q)} must be >= 0: for a step eta of the run, Lemma 3.3 gives "
            "0 <= E F(theta - eta g) <= q(eta) F(theta), so these alpha, L, sigma are inconsistent with a run at this step"
        )
    out = eta * np.sqrt((Lambda + sigma) * F0) / (1 - np.sqrt(q))
    return float(out) if np.ndim(out) == 0 else out


def second_moment_exit_bound(
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


# --------------------------------------------------------------------------- restart (chapter 5)
def restart_stay_bound(stay, loss, dist, K: float, r: float, *, level: float = 0.95) -> tuple[float, float]:
    r"""Lower confidence bound on :math:`P(E_\infty)` from M independent runs of T steps (chapter 5, remark ``rem-restart``).

    Restarting Theorem 3.1(1) at time T on the same ball (Lemma 3.4 holds at every point of
    B with the constants of B) gives, by Markov's inequality conditionally on :math:`\mathcal F_T`,

    .. math:: P(E_\infty) \ge \mathbb E Z,\qquad
              Z = \mathbf 1_{E_T}\Bigl(1 - \min\Bigl\{1, \frac{K\sqrt{F(\theta_T)}}{r - |\theta_T-\theta_0|}\Bigr\}\Bigr)\in[0,1]

    (Z = 0 when :math:`|\theta_T - \theta_0| \ge r`). For M i.i.d. copies, Hoeffding's inequality
    makes :math:`\bar Z - \sqrt{\log(1/(1-\text{level}))/(2M)}` a lower confidence bound for
    :math:`\mathbb E Z` at the given level.

    Args:
        stay: booleans :math:`\mathbf 1_{E_T}`, shape (M,) (or (..., M): one bound per leading index).
        loss: :math:`F(\theta_T)` of each run, same shape (negative rounding errors are clipped to 0).
        dist: :math:`|\theta_T - \theta_0|` of each run, same shape, ≥ 0.
        K: a path constant of Theorem 3.1 valid on the ball, > 0.
        r: the radius, > 0.
        level: confidence level in (0, 1).

    Returns:
        ``(mean_Z, lower)``: :math:`\bar Z` and the lower confidence bound (floats, or arrays
        over the leading axes).
    """
    stay_a = np.asarray(stay.detach().cpu().numpy() if hasattr(stay, "detach") else stay)
    if stay_a.dtype != bool:
        raise TypeError(f"stay must be an array of booleans, got dtype {stay_a.dtype}")
    loss_a = validation.real_array("loss", loss)
    dist_a = validation.real_array("dist", dist, lower=0.0)
    if stay_a.ndim == 0 or stay_a.shape[-1] == 0 or loss_a.shape != stay_a.shape or dist_a.shape != stay_a.shape:
        raise ValueError(f"stay, loss and dist must have one common non-empty shape, got {stay_a.shape}, "
                         f"{loss_a.shape}, {dist_a.shape}")
    K, r = validation.positive("K", K), validation.positive("r", r)
    level = validation.in_range("level", level, 0.0, 1.0, open_low=True, open_high=True)
    slack = r - dist_a
    ok = stay_a & (slack > 0)
    ratio = K * np.sqrt(np.maximum(loss_a, 0.0)) / np.where(ok, slack, 1.0)
    Z = np.where(ok, 1 - np.minimum(1.0, ratio), 0.0)
    mean = Z.mean(axis=-1)
    lower = mean - math.sqrt(math.log(1 / (1 - level)) / (2 * stay_a.shape[-1]))
    return (float(mean), float(lower)) if mean.ndim == 0 else (mean, lower)


# ------------------------------------------------ Proposition 3.8: a fourth-moment exit bound


def _upper_constants(alpha: Real, Lambda, mu4) -> tuple[Real, Real]:
    """Λ ≥ α and μ₄ ≥ Λ², the two upper constants of Proposition 3.8, validated."""
    Lambda = _positive("Lambda", Lambda)
    mu4 = _positive("mu4", mu4)
    if np.any(np.asarray(Lambda) < np.asarray(alpha)):
        raise ValueError(
            f"Lambda={_show(Lambda)} must be >= alpha={_show(alpha)}: the supremum of |grad F|^2/F "
            "over the ball is at least its infimum"
        )
    floor = np.asarray(Lambda) ** 2
    if np.any(np.asarray(mu4) < floor * (1 - 1e-12)):
        raise ValueError(
            f"mu4={_show(mu4)} must be >= Lambda^2={_show(floor)}: E|g|^4 >= |E g|^4 = |grad F|^4, "
            "so sup_B E|g|^4/F^2 is at least sup_B (|grad F|^2/F)^2"
        )
    return Lambda, mu4


def squared_loss_contraction(
    eta: float, alpha: float, L: float, sigma: float, Lambda: float, mu4: float, eps: float | None = None
) -> float:
    r"""Proposition 3.8(1): a factor :math:`\hat q(\eta)` with :math:`\mathbb E F(\theta-\eta g)^2 \le \hat q(\eta)F(\theta)^2` on the ball.

    With :math:`D_\eta(\gamma) = \gamma(1-L\eta/2) - L\eta\sigma/2` and any ε > 0,

    .. math:: \hat q_\varepsilon(\eta) = \max_{\gamma\in\{\alpha,\Lambda\}}
              \Big[1 - 2\eta D_\eta(\gamma) + (1+\varepsilon)\eta^2\gamma(\gamma+\sigma)\Big]
              + \Big(1+\frac1\varepsilon\Big)\frac{L^2\eta^4\mu_4}{4},

    where :math:`\Lambda = \sup_B |\nabla F|^2/F` and :math:`\mu_4 = \sup_B \mathbb E|g|^4/F^2`.
    Every ε gives a valid bound; with ``eps=None`` the least value over the stationary
    points ε = √(L²η⁴μ₄/4 / (η²γ(γ+σ))), γ ∈ {α, Λ}, and the ε where the two brackets
    cross is returned. Unlike q(η), q̂(η) may exceed 1 for steps below η_max; Proposition 3.8
    gains over Proposition 3.7 only where it is below 1.

    Args:
        eta: a step in ``(0, eta_max)``.
        alpha, L, sigma: the constants of Assumptions 1, 2 and 4.
        Lambda: Λ ≥ α.
        mu4: :math:`\mu_4 \ge \Lambda^2`, a bound on :math:`\mathbb E|g|^4/F^2` over the ball (:math:`\mathbb E|g|^4 \ge |\nabla F|^4` forces it).
        eps: the ε of the inequality 2AB ≤ εA² + B²/ε, > 0, or ``None`` (the best of the
            candidates above).
    """
    alpha, L, sigma = _constants(alpha, L, sigma)
    eta = _step(eta, alpha, L, sigma)
    Lambda, mu4 = _upper_constants(alpha, Lambda, mu4)
    eta, alpha, L, sigma, Lambda, mu4 = np.broadcast_arrays(
        *(np.asarray(v, dtype=float) for v in (eta, alpha, L, sigma, Lambda, mu4)))
    d = L**2 * eta**4 * mu4 / 4

    def bracket(gamma, e):
        D = gamma * (1 - L * eta / 2) - L * eta * sigma / 2
        return 1 - 2 * eta * D + (1 + e) * eta**2 * gamma * (gamma + sigma)

    def total(e):
        return np.maximum(bracket(alpha, e), bracket(Lambda, e)) + (1 + 1 / e) * d

    if eps is not None:
        out = total(np.asarray(_positive("eps", eps), dtype=float))
    else:
        ca, cL = eta**2 * alpha * (alpha + sigma), eta**2 * Lambda * (Lambda + sigma)
        candidates = [np.sqrt(d / ca), np.sqrt(d / cL)]
        with np.errstate(divide="ignore", invalid="ignore"):
            cross = (bracket(alpha, 0.0) - bracket(Lambda, 0.0)) / (cL - ca)
        candidates.append(np.where(np.isfinite(cross) & (cross > 0), cross, candidates[0]))
        out = np.min([total(e) for e in candidates], axis=0)
    if np.any(out < 0):
        raise ValueError(
            f"qhat={_show(out)} must be >= 0: it bounds E F(theta - eta g)^2 / F(theta)^2, so the constants "
            "alpha, L, sigma, Lambda, mu4 are inconsistent"
        )
    return _out(np.asarray(out, dtype=float))


def _moment_rate(p, q, qhat) -> np.ndarray:
    """ρ_p = (q^{4−p} q̂^{p−2})^{1/(2p)}, the per-step factor of the L^p norm of F(θ_k)^{1/2}."""
    return (q ** (4 - p) * qhat ** (p - 2)) ** (1 / (2 * p))


def _moment_scale(p, Lambda, sigma, mu4) -> np.ndarray:
    """M_p = ((Λ+σ)^{(4−p)/2} μ₄^{(p−2)/2})^{1/p}, so that E|g|^p ≤ M_p^p F^{p/2} on the ball."""
    return ((Lambda + sigma) ** ((4 - p) / 2) * mu4 ** ((p - 2) / 2)) ** (1 / p)


def path_moment_bound(
    F0: float, p: float, eta: float, alpha: float, L: float, sigma: float, Lambda: float, mu4: float
) -> float:
    r"""Proposition 3.8(2): :math:`(\mathbb E P_\infty^p)^{1/p} \le \eta M_p\sqrt{F_0}/(1-\rho_p)` for a constant step.

    With q = q(η) (Lemma 3.3), q̂ = :func:`squared_loss_contraction` and ``2 <= p <= 4``,

    .. math:: \rho_p = \big(q^{4-p}\,\hat q^{\,p-2}\big)^{1/(2p)}, \qquad
              M_p = \big((\Lambda+\sigma)^{(4-p)/2}\mu_4^{(p-2)/2}\big)^{1/p} .

    At p = 2 this is Proposition 3.7's root-mean-square bound η√((Λ+σ)F₀)/(1−√q).
    Returns ``inf`` where ρ_p ≥ 1 (the bound says nothing there).

    Args:
        F0: initial loss F(θ₀) ≥ 0.
        p: the moment, 2 ≤ p ≤ 4.
        eta: the constant step, in ``(0, eta_max)``.
        alpha, L, sigma: the constants of Assumptions 1, 2 and 4.
        Lambda, mu4: the upper constants Λ and μ₄ of Proposition 3.8.
    """
    F0 = _nonnegative("F0", F0)
    p = _real("p", p)
    if np.any(np.asarray(p) < 2) or np.any(np.asarray(p) > 4):
        raise ValueError(f"p={_show(p)} must satisfy 2 <= p <= 4")
    q = contraction_factor(eta, alpha, L, sigma)
    if np.any(np.asarray(q) < 0):
        raise ValueError(
            f"q(eta)={_show(q)} must be >= 0: for a step eta of the run, Lemma 3.3 gives "
            "0 <= E F(theta - eta g) <= q(eta) F(theta), so these alpha, L, sigma are inconsistent with a run at this step"
        )
    qhat = squared_loss_contraction(eta, alpha, L, sigma, Lambda, mu4)
    eta, alpha, sigma = _real("eta", eta), _real("alpha", alpha), _real("sigma", sigma)
    Lambda, mu4 = _upper_constants(alpha, Lambda, mu4)
    rho = _moment_rate(np.asarray(p, dtype=float), np.asarray(q), np.asarray(qhat))
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(rho < 1, eta * _moment_scale(p, Lambda, sigma, mu4) * np.sqrt(F0) / (1 - rho), np.inf)
    out = np.where(np.asarray(F0) == 0, 0.0, out)
    return _out(np.asarray(out, dtype=float))


def fourth_moment_exit_bound(
    F0: float, r: float, eta: float, alpha: float, L: float, sigma: float, Lambda: float, mu4: float,
    n_grid: int = 401,
) -> float:
    r"""Proposition 3.8(3): the least of Theorem 3.1(2) and the L^p Markov bounds for 2 ≤ p ≤ 4.

    .. math:: P(\tau<\infty) \le \min\Big\{1,\ \frac{K(\eta)\sqrt{F_0}}{r},\
              \min_{2\le p\le4}\Big(\frac{\eta M_p\sqrt{F_0}}{(1-\rho_p)\,r}\Big)^p\Big\}

    with ρ_p and M_p as in :func:`path_moment_bound` (terms with ρ_p ≥ 1 are left out). The
    p = 2 term is Proposition 3.7, so the result is never larger than Theorem 3.1(2) or
    Proposition 3.7 and is of order F₀² as F₀ → 0 when q̂(η) < 1. The minimum over p is
    taken on ``n_grid`` equally spaced values of p, the ends 2 and 4 included.

    Args:
        F0: initial loss F(θ₀) ≥ 0.
        r: radius of the ball, r > 0.
        eta: the constant step, in ``(0, eta_max)``.
        alpha, L, sigma: the constants of Assumptions 1, 2 and 4.
        Lambda, mu4: the upper constants Λ and μ₄ of Proposition 3.8.
        n_grid: number of values of p, at least 2.
    """
    F0 = _nonnegative("F0", F0)
    r = _positive("r", r)
    n_grid = validation.integer("n_grid", n_grid, low=2)
    markov = markov_exit_bound(F0, r, eta, alpha, L, sigma)
    shape = np.broadcast(*(np.asarray(v, dtype=float) for v in (F0, r, eta, alpha, L, sigma, Lambda, mu4))).shape
    ps = np.linspace(2.0, 4.0, int(n_grid)).reshape((-1,) + (1,) * len(shape))
    moment = path_moment_bound(F0, ps, eta, alpha, L, sigma, Lambda, mu4)
    with np.errstate(over="ignore"):
        best = np.min((np.asarray(moment) / np.asarray(r)) ** ps, axis=0)
    out = np.minimum(markov, best)
    return _out(np.asarray(out, dtype=float))
