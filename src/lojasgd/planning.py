r"""Plan an SGD run on a ball for any landscape: the step-size limit, the best step, the bound.

:func:`plan` answers the question a user asks of Theorem 3.1 before running SGD on their own
model: *on the ball* :math:`\bar B(\theta_0, r)`, *which steps does the theorem allow, which
one should I take, and what does it promise?* It estimates the constants of Assumptions 1–4
with :mod:`lojasgd.estimate` and returns

* :math:`\eta_{\max} = 2\alpha/(L(\alpha+\sigma))` (Theorem 3.1's step-size limit),
* the best step :math:`\eta^* = \alpha/(L(\alpha+\sigma)) = \eta_{\max}/2`, which minimises the
  contraction factor :math:`q(\eta) = 1 - \eta\alpha + \tfrac{L\eta^2}{2}(\alpha+\sigma)` of
  Lemma 3.3, with :math:`q(\eta^*) = 1 - \alpha^2/(2L(\alpha+\sigma))` and
  :math:`K(\eta^*) = 4\sqrt{\alpha+\sigma}/\alpha`,
* Theorem 3.1(2)'s bound :math:`P(\tau<\infty) \le \min\{1, K(\eta)\sqrt{F(\theta_0)}/r\}` at that
  step, and the largest initial loss :math:`r^2/K(\eta)^2` for which it says something,

or, when the theorem does not apply, *which* assumption fails and by how much (a
:class:`Plan` whose :attr:`Plan.failures` lists the reasons; nothing is hidden).

The set U of Assumption 2 depends on the step: :math:`U = \bar B(\theta_0, r + \eta G_g)`.
:func:`plan` estimates L first on the ball itself, takes the best step for that L, then
re-estimates L on :math:`U` for that step and keeps the larger value. A larger L only
shrinks the best step, so the final step's U lies inside the ball where L was estimated.

All constants are estimates by sampling and local optimisation (an upper estimate of α, lower
estimates of L, σ, G; see :mod:`lojasgd.estimate`): a plan is a measurement, not a certificate.
Pass closed forms through ``known`` where they exist.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from . import estimate, theory, validation
from .estimate import Estimate
from .landscapes import Landscape, as_point
from .noise import Noise

__all__ = ["Plan", "plan"]


@dataclass(frozen=True)
class Plan:
    r"""What Theorem 3.1 allows and promises on :math:`\bar B(\theta_0, r)`.

    Attributes:
        F0: the initial loss :math:`F(\theta_0)`.
        r: the radius.
        alpha: (alpha, L, sigma, G) the constants (:class:`~lojasgd.estimate.Estimate`) of
            Assumptions 1, 2 (on ``reach``), 4 and the largest stochastic gradient :math:`G_g`.
        L: see ``alpha``.
        sigma: see ``alpha``.
        G: see ``alpha``.
        reach: radius of the ball around θ₀ on which L was estimated (:math:`\ge r + \eta G_g`).
        eta_max: :math:`2\alpha/(L(\alpha+\sigma))` (0 when α = 0 or a constant is not finite).
        eta_best: :math:`\eta^* = \eta_{\max}/2` (NaN when the theorem does not apply).
        eta: the step the plan is evaluated at (``eta_best`` unless a step was asked for).
        q: :math:`q(\eta)`, the contraction factor of Lemma 3.3.
        K: :math:`K(\eta)`, the path constant of Lemma 3.4.
        K_limit: :math:`2\sqrt{\alpha+\sigma}/\alpha`, the η → 0 limit of K (NaN when the theorem
            does not apply).
        exit_bound: :math:`\min\{1, K(\eta)\sqrt{F_0}/r\}` (1 when the theorem does not apply).
        F0_needed: :math:`r^2/K(\eta)^2`, the initial loss below which the bound is below 1.
        failures: the reasons the theorem says nothing here, each naming the assumption and
            the numbers; empty when Theorem 3.1 applies with a bound below 1.
    """

    F0: float
    r: float
    alpha: Estimate
    L: Estimate
    sigma: Estimate
    G: Estimate
    reach: float
    eta_max: float
    eta_best: float
    eta: float
    q: float
    K: float
    K_limit: float
    exit_bound: float
    F0_needed: float
    failures: tuple[str, ...] = field(default_factory=tuple)

    @property
    def applies(self) -> bool:
        """Assumptions 1–4 hold (as estimated) and the step lies in (0, η_max)."""
        return math.isfinite(self.K)

    @property
    def ok(self) -> bool:
        """Theorem 3.1 applies and its exit bound is below 1 (a positive staying probability)."""
        return not self.failures

    @property
    def stay_bound(self) -> float:
        r"""The guaranteed probability of staying forever, :math:`1 - \min\{1, K\sqrt{F_0}/r\}`."""
        return 1.0 - self.exit_bound

    @property
    def shortfall(self) -> float:
        r"""The ratio :math:`K\sqrt{F_0}/r`, how far the bound is from saying something (below 1 when ``ok``).

        Equivalently :math:`\sqrt{F_0/F_{0,\text{needed}}}`; the initial loss would have to shrink by
        the square of this factor (NaN when the theorem does not apply).
        """
        return self.K * math.sqrt(self.F0) / self.r if self.applies else math.nan

    def __str__(self) -> str:
        rows = [
            ("F(θ₀)", f"{self.F0:.4g}"), ("r", f"{self.r:.4g}"), ("α", f"{self.alpha.value:.4g}"),
            ("L", f"{self.L.value:.4g} on B(θ₀, {self.reach:.4g})"), ("σ", f"{self.sigma.value:.4g}"),
            ("G_g", f"{self.G.value:.4g}"), ("η_max", f"{self.eta_max:.4g}"), ("η* (best)", f"{self.eta_best:.4g}"),
            ("η used", f"{self.eta:.4g}"), ("q(η)", f"{self.q:.6g}"), ("K(η)", f"{self.K:.4g}"),
            ("P(exit) ≤", f"{self.exit_bound:.4g}"), ("F0 needed", f"{self.F0_needed:.4g}"),
        ]
        verdict = "Theorem 3.1 applies: P(stay forever) ≥ " + f"{self.stay_bound:.4g}" if self.ok else \
            "Theorem 3.1 says nothing here:\n  - " + "\n  - ".join(self.failures)
        width = max(len(a) for a, _ in rows)
        return "\n".join(f"{a:<{width}}  {b}" for a, b in rows) + "\n" + verdict


def plan(
    landscape: Landscape,
    noise: Noise,
    theta0,
    r: float,
    *,
    eta: float | None = None,
    known: dict[str, float | Estimate] | None = None,
    seed: int = 0,
    n_points: int = 256,
    n_starts: int = 2,
    maxiter: int = 50,
    L_points: int | None = None,
    zero_tol: float = 1e-12,
    alpha_tol: float = 1e-9,
) -> Plan:
    r"""Estimate Assumptions 1–4 on :math:`\bar B(\theta_0, r)` and plan a constant-step SGD run by Theorem 3.1.

    Returns η_max :math:`= 2\alpha/(L(\alpha+\sigma))`, the best step
    :math:`\eta^* = \alpha/(L(\alpha+\sigma))` and Theorem 3.1(2)'s bound
    :math:`\min\{1, K(\eta)\sqrt{F(\theta_0)}/r\}` with :math:`K(\eta) = 2\sqrt{\alpha+\sigma}/(\alpha - L\eta(\alpha+\sigma)/2)`,
    evaluated at η* (or at ``eta`` if given). When the theorem does not apply, the returned
    :class:`Plan` says why in :attr:`Plan.failures`:

    * Assumption 1 fails: the estimated α is at most ``alpha_tol`` (the ball meets, to that
      accuracy, a critical point with F > 0);
    * Assumption 4 fails: σ is not finite, or the noise does not vanish at the minimum
      (``noise.vanishes_at_minimum`` is False) and the ball contains a point with
      F ≤ max(``zero_tol``, 10⁻⁶ F(θ₀)) (the noise ratio is unbounded towards the zeros);
    * the step: ``eta`` is not below η_max;
    * the bound is vacuous: :math:`K\sqrt{F_0}/r \ge 1`, with the initial loss it would need.

    Args:
        landscape, noise: the problem (any :class:`~lojasgd.landscapes.Landscape` and
            :class:`~lojasgd.noise.Noise`).
        theta0: the centre and starting point, shape (n,).
        r: the radius, r > 0.
        eta: evaluate the plan at this step instead of η* (must be > 0).
        known: closed forms or earlier estimates for ``"alpha"``, ``"L"``, ``"sigma"``, ``"G"``.
            A known L is taken to hold on all of U.
        seed: seed of the ball sampling.
        n_points: points sampled for α, σ, G (memory grows like ``n_points`` × N × n for the
            noise of a finite sum: keep it small for networks).
        n_starts, maxiter: local-optimisation options of the estimators.
        L_points: points sampled for L (default ``max(16, n_points // 8)``).
        zero_tol: a loss at or below this counts as a zero of F.
        alpha_tol: an estimated α at or below this counts as α = 0 (a sampled upper estimate of an
            infimum that is 0 is small, not exactly 0).
    """
    validation.instance("noise", noise, Noise)
    t0 = as_point(landscape, theta0)
    r = validation.positive("r", r)
    if eta is not None:
        eta = validation.positive("eta", eta)
    known = estimate.known_constants(known)
    n_points = validation.integer("n_points", n_points, low=1)
    n_starts = validation.integer("n_starts", n_starts, low=0)
    maxiter = validation.integer("maxiter", maxiter, low=0)
    L_points = max(16, n_points // 8) if L_points is None else validation.integer("L_points", L_points, low=1)
    zero_tol = validation.nonnegative("zero_tol", zero_tol)
    alpha_tol = validation.nonnegative("alpha_tol", alpha_tol)
    opts = dict(n_starts=n_starts, seed=seed, maxiter=maxiter)

    land = landscape.to(dtype=torch.float64)
    F0 = float(land.loss(t0))
    alpha = known.get("alpha") or estimate.estimate_alpha(land, t0, r, n_points=n_points, min_loss=zero_tol,
                                                              **opts)
    sigma = known.get("sigma") or estimate.estimate_sigma(land, noise, t0, r, n_points=n_points,
                                                              min_loss=zero_tol, **opts)
    G = known.get("G") or estimate.estimate_G(land, noise, t0, r, n_points=n_points, **opts)
    a, s = alpha.value, sigma.value
    failures: list[str] = []
    if not a > alpha_tol:
        failures.append(f"Assumption 1 fails: alpha={a:.4g} <= alpha_tol={alpha_tol:.3g} on B(theta0, r={r:.4g}); the ball meets a critical point "
                        "with F > 0 (take a smaller ball or a later start)")
    if not math.isfinite(s):
        failures.append(f"Assumption 4 fails: sigma={s:.4g} is not finite on B(theta0, r={r:.4g})")
    elif not noise.vanishes_at_minimum:
        lowest = estimate.inf_over_ball(lambda p: land.loss(p), t0, r, n_points=n_points, **opts).value
        if lowest <= max(zero_tol, 1e-6 * F0):
            failures.append(f"Assumption 4 fails: {noise!r} does not vanish where F vanishes, and F comes down to "
                            f"{lowest:.3g} <= max(zero_tol, 1e-6 F(theta0)) in B(theta0, r={r:.4g}), so "
                            f"sigma >= {s:.4g} grows without bound towards the zeros (the regime of Theorem 4.1)")

    known_L = known.get("L")
    good = not failures and math.isfinite(a) and math.isfinite(G.value)
    if known_L is not None:
        L, reach = known_L, math.inf
    else:
        L = estimate.estimate_L(land, t0, r, n_points=L_points, **opts)
        reach = r
        if good and L.value > 0:
            step = eta if eta is not None else theory.optimal_step(a, L.value, s)
            reach = r + step * G.value
            L_U = estimate.estimate_L(land, t0, reach, n_points=L_points, **opts)
            L = L_U if L_U.value >= L.value else L   # a larger L only shrinks η*, so U stays inside
    Lv = L.value
    if not (math.isfinite(Lv) and Lv > 0):
        failures.append(f"Assumption 2 fails: L={Lv:.4g} must be finite and > 0 on B(theta0, {reach:.4g})")
    if math.isinf(a) and not failures:
        # F vanishes on the whole ball: SGD never moves; every step is allowed, nothing can leave
        return Plan(F0, r, alpha, L, sigma, G, reach, math.inf, math.nan, math.nan if eta is None else eta,
                    0.0, 0.0, 0.0, 0.0, math.inf, ())
    nan = math.nan
    if failures:
        return Plan(F0, r, alpha, L, sigma, G, reach, 0.0, nan, nan if eta is None else eta, nan, nan, nan, 1.0,
                    0.0, tuple(failures))
    eta_max = theory.step_size_limit(a, Lv, s)
    eta_best = theory.optimal_step(a, Lv, s)
    use = eta_best if eta is None else eta
    if known_L is None and eta is not None and use * G.value + r > reach + 1e-12:
        failures.append(f"Assumption 2 unchecked: U = B(theta0, r + eta*G = {r + use * G.value:.4g}) exceeds "
                        f"the ball of radius {reach:.4g} where L was estimated")
    K_limit = 2 * math.sqrt(a + s) / a
    if not use < eta_max:
        failures.append(f"step fails: eta={use:.4g} must be below eta_max={eta_max:.4g} = 2*alpha/(L*(alpha+sigma))")
        return Plan(F0, r, alpha, L, sigma, G, reach, eta_max, eta_best, use, nan, nan, K_limit, 1.0, 0.0,
                    tuple(failures))
    q = theory.contraction_factor(use, a, Lv, s)
    K = theory.path_constant(use, a, Lv, s)
    bound = theory.markov_exit_bound(F0, r, use, a, Lv, s)
    needed = r**2 / K**2
    if not bound < 1:
        failures.append(f"bound vacuous: K*sqrt(F0)/r = {K * math.sqrt(F0) / r:.4g} >= 1; it needs "
                        f"F(theta0) < r^2/K^2 = {needed:.4g}, but F(theta0) = {F0:.4g}")
    return Plan(F0, r, alpha, L, sigma, G, reach, float(eta_max), float(eta_best), float(use), float(q), float(K),
                float(K_limit), float(bound), float(needed), tuple(failures))
