r"""Estimate the constants of Assumptions 1–4 on a ball and check Theorem 3.1's hypotheses.

On the closed ball :math:`B = \bar B(\theta_0, r)`:

* :func:`estimate_alpha` — :math:`\alpha = \inf_{\theta\in B,\,F>0}|\nabla F(\theta)|^2/F(\theta)` (Assumption 1);
* :func:`estimate_L` — :math:`L = \sup_{\theta} \|\nabla^2F(\theta)\|_2` over a ball (Assumption 2),
  by Hessian-vector products and power iteration;
* :func:`estimate_sigma` — :math:`\sigma = \sup_{\theta\in B,\,F>0} \mathbb E|g-\nabla F|^2/F` (Assumption 4);
* :func:`estimate_G` — :math:`G = \sup_{\theta\in B}\operatorname{ess\,sup}_\xi|g(\theta;\xi)|`, the
  largest (per-sample) stochastic gradient, which fixes the set U of Assumption 2;
* :func:`check_assumptions` — all of them, and Theorem 3.1's constants and verdict;
* :func:`inf_over_ball` — the same machinery for any function φ of θ (an upper estimate of
  :math:`\inf_B\varphi`);
* :func:`circle_max` — a *certified* upper bound on the maximum of a function over circles in
  the plane, from a grid and a Lipschitz margin (used for the hyperbola's constants).

An infimum or supremum over a ball cannot be computed exactly in general. Each
estimator evaluates the quantity at random points of the ball (uniform inside, and on
the sphere, plus the centre) and then improves the best few by local optimisation
with ``scipy.optimize.minimize`` (L-BFGS-B, on the smooth parametrisation
:math:`\theta = \theta_0 + r\tanh(|u|)\,u/|u|` of the open ball). Every evaluated value is
attained at a point of the ball, so the result is an **upper estimate of an infimum**
(α) and a **lower estimate of a supremum** (L, σ, G): the true α may be smaller and the
true L, σ, G larger. Where a closed form is known, pass it to :func:`check_assumptions`
through ``known``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from scipy.optimize import minimize
from torch import Tensor
from torch.func import jvp

from . import theory, validation
from .landscapes import Landscape, as_point
from .noise import Noise

__all__ = [
    "Estimate",
    "AssumptionReport",
    "sample_ball",
    "estimate_alpha",
    "estimate_L",
    "estimate_sigma",
    "estimate_G",
    "check_assumptions",
    "inf_over_ball",
    "known_constants",
    "circle_max",
]


@dataclass(frozen=True)
class Estimate:
    """An estimated extremum over a ball.

    Attributes:
        value: the best value found.
        point: where it was found (a point of the ball), shape (n,).
        kind: ``"inf"`` (the value is an upper estimate of an infimum) or ``"sup"``
            (a lower estimate of a supremum), or ``"exact"`` for a supplied closed form.
        evaluations: how many points were evaluated.
    """

    value: float
    point: np.ndarray | None
    kind: str
    evaluations: int = 0

    def __float__(self) -> float:
        return float(self.value)


def _search_options(n_points, n_starts, seed, maxiter) -> dict:
    """The options every ball search shares, validated."""
    return dict(
        n_points=validation.integer("n_points", n_points, low=1),
        n_starts=validation.integer("n_starts", n_starts, low=0),
        seed=validation.seed("seed", seed),
        maxiter=validation.integer("maxiter", maxiter, low=0),
    )


def _ball_args(landscape: Landscape, theta0, r) -> tuple[Tensor, float]:
    t0 = as_point(landscape, theta0)
    return t0, validation.positive("r", r)


def _finite(name: str, value: Tensor, pts: Tensor) -> None:
    """Raise if the landscape or the noise model returned a non-finite number at a point of the ball."""
    bad = ~torch.isfinite(value)
    if bad.ndim > 1:
        bad = bad.reshape(bad.shape[0], -1).any(-1)
    if bool(bad.any()):
        where = pts[bad.nonzero()[0, 0]] if pts.ndim > 1 else pts
        raise FloatingPointError(
            f"{name} is not finite at theta={where.tolist()} in the ball: the estimate would be meaningless"
        )


def sample_ball(theta0: Tensor, r: float, n_inside: int, n_sphere: int, generator: torch.Generator) -> Tensor:
    r"""The centre, ``n_inside`` uniform points of :math:`\bar B(\theta_0, r)` and ``n_sphere`` uniform points of its sphere.

    Returns a tensor of shape ``(1 + n_inside + n_sphere, n)`` in θ₀'s dtype.
    """
    n = theta0.shape[-1]
    z = torch.randn((n_inside + n_sphere, n), generator=generator, dtype=torch.float64)
    z = z / torch.linalg.vector_norm(z, dim=-1, keepdim=True)
    radii = torch.ones(n_inside + n_sphere, dtype=torch.float64)
    radii[:n_inside] = torch.rand(n_inside, generator=generator, dtype=torch.float64) ** (1.0 / n)
    pts = theta0.to(torch.float64) + r * radii.unsqueeze(-1) * z
    return torch.cat([theta0.to(torch.float64).unsqueeze(0), pts]).to(theta0.dtype)


def _to_ball(u: Tensor, theta0: Tensor, r: float) -> Tensor:
    s = torch.linalg.vector_norm(u)
    factor = torch.where(s > 1e-6, torch.tanh(s) / s.clamp_min(1e-6), 1 - s**2 / 3)
    return theta0 + r * factor * u


def _from_ball(theta: Tensor, theta0: Tensor, r: float) -> Tensor:
    d = theta - theta0
    rho = float(torch.linalg.vector_norm(d))
    if rho == 0:
        return torch.zeros_like(d)
    s = math.atanh(min(rho / r, 1 - 1e-12))
    return d * (s / rho)


def _extremize(
    values: Callable[[Tensor], Tensor],
    value_one: Callable[[Tensor], Tensor],
    theta0: Tensor,
    r: float,
    *,
    sense: str,
    n_points: int = 1000,
    n_starts: int = 2,
    seed: int = 0,
    maxiter: int = 100,
) -> Estimate:
    """Sample the ball, then polish the best ``n_starts`` points with L-BFGS-B.

    ``values`` maps points (N, n) to values (N,), NaN where undefined; ``value_one`` maps
    one θ to a differentiable scalar (NaN where undefined).
    """
    opts = _search_options(n_points, n_starts, seed, maxiter)
    n_points, n_starts, seed, maxiter = opts["n_points"], opts["n_starts"], opts["seed"], opts["maxiter"]
    gen = torch.Generator().manual_seed(seed)
    n_in = n_points // 2
    pts = sample_ball(theta0, r, n_in, n_points - n_in, gen)
    with torch.no_grad():
        vals = values(pts).detach().to(torch.float64)
    sign = 1.0 if sense == "min" else -1.0
    obj = sign * vals
    obj = torch.where(torch.isfinite(obj), obj, torch.full_like(obj, math.inf))
    evaluations = pts.shape[0]
    if not torch.isfinite(obj).any():
        return Estimate(math.inf if sense == "min" else -math.inf, None, "inf" if sense == "min" else "sup", evaluations)
    order = torch.argsort(obj)
    best_val, best_pt = float(obj[order[0]]), pts[order[0]].clone()

    state = {"val": best_val, "pt": best_pt, "n": 0}

    def fun(u_np: np.ndarray) -> tuple[float, np.ndarray]:
        u = torch.tensor(u_np, dtype=theta0.dtype, requires_grad=True)
        th = _to_ball(u, theta0, r)
        v = sign * value_one(th)
        state["n"] += 1
        if not torch.isfinite(v):
            return math.inf, np.zeros_like(u_np)
        (gu,) = torch.autograd.grad(v, u)
        fv = float(v.detach())
        if fv < state["val"]:
            state["val"], state["pt"] = fv, th.detach().clone()
        gnp = gu.detach().numpy().astype(float)
        if not np.all(np.isfinite(gnp)):
            return fv, np.zeros_like(u_np)
        return fv, gnp

    if n_starts > 0 and maxiter > 0:
        for idx in order[: min(n_starts, int(torch.isfinite(obj).sum()))]:
            u0 = _from_ball(pts[idx], theta0, r).detach().numpy().astype(float)
            try:
                minimize(fun, u0, jac=True, method="L-BFGS-B", options={"maxiter": maxiter})
            except (ValueError, RuntimeError, FloatingPointError):
                continue  # keep the best point seen so far
    return Estimate(
        sign * state["val"], state["pt"].detach().numpy(), "inf" if sense == "min" else "sup", evaluations + state["n"]
    )


def estimate_alpha(
    landscape: Landscape,
    theta0,
    r: float,
    *,
    n_points: int = 2000,
    n_starts: int = 4,
    seed: int = 0,
    min_loss: float = 1e-12,
    maxiter: int = 200,
) -> Estimate:
    r"""Upper estimate of :math:`\alpha(\theta_0, r) = \inf_{\theta\in B,\,F(\theta)>0}|\nabla F(\theta)|^2/F(\theta)` (Assumption 1).

    Points with :math:`F \le` ``min_loss`` are skipped (the ratio is 0/0 there). Returns
    ``inf`` if F ≤ ``min_loss`` at every sampled point (α = +∞ when F vanishes on B).

    Closed forms to compare with: flat valley α = 2; hyperbola :math:`2(|\theta_0|-r)^2`;
    linear regression :math:`2\lambda_{\min}(G_X)/N` on a ball containing a zero.
    """
    t0, r = _ball_args(landscape, theta0, r)
    min_loss = validation.nonnegative("min_loss", min_loss)
    land = landscape.to(dtype=torch.float64)

    def values(pts: Tensor) -> Tensor:
        F, g = land.value_and_grad(pts)
        _finite("F", F, pts)
        _finite("grad F", g, pts)
        ratio = (g**2).sum(-1) / F
        return torch.where(F > min_loss, ratio, torch.nan)

    def value_one(th: Tensor) -> Tensor:
        F, g = land.value_and_grad(th.unsqueeze(0))
        F, g = F[0], g[0]
        return (g**2).sum() / F if float(F.detach()) > min_loss else torch.tensor(math.nan, dtype=th.dtype)

    return _extremize(values, value_one, t0, r, sense="min", n_points=n_points, n_starts=n_starts, seed=seed,
                      maxiter=maxiter)


def _power_iteration(land: Landscape, pts: Tensor, n_iter: int, gen: torch.Generator) -> tuple[Tensor, Tensor]:
    """Largest-magnitude Hessian eigenvalue magnitude and eigenvector at each point (batched)."""
    v = torch.randn(pts.shape, generator=gen, dtype=pts.dtype)
    v = v / torch.linalg.vector_norm(v, dim=-1, keepdim=True)
    lam = torch.zeros(pts.shape[0], dtype=pts.dtype)
    for _ in range(n_iter):
        w = land.hvp(pts, v)
        lam = torch.linalg.vector_norm(w, dim=-1)
        v = w / lam.clamp_min(1e-300).unsqueeze(-1)
    return lam, v


def estimate_L(
    landscape: Landscape,
    theta0,
    r: float,
    *,
    n_points: int = 256,
    n_iter: int = 50,
    n_starts: int = 2,
    seed: int = 0,
    maxiter: int = 50,
) -> Estimate:
    r"""Lower estimate of :math:`L = \sup_{\theta\in\bar B(\theta_0,r)}\|\nabla^2F(\theta)\|_2` (Assumption 2).

    The spectral norm at each point is the largest eigenvalue magnitude, found by
    ``n_iter`` steps of power iteration on Hessian-vector products (``torch.func.jvp`` of
    the gradient). Local maximisation uses the Hellmann–Feynman gradient
    :math:`\nabla_\theta(v^\top\nabla^2F(\theta)v)` at the current eigenvector v. Pass the
    radius of the set U of Assumption 2 (for instance r + η̄G) as ``r``.
    """
    t0, r = _ball_args(landscape, theta0, r)
    n_iter = validation.integer("n_iter", n_iter, low=1)
    seed = validation.seed("seed", seed)
    land = landscape.to(dtype=torch.float64)
    gen = torch.Generator().manual_seed(min(seed + 1, validation.SEED_MAX))

    def values(pts: Tensor) -> Tensor:
        lam, _ = _power_iteration(land, pts, n_iter, gen)
        _finite("the Hessian norm", lam, pts)
        return lam

    warm: dict[str, Tensor] = {}

    def value_one(th: Tensor) -> Tensor:
        # power iteration warm-started from the last eigenvector: a few steps suffice
        with torch.no_grad():
            v = warm.get("v")
            p = th.detach().unsqueeze(0)
            if v is None:
                _, v = _power_iteration(land, p, n_iter, gen)
            else:
                for _ in range(max(3, n_iter // 5)):
                    w = land.hvp(p, v)
                    v = w / torch.linalg.vector_norm(w, dim=-1, keepdim=True).clamp_min(1e-300)
            warm["v"] = v
        v = v[0]
        return (v @ jvp(land.grad_one, (th,), (v,))[1]).abs()

    return _extremize(values, value_one, t0, r, sense="max", n_points=n_points, n_starts=n_starts, seed=seed,
                      maxiter=maxiter)


def _noise_sup(landscape: Landscape, noise: Noise, theta0, r, values_of) -> tuple[Callable, Callable, Tensor, float, Landscape]:
    """The pieces every noise estimator shares: checked ball, float64 landscape, batched and one-point values."""
    t0, r = _ball_args(landscape, theta0, r)
    validation.instance("noise", noise, Noise)
    land = landscape.to(dtype=torch.float64)

    def values(pts: Tensor) -> Tensor:
        return values_of(land, pts)

    def value_one(th: Tensor) -> Tensor:
        return values_of(land, th.unsqueeze(0))[0]

    return values, value_one, t0, r, land


def estimate_sigma(
    landscape: Landscape,
    noise: Noise,
    theta0,
    r: float,
    *,
    n_points: int = 2000,
    n_starts: int = 2,
    seed: int = 0,
    min_loss: float = 1e-12,
    maxiter: int = 100,
) -> Estimate:
    r"""Lower estimate of :math:`\sigma = \sup_{\theta\in B,\,F>0}\mathbb E|g(\theta;\xi)-\nabla F(\theta)|^2/F(\theta)` (Assumption 4).

    Uses the noise model's exact variance (:meth:`~lojasgd.noise.Noise.variance`). Returns
    ``inf``-like large values when the noise does not vanish with F near its zero set
    (bounded noise): Assumption 4 then fails on balls that meet the zero set.
    """
    min_loss = validation.nonnegative("min_loss", min_loss)

    def ratio(land: Landscape, pts: Tensor) -> Tensor:
        F = land.loss(pts)
        _finite("F", F, pts)
        return torch.where(F > min_loss, noise.variance(land, pts) / F, torch.nan)

    values, value_one, t0, r, _ = _noise_sup(landscape, noise, theta0, r, ratio)
    return _extremize(values, value_one, t0, r, sense="max", n_points=n_points, n_starts=n_starts, seed=seed,
                      maxiter=maxiter)


def estimate_G(landscape: Landscape, noise: Noise, theta0, r: float, *, n_points: int = 2000, n_starts: int = 2,
               seed: int = 0, maxiter: int = 100) -> Estimate:
    r"""Lower estimate of :math:`G = \sup_{\theta\in B}\operatorname{ess\,sup}_\xi|g(\theta;\xi)|` (largest stochastic gradient).

    For mini-batches of a finite sum this is the largest per-sample gradient
    :math:`\max_i|\nabla f_i|` over the ball. One SGD step from B moves at most η̄G, so
    Assumption 2 holds with :math:`U = \bar B(\theta_0, r + \bar\eta G)`. ``inf`` for
    unbounded (Gaussian) noise.
    """
    values, value_one, t0, r, _ = _noise_sup(landscape, noise, theta0, r, lambda land, pts: noise.max_norm(land, pts))
    with torch.no_grad():
        if math.isinf(float(values(t0.unsqueeze(0))[0])):
            return Estimate(math.inf, t0.numpy(), "sup", 1)
    return _extremize(values, value_one, t0, r, sense="max", n_points=n_points, n_starts=n_starts, seed=seed,
                      maxiter=maxiter)


@dataclass
class AssumptionReport:
    r"""Constants of Assumptions 1–4 on :math:`\bar B(\theta_0, r)` and Theorem 3.1's verdict.

    Attributes:
        F0: (F0, r, eta) the initial loss, the radius, the (largest) step η̄.
        r: see ``F0``.
        eta: see ``F0``.
        alpha: (alpha, L, sigma, G) the :class:`Estimate` of each constant (``kind="exact"`` if supplied as
        L: see ``alpha``.
        sigma: see ``alpha``.
        G: see ``alpha``.
            a number); G is the largest stochastic gradient (G_g in the book).
        reach: radius of the ball around θ₀ on which L was estimated (r + η̄G by default).
        eta_max: (eta_max, q, K) :func:`~lojasgd.theory.step_size_limit`, :func:`~lojasgd.theory.contraction_factor`,
        q: see ``eta_max``.
        K: see ``eta_max``.
            :func:`~lojasgd.theory.path_constant` (NaN when η̄ ≥ η_max).
        exit_bound: Theorem 3.1(2)'s bound min(1, K√F0/r) (1 when it does not apply).
        chatterjee: Chatterjee's condition 4F0 < r²α.
        checks: each hypothesis of Theorem 3.1 and whether it holds.
    """

    F0: float
    r: float
    eta: float
    alpha: Estimate
    L: Estimate
    sigma: Estimate
    G: Estimate
    reach: float
    eta_max: float
    q: float
    K: float
    exit_bound: float
    chatterjee: bool
    checks: dict[str, bool] = field(default_factory=dict)

    @property
    def hypotheses_hold(self) -> bool:
        """All hypotheses of Theorem 3.1 hold (with the estimated constants)."""
        return all(self.checks.values())

    @property
    def stay_probability_bound(self) -> float:
        """Theorem 3.1(2)'s guarantee 1 − min(1, K√F0/r) on staying in the ball forever."""
        return 1.0 - self.exit_bound

    def rows(self) -> list[tuple[str, str, str]]:
        """(quantity, value, meaning) rows, used by the text and markdown renderings."""

        def kind(e: Estimate) -> str:
            return {"inf": "upper estimate of inf", "sup": "lower estimate of sup", "exact": "closed form"}[e.kind]

        return [
            ("F(θ₀)", f"{self.F0:.4g}", "initial loss"),
            ("r", f"{self.r:.4g}", "radius of the ball"),
            ("α", f"{self.alpha.value:.4g}", f"Assumption 1, {kind(self.alpha)}"),
            ("L", f"{self.L.value:.4g}", f"Assumption 2 on B(θ₀, {self.reach:.4g}), {kind(self.L)}"),
            ("σ", f"{self.sigma.value:.4g}", f"Assumption 4, {kind(self.sigma)}"),
            ("G_g", f"{self.G.value:.4g}", f"largest stochastic gradient, {kind(self.G)}"),
            ("η̄ / η_max", f"{self.eta:.4g} / {self.eta_max:.4g}", "step and its limit 2α/(L(α+σ))"),
            ("q(η̄)", f"{self.q:.4g}", "contraction factor (Lemma 3.3)"),
            ("K(η̄)", f"{self.K:.4g}", "path constant (Lemma 3.4)"),
            ("P(exit) ≤", f"{self.exit_bound:.4g}", "Theorem 3.1(2)"),
        ] + [(name, "yes" if ok else "NO", "hypothesis") for name, ok in self.checks.items()]

    def __str__(self) -> str:
        width = max(len(a) for a, _, _ in self.rows())
        return "\n".join(f"{a:<{width}}  {b:>14}  {c}" for a, b, c in self.rows())

    def _repr_markdown_(self) -> str:
        lines = ["| quantity | value | meaning |", "|---|---|---|"]
        lines += [f"| {a} | {b} | {c} |" for a, b, c in self.rows()]
        return "\n".join(lines)


#: the constants that ``known`` may give instead of estimating them
KNOWN_KEYS = ("alpha", "L", "sigma", "G")


def known_constants(known: dict | None) -> dict[str, Estimate]:
    """``known`` checked and as :class:`Estimate` objects: keys among α, L, σ, G; values numbers or Estimates.

    A number is taken as a closed form (``kind="exact"``), ≥ 0, and α may be +∞ (F vanishes on
    the whole ball); an :class:`Estimate` computed earlier is kept as it is.
    """
    if known is None:
        return {}
    if not isinstance(known, dict):
        raise TypeError(f"known={known!r} must be a dict of constants, got {type(known).__name__}")
    unknown = set(known) - set(KNOWN_KEYS)
    if unknown:
        raise ValueError(f"known has unexpected keys {sorted(unknown)}; allowed: {', '.join(KNOWN_KEYS)}")
    out = {}
    for name, v in known.items():
        if isinstance(v, Estimate):
            out[name] = v
        elif name == "alpha" and validation.is_plus_infinity(v):
            out[name] = Estimate(math.inf, None, "exact")  # F vanishes on the whole ball
        else:
            out[name] = Estimate(validation.nonnegative(f"known[{name!r}]", v), None, "exact")
    return out


def check_assumptions(
    landscape: Landscape,
    noise: Noise,
    theta0,
    r: float,
    eta: float,
    *,
    known: dict[str, float | Estimate] | None = None,
    reach: float | None = None,
    seed: int = 0,
    n_points: int = 1000,
    n_starts: int | None = None,
    maxiter: int | None = None,
    L_points: int | None = None,
) -> AssumptionReport:
    r"""Estimate α, L, σ and G on :math:`\bar B(\theta_0, r)` and check the hypotheses of Theorem 3.1.

    Assumption 2 is checked on :math:`U = \bar B(\theta_0, r + \bar\eta G)`, which contains every
    point reachable in one step from the ball (G is the largest stochastic gradient,
    written :math:`G_g` in the book). Entries of ``known`` (keys ``"alpha"``, ``"L"``,
    ``"sigma"``, ``"G"``) replace the estimates: a number is used as a closed form, an
    :class:`Estimate` computed earlier is reused as it is (keeping its kind).

    Args:
        landscape, noise: the problem.
        theta0: the starting point and centre, shape (n,).
        r: the radius.
        eta: the largest step η̄ that SGD will use.
        known: closed-form constants or earlier estimates to use instead of estimating.
        reach: radius of the ball around θ₀ on which L is (or was) estimated; default
            :math:`r + \bar\eta G`. Required with an estimated ``known["L"]``. When given, the
            report checks that U lies inside that ball.
        seed: seed of the sampling.
        n_points: points sampled for each estimate.
        n_starts, maxiter: local-optimisation options passed to every estimator (None keeps
            each estimator's default).
        L_points: points sampled for L (default ``max(16, n_points // 8)``).
    """
    t0, r = _ball_args(landscape, theta0, r)
    validation.instance("noise", noise, Noise)
    eta = validation.positive("eta", eta)
    known = known_constants(known)
    if reach is not None:
        reach = validation.real("reach", reach, lower=r)
    if isinstance(known.get("L"), Estimate) and known["L"].kind != "exact" and reach is None:
        raise ValueError("reach is required with an estimated known['L']: the radius of the ball where L was estimated")
    opts = {k: v for k, v in (("n_starts", n_starts), ("maxiter", maxiter)) if v is not None}
    n_points = validation.integer("n_points", n_points, low=1)
    if L_points is not None:
        L_points = validation.integer("L_points", L_points, low=1)

    given = known.get

    land = landscape.to(dtype=torch.float64)
    alpha = given("alpha") or estimate_alpha(land, t0, r, n_points=n_points, seed=seed, **opts)
    sigma = given("sigma") or estimate_sigma(land, noise, t0, r, n_points=n_points, seed=seed, **opts)
    G = given("G") or estimate_G(land, noise, t0, r, n_points=n_points, seed=seed, **opts)
    needed = r + eta * G.value
    L_reach = needed if reach is None else reach
    L = given("L")
    if L is None:
        if not math.isfinite(L_reach):
            raise ValueError(
                "the noise is unbounded (G = inf), so Assumption 2 needs a global Lipschitz constant: pass known={'L': ...}"
            )
        L_n = max(16, n_points // 8) if L_points is None else L_points
        L = estimate_L(land, t0, L_reach, n_points=L_n, seed=seed, **opts)
    F0 = float(land.loss(t0))
    a, Lv, s = alpha.value, L.value, sigma.value
    finite = math.isfinite(a) and a > 0 and math.isfinite(Lv) and Lv > 0 and math.isfinite(s)
    eta_max = theory.step_size_limit(a, Lv, s) if finite else (math.inf if a == math.inf else 0.0)
    if finite and eta < eta_max:
        q = theory.contraction_factor(eta, a, Lv, s)
        K = theory.path_constant(eta, a, Lv, s)
        bound = theory.markov_exit_bound(F0, r, eta, a, Lv, s)
    else:
        q = K = math.nan
        bound = 1.0
    checks = {"Assumption 1: α > 0": a > 0, "Assumption 2: L finite on U": math.isfinite(Lv)}
    if reach is not None:
        checks["Assumption 2: U = B(θ₀, r + η̄G_g) inside the ball where L was estimated"] = needed <= reach
    checks.update({
        "Assumption 4: σ finite": math.isfinite(s),
        "step: η̄ < η_max": finite and eta < eta_max,
        "Theorem 3.1(2) informative: K√F0/r < 1": bool(finite and eta < eta_max and bound < 1),
    })
    return AssumptionReport(
        F0=F0, r=r, eta=float(eta), alpha=alpha, L=L, sigma=sigma, G=G, reach=float(L_reach), eta_max=float(eta_max),
        q=float(q), K=float(K), exit_bound=float(bound),
        chatterjee=theory.chatterjee_condition(F0, r, a) if a > 0 else False, checks=checks,
    )


def inf_over_ball(
    values: Callable[[Tensor], Tensor],
    theta0,
    r: float,
    *,
    value_one: Callable[[Tensor], Tensor] | None = None,
    n_points: int = 1000,
    n_starts: int = 2,
    seed: int = 0,
    maxiter: int = 100,
) -> Estimate:
    r"""Upper estimate of :math:`\inf_{\theta\in\bar B(\theta_0,r)}\phi(\theta)` by sampling and L-BFGS-B.

    The sampler and optimiser of the estimators above: φ at the centre, at
    ``n_points`` uniform points of the ball and of its sphere, then local minimisation from
    the best ``n_starts`` of them. Every value found is attained in the ball, so the result
    is :math:`\ge` the true infimum.

    Args:
        values: φ batched, mapping points of shape (N, n) to shape (N,) (NaN where undefined).
        theta0: the centre, shape (n,) (float64 is used).
        r: radius > 0.
        value_one: φ of one θ of shape (n,) as a differentiable scalar (default: ``values`` of
            the point as a batch of one).
        n_points, n_starts, seed, maxiter: as in :func:`estimate_alpha`.
    """
    if not callable(values):
        raise TypeError(f"values={values!r} must be callable")
    r = validation.positive("r", r)
    if isinstance(theta0, Tensor):
        dim = theta0.shape[-1] if theta0.ndim == 1 else -1
    else:
        dim = np.shape(theta0)[-1] if np.ndim(theta0) == 1 else -1
    if dim < 1:
        raise ValueError(f"theta0 must have shape (n,), got {tuple(np.shape(theta0))}")
    t0 = validation.theta("theta0", theta0, dim, ndim=1, dtype=torch.float64)
    one = value_one if value_one is not None else (lambda th: values(th.unsqueeze(0))[0])
    return _extremize(values, one, t0, r, sense="min", n_points=n_points, n_starts=n_starts, seed=seed,
                      maxiter=maxiter)


def circle_max(fn, center, r, *, n_angles: int = 2048, refine: int = 40, lipschitz=None) -> np.ndarray:
    r"""Maximum of ``fn(a, b)`` over the circles :math:`|\theta - c| = R`, element-wise.

    ``center`` has shape (..., 2) and the radii ``r`` shape (...) (broadcast).

    * Without ``lipschitz`` (an estimate, never above the true maximum up to rounding): the
      maximum over ``n_angles`` equally spaced angles, refined by ``refine`` golden-section
      steps in the bracket around the best angle.
    * With ``lipschitz`` :math:`\Lambda` (broadcast with ``r``), a bound on the rate of
      change of ``fn`` per unit arc length along the circle (for example a bound on
      :math:`|\nabla\mathrm{fn}|` on the disc): the certified upper bound
      :math:`\max_j \mathrm{fn}(\theta_j) + \pi R\Lambda/m` with :math:`m` = ``n_angles``, since
      every point of the circle lies within arc length :math:`\pi R/m` of a grid point.
    """
    if not callable(fn):
        raise TypeError(f"fn={fn!r} must be callable")
    n_angles = validation.integer("n_angles", n_angles, low=8)
    refine = validation.integer("refine", refine, low=0)
    center = validation.theta("center", center, 2, dtype=torch.float64).numpy()
    radius = validation.real_array("r", r, lower=0.0)
    shape = np.broadcast_shapes(center.shape[:-1], radius.shape)
    if lipschitz is not None:
        lipschitz = validation.real_array("lipschitz", lipschitz, lower=0.0)
        shape = np.broadcast_shapes(shape, lipschitz.shape)
    c = np.broadcast_to(center, shape + (2,)).reshape(-1, 2)
    R = np.broadcast_to(radius, shape).reshape(-1)

    def value(phi: np.ndarray) -> np.ndarray:  # phi: (m, k)
        return fn(c[:, :1] + R[:, None] * np.cos(phi), c[:, 1:] + R[:, None] * np.sin(phi))

    h = 2 * np.pi / n_angles
    grid = np.arange(n_angles) * h
    vals = value(np.broadcast_to(grid, (c.shape[0], n_angles)))
    if not np.all(np.isfinite(vals)):
        raise FloatingPointError("fn is not finite at some point of the circles: its maximum would be meaningless")
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
