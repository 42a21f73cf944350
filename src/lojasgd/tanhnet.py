r"""Chapter 5's deep tanh network: certified constants on a ball, estimates, and the step they dictate.

The network is :class:`~lojasgd.landscapes.TanhNetwork`,
:math:`\hat y(x;\theta) = v^\top\tanh(W_{D-1}\cdots\tanh(W_2\tanh(W_1x)))`, with the squared loss
:math:`F(\theta) = \frac1N\sum_i(\hat y(x_i;\theta) - y_i)^2` (its loss, gradients and
Hessian-vector products are computed there by explicit batched back-propagation). This module adds

* :func:`ball_bounds` — *proved* bounds on :math:`\bar B(\theta_0, r)` around a point with
  :math:`W_1 = 0` (Chatterjee-style initialisation, Proposition ``prop-tanh-init``): a lower
  bound on the first-layer sensitivities :math:`\min_i|\delta_i(\theta)|`, hence on the
  Łojasiewicz constant α (Proposition ``prop-tanh-alpha``), and an upper bound Γ on the
  output gradients :math:`|\nabla_\theta\hat y(x_i;\theta)|`, hence on the noise constant
  :math:`\sigma = 4\Gamma^2/b` (Proposition ``prop-tanh-noise``);
* :func:`inf_over_ball` and :func:`schur_infimum` — the infimum of a function over the ball
  estimated by sampling and local optimisation (an *upper* estimate of the infimum), with the
  machinery of :mod:`lojasgd.assumptions`;
* :func:`ball_plan` — for a Chatterjee-style start: the proved bounds, the step chosen from
  them, and the estimated constants with Theorem 3.1's verdict, for several batch sizes;
* :func:`restart_stay_bound` — Theorem 3.1 restarted at the end of a finite run, with
  Hoeffding's inequality: a lower confidence bound on the probability of staying forever;
* :func:`minibatch_variance_factor` — the factor :math:`1/b` or :math:`(N-b)/(b(N-1))` by
  which a mini-batch of size b divides the one-sample noise variance.

Notation of the bounds (chapter 5). Pre-activations :math:`u_1 = W_1x`,
:math:`u_k = W_kz_{k-1}`, :math:`z_k = \tanh u_k` (:math:`z_0 = x`),
:math:`D_k = \operatorname{diag}(\tanh'(u_k))`, and
:math:`\delta = \partial\hat y/\partial u_1 = D_1W_2^\top D_2\cdots W_{D-1}^\top D_{D-1}v`.
On the ball, with :math:`\chi = \max_i|x_i|`, :math:`\omega_k = \|W_k^0\|_2 + r`,
:math:`\rho_1 = r\chi`, :math:`\rho_k = \omega_k\rho_{k-1}`:
:math:`|u_k| \le \rho_k` and :math:`\|D_k - I\|_2 \le \tanh^2\rho_k`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from . import theory
from .assumptions import (
    AssumptionReport,
    Estimate,
    _extremize,
    check_assumptions,
    estimate_L,
)
from .landscapes import TanhNetwork, as_theta
from .noise import MiniBatch

__all__ = [
    "TanhBallBounds",
    "ball_bounds",
    "inf_over_ball",
    "schur_infimum",
    "minibatch_variance_factor",
    "BallPlan",
    "ball_plan",
    "restart_stay_bound",
]


def minibatch_variance_factor(n: int, batch_size: int, replace: bool = True) -> float:
    r"""The factor by which a mini-batch divides the one-sample noise variance.

    For :math:`g = \frac1b\sum_{j<b}\nabla f_{i_j}` with indices i.i.d. uniform (``replace=True``)
    or a uniform b-subset of {0, …, n−1} (``replace=False``),

    .. math:: \mathbb E|g-\nabla F|^2 = c\,V,\qquad V = \frac1n\sum_i|\nabla f_i-\nabla F|^2,\qquad
              c = \frac1b \ \text{or}\ \frac{n-b}{b(n-1)}

    (chapter 5, Proposition ``prop-tanh-noise``; c = 1/b when n = 1).
    """
    for name, v in (("n", n), ("batch_size", batch_size)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"{name}={v!r} must be an integer >= 1")
    if not replace and batch_size > n:
        raise ValueError(f"batch_size={batch_size} must be <= n={n} without replacement")
    if replace or n == 1:
        return 1.0 / batch_size
    return (n - batch_size) / (batch_size * (n - 1))


@dataclass(frozen=True)
class TanhBallBounds:
    r"""Proved constants of the deep tanh network on :math:`\bar B(\theta_0, r)`, where :math:`W_1^0 = 0`.

    Attributes:
        r: the radius.
        scale: λ = |v⁰|, the size of the output weights at θ₀.
        delta0: :math:`|\delta_i(\theta_0)| = |W_2^{0\top}\cdots W_{D-1}^{0\top}v^0|` (the same for every i).
        e_scale, e_offset: :math:`|\delta_i(\theta)-\delta_i(\theta_0)| \le \lambda e_1 + r e_2` on the ball.
        delta_lower: :math:`\max(0, |\delta_0| - \lambda e_1 - re_2) \le \inf_B\min_i|\delta_i|`.
        gram_min: :math:`\lambda_{\min}(G_X)`.
        alpha_lower: :math:`\frac4n\lambda_{\min}(G_X)\,\delta_{\rm lower}^2 \le \alpha(\theta_0, r)`.
        schur_centre: the pointwise Schur bound at θ₀, :math:`\frac4n\lambda_{\min}(G_X)|\delta_0|^2`.
        out_scale, out_offset: :math:`\Gamma^2 \le (\lambda + r)^2 A + B` with A = ``out_scale``, B = ``out_offset``.
        gamma_upper: that bound on :math:`\Gamma = \sup_B\max_i|\nabla_\theta\hat y(x_i;\theta)|`.
        noise_factor: :func:`minibatch_variance_factor` of the sampling scheme.
        sigma_upper: :math:`4\Gamma^2\times` ``noise_factor`` ≥ the σ of Assumption 4.
        output_upper: :math:`\sup_B\max_i|\hat y(x_i;\theta)| \le (\lambda + r)\min(\rho_{D-1}, \sqrt h)`.
        grad_upper: :math:`G \le 2(\max_i|y_i| + \text{output\_upper})\,\Gamma`, the largest
            per-sample gradient :math:`|\nabla f_i|` on the ball (so one step moves at most ηG).
        F0: the initial loss :math:`F(\theta_0) = \frac1N\sum_iy_i^2`.
        n_samples: N.
    """

    r: float
    scale: float
    delta0: float
    e_scale: float
    e_offset: float
    delta_lower: float
    gram_min: float
    alpha_lower: float
    schur_centre: float
    out_scale: float
    out_offset: float
    gamma_upper: float
    noise_factor: float
    sigma_upper: float
    output_upper: float
    grad_upper: float
    F0: float
    n_samples: int

    @property
    def K_optimal(self) -> float:
        r"""Path constant at the optimal step, :math:`K(\eta^*) = 4\sqrt{\alpha+\sigma}/\alpha`, with the proved α and σ (``inf`` if α = 0).

        It does not depend on L: any Lipschitz constant L of ∇F on U, with the step
        :math:`\eta^* = \alpha/(L(\alpha+\sigma))`, gives Theorem 3.1 this K.
        """
        if self.alpha_lower <= 0:
            return math.inf
        return 4 * math.sqrt(self.alpha_lower + self.sigma_upper) / self.alpha_lower

    @property
    def stay_probability_bound(self) -> float:
        r"""Theorem 3.1(2) with the proved constants: :math:`1 - \min(1, K(\eta^*)\sqrt{F_0}/r)`."""
        K = self.K_optimal
        return 0.0 if math.isinf(K) else 1 - min(1.0, K * math.sqrt(self.F0) / self.r)

    @property
    def deficit_limit(self) -> float:
        r"""The limit of :math:`\lambda K(\eta^*)\sqrt{F_0}/r` as λ → ∞ with the hidden weights and r fixed.

        With :math:`c = \delta_0/\lambda` and :math:`a = \frac4N\lambda_{\min}(G_X)(|c| - e_1)^2`, it is
        :math:`4\sqrt{F_0}\sqrt{a + 4c_bA}/(a r)` (``inf`` when :math:`|c| \le e_1`): the proved
        guarantee is :math:`1 - \text{deficit\_limit}/\lambda + o(1/\lambda)`.
        """
        slack = self.delta0 / self.scale - self.e_scale
        if slack <= 0:
            return math.inf
        a = 4 / self.n_samples * self.gram_min * slack**2
        return 4 * math.sqrt(self.F0) * math.sqrt(a + 4 * self.noise_factor * self.out_scale) / (a * self.r)


def _positive_float(name: str, v) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
        raise ValueError(f"{name}={v!r} must be a finite number > 0")
    return float(v)


def ball_bounds(
    net: TanhNetwork, theta0, r: float, *, batch_size: int = 1, replace: bool = True
) -> TanhBallBounds:
    r"""Proved bounds on :math:`\inf_B\min_i|\delta_i|`, α, Γ and σ on :math:`B = \bar B(\theta_0, r)` when :math:`W_1^0 = 0`.

    At such a θ₀ every pre-activation vanishes, every :math:`D_k = I` and
    :math:`\delta_i(\theta_0) = \delta_0 = W_2^{0\top}\cdots W_{D-1}^{0\top}v^0`. On the ball,
    the factors of :math:`\delta = X_1X_2\cdots X_m` (:math:`D_1, W_2^\top, D_2, \dots, D_{D-1}, v`)
    obey :math:`\|X_j\|\le\beta_j`, :math:`\|X_j^0\|=\beta_j^0`, :math:`\|X_j-X_j^0\|\le\varepsilon_j`
    with (β, β⁰, ε) = (1, 1, tanh²ρ_k) for :math:`D_k`, (ω_k, ‖W_k⁰‖, r) for :math:`W_k^\top`,
    (λ + r, λ, r) for v, and the telescoping identity gives

    .. math:: |\delta-\delta_0| \le \sum_j\Big(\prod_{i<j}\beta_i\Big)\varepsilon_j\Big(\prod_{i>j}\beta_i^0\Big)
              = \lambda e_1 + re_2 .

    The output gradients obey :math:`|\nabla\hat y|^2 = \sum_k|\delta^{(k)}|^2|z_{k-1}|^2 + |z_{D-1}|^2`
    with :math:`|\delta^{(k)}| \le (\lambda+r)\prod_{j>k}\omega_j`, :math:`|z_0| \le \chi`,
    :math:`|z_k| \le \min(\rho_k, \sqrt h)`, and :math:`|\hat y| = |v^\top z_{D-1}| \le (\lambda+r)|z_{D-1}|`.

    Args:
        net: a :class:`~lojasgd.landscapes.TanhNetwork`.
        theta0: the centre, shape (dim,), with its W₁ block equal to 0.
        r: radius > 0.
        batch_size, replace: the mini-batch scheme for σ (see :func:`minibatch_variance_factor`).

    Returns:
        A :class:`TanhBallBounds`.
    """
    if not isinstance(net, TanhNetwork):
        raise TypeError(f"net must be a TanhNetwork, got {type(net).__name__}")
    r = _positive_float("r", r)
    factor = minibatch_variance_factor(net.n_samples, batch_size, replace)
    t0 = as_theta(theta0, net.dim, name="theta0", dtype=torch.float64)
    if t0.ndim != 1:
        raise ValueError(f"theta0 must have shape ({net.dim},), got {tuple(t0.shape)}")
    W1, *hidden, v = net.unflatten(t0)
    if bool((W1 != 0).any()):
        raise ValueError("theta0 must have W_1 = 0: the bounds expand around a point where every pre-activation vanishes")
    X = net.X.to(torch.float64)
    y = net.y.to(torch.float64)
    chi = float(torch.linalg.vector_norm(X, dim=1).max())
    lam = float(torch.linalg.vector_norm(v))
    h = net.width

    norms0 = [float(torch.linalg.matrix_norm(W, ord=2)) for W in hidden]
    omegas = [s + r for s in norms0]
    rhos = [r * chi]
    for om in omegas:
        rhos.append(om * rhos[-1])  # rho_1, ..., rho_{D-1}

    # factors of delta: D_1, W_2^T, D_2, ..., W_{D-1}^T, D_{D-1}, then v
    beta, beta0, eps = [1.0], [1.0], [math.tanh(rhos[0]) ** 2]
    for k, (om, s0) in enumerate(zip(omegas, norms0)):
        beta += [om, 1.0]
        beta0 += [s0, 1.0]
        eps += [r, math.tanh(rhos[k + 1]) ** 2]
    m = len(beta)  # the factors before v
    e_scale = 0.0
    for j in range(m):
        e_scale += math.prod(beta[:j]) * eps[j] * math.prod(beta0[j + 1:])
    e_offset = math.prod(beta)  # the v factor: (prod_{i<m} beta_i) * r, divided by r

    delta_vec = v
    for W in reversed(hidden):
        delta_vec = W.T @ delta_vec
    delta0 = float(torch.linalg.vector_norm(delta_vec))
    delta_lower = max(0.0, delta0 - lam * e_scale - r * e_offset)
    gram_min = max(0.0, float(torch.linalg.eigvalsh(X @ X.T)[0]))
    n = net.n_samples

    # output gradients: blocks W_1..W_{D-1} and v
    zeta = [chi] + [min(rho, math.sqrt(h)) for rho in rhos]  # bounds on |z_0|, ..., |z_{D-1}|
    out_scale = 0.0
    for k in range(len(hidden) + 1):  # block W_{k+1}: delta^{(k+1)} z_k^T
        out_scale += math.prod(omegas[k:]) ** 2 * zeta[k] ** 2
    out_offset = zeta[-1] ** 2
    gamma_upper = math.sqrt((lam + r) ** 2 * out_scale + out_offset)
    output_upper = (lam + r) * zeta[-1]
    grad_upper = 2 * (float(y.abs().max()) + output_upper) * gamma_upper
    return TanhBallBounds(
        r=r, scale=lam, delta0=delta0, e_scale=e_scale, e_offset=e_offset, delta_lower=delta_lower,
        gram_min=gram_min, alpha_lower=4 / n * gram_min * delta_lower**2, schur_centre=4 / n * gram_min * delta0**2,
        out_scale=out_scale, out_offset=out_offset, gamma_upper=gamma_upper, noise_factor=factor,
        sigma_upper=4 * gamma_upper**2 * factor, output_upper=output_upper, grad_upper=grad_upper,
        F0=float((y**2).mean()), n_samples=n,
    )


def inf_over_ball(
    values: Callable[[Tensor], Tensor],
    theta0,
    r: float,
    *,
    value_one: Callable[[Tensor], Tensor] | None = None,
    n_samples: int = 1000,
    n_starts: int = 2,
    seed: int = 0,
    maxiter: int = 100,
) -> Estimate:
    r"""Upper estimate of :math:`\inf_{\theta\in\bar B(\theta_0,r)}\phi(\theta)` by sampling and L-BFGS-B.

    The sampler and optimiser of :mod:`lojasgd.assumptions`: φ at the centre, at
    ``n_samples`` uniform points of the ball and of its sphere, then local minimisation from
    the best ``n_starts`` of them. Every value found is attained in the ball, so the result
    is :math:`\ge` the true infimum.

    Args:
        values: φ batched, mapping points of shape (N, n) to shape (N,) (NaN where undefined).
        theta0: the centre, shape (n,) (float64 is used).
        r: radius > 0.
        value_one: φ of one θ of shape (n,) as a differentiable scalar (default: ``values`` of
            the point as a batch of one).
        n_samples, n_starts, seed, maxiter: as in :func:`~lojasgd.assumptions.estimate_alpha`.
    """
    if not callable(values):
        raise TypeError(f"values={values!r} must be callable")
    r = _positive_float("r", r)
    t0 = torch.as_tensor(theta0, dtype=torch.float64)
    if t0.ndim != 1 or not torch.isfinite(t0).all():
        raise ValueError(f"theta0 must be a finite 1-d tensor, got shape {tuple(t0.shape)}")
    for name, v, low in (("n_samples", n_samples, 1), ("n_starts", n_starts, 0), ("maxiter", maxiter, 0)):
        if isinstance(v, bool) or not isinstance(v, int) or v < low:
            raise ValueError(f"{name}={v!r} must be an integer >= {low}")
    one = value_one if value_one is not None else (lambda th: values(th.unsqueeze(0))[0])
    return _extremize(values, one, t0, r, sense="min", n_samples=n_samples, n_starts=n_starts, seed=seed,
                      maxiter=maxiter)


def schur_infimum(
    net: TanhNetwork, theta0, r: float, *, n_samples: int = 1000, n_starts: int = 2, seed: int = 0, maxiter: int = 50
) -> Estimate:
    r"""Upper estimate of :math:`\inf_{\theta\in B}\frac4n\lambda_{\min}(G_X)\min_i|\delta_i(\theta)|^2` (Proposition ``prop-tanh-alpha``).

    The pointwise bound is :meth:`~lojasgd.landscapes.TanhNetwork.schur_alpha_bound`; its
    infimum over the ball is a lower bound on α(θ₀, r). This function only *estimates* that
    infimum (from above), see :func:`inf_over_ball`; :func:`ball_bounds` gives a proved
    lower bound when :math:`W_1^0 = 0`.
    """
    if not isinstance(net, TanhNetwork):
        raise TypeError(f"net must be a TanhNetwork, got {type(net).__name__}")
    land = net.to(dtype=torch.float64)
    t0 = as_theta(theta0, net.dim, name="theta0", dtype=torch.float64)
    return inf_over_ball(land.schur_alpha_bound, t0, r, n_samples=n_samples, n_starts=n_starts, seed=seed,
                         maxiter=maxiter)


_ESTIMATES = ("alpha", "L", "sigma", "G")


@dataclass(frozen=True)
class BallPlan:
    r"""Everything chapter 5 needs to run SGD from a Chatterjee-style start on :math:`\bar B(\theta_0, r)`.

    Attributes:
        r: the radius.
        reach: radius of the ball :math:`\bar B(\theta_0, \text{reach})` on which L was estimated.
        L: the estimate of :math:`\sup\|\nabla^2F\|_2` on that ball (a lower estimate of a supremum).
        schur: the estimate of :math:`\inf_B\frac4N\lambda_{\min}(G_X)\min_i|\delta_i|^2` (an upper estimate).
        bounds: batch size b ↦ :class:`TanhBallBounds` (proved constants).
        eta: b ↦ the step :math:`\eta_b = \eta^*(\alpha_{\rm lower}, L, \sigma_{\rm upper}(b))`.
        report: b ↦ the :class:`~lojasgd.assumptions.AssumptionReport` with the estimated α, σ, G, L at step η_b.
    """

    r: float
    reach: float
    L: Estimate
    schur: Estimate
    bounds: dict[int, TanhBallBounds]
    eta: dict[int, float]
    report: dict[int, AssumptionReport]


def ball_plan(
    net: TanhNetwork,
    theta0,
    r: float,
    batch_sizes: tuple[int, ...] = (1,),
    *,
    reach: float | None = None,
    n_samples: int = 400,
    n_starts: int = 2,
    maxiter: int = 30,
    L_samples: int = 32,
    seed: int = 0,
) -> BallPlan:
    r"""Proved bounds, the step they dictate, and the estimated constants, for SGD from θ₀ (with :math:`W_1^0 = 0`).

    For each batch size b (indices drawn with replacement):

    1. :func:`ball_bounds` gives the proved :math:`\alpha_{\rm lower}` and :math:`\sigma_{\rm upper}(b)`
       and the bound :math:`G_g` on the per-sample gradients;
    2. L is estimated once on :math:`\bar B(\theta_0, \text{reach})` (default reach = 2r);
    3. the step is :math:`\eta_b = \alpha/(L(\alpha+\sigma))` with those constants, the optimal step
       of Theorem 3.1 for them; it must satisfy :math:`r + \eta_bG_g \le \text{reach}` (so that L
       covers the set U of Assumption 2), else ``ValueError``;
    4. α, σ(1), G are estimated on the ball once (:func:`~lojasgd.assumptions.check_assumptions`), and
       :math:`\hat\sigma(b) = \hat\sigma(1)\cdot c_b` by the exact identity of
       :func:`minibatch_variance_factor`; each report uses the step η_b.

    The estimator options are those of :func:`~lojasgd.assumptions.check_assumptions` (``n_starts``, ``maxiter``) and
    ``L_samples`` points for L; ``schur`` uses the same ``n_samples``.
    """
    if not isinstance(net, TanhNetwork):
        raise TypeError(f"net must be a TanhNetwork, got {type(net).__name__}")
    r = _positive_float("r", r)
    reach = 2 * r if reach is None else _positive_float("reach", reach)
    if reach <= r:
        raise ValueError(f"reach={reach} must be > r={r}")
    if not batch_sizes or any(isinstance(b, bool) or not isinstance(b, int) or b < 1 for b in batch_sizes):
        raise ValueError(f"batch_sizes={batch_sizes!r} must be a non-empty tuple of integers >= 1")
    t0 = as_theta(theta0, net.dim, name="theta0", dtype=torch.float64)
    bounds = {b: ball_bounds(net, t0, r, batch_size=b) for b in batch_sizes}
    land = net.to(dtype=torch.float64)
    L = estimate_L(land, t0, reach, n_samples=L_samples, n_iter=30, n_starts=1, maxiter=10, seed=seed)
    eta = {}
    for b, bb in bounds.items():
        if bb.alpha_lower <= 0:
            raise ValueError(f"the proved lower bound on alpha is 0 at r={r}: the scale is too small for this radius")
        eta[b] = theory.optimal_step(bb.alpha_lower, L.value, bb.sigma_upper)
        if r + eta[b] * bb.grad_upper > reach:
            raise ValueError(
                f"r + eta*G_g = {r + eta[b] * bb.grad_upper:.4g} exceeds reach={reach:.4g} for batch size {b}: "
                "increase reach"
            )
    opts = dict(n_samples=n_samples, n_starts=n_starts, maxiter=maxiter, seed=seed)
    first = check_assumptions(land, MiniBatch(1), t0, r, eta[batch_sizes[0]], known={"L": L}, reach=reach, **opts)
    report = {}
    for b in batch_sizes:
        sig = first.sigma
        sig_b = Estimate(sig.value * minibatch_variance_factor(net.n_samples, b), sig.point, sig.kind, sig.evaluations)
        report[b] = check_assumptions(
            land, MiniBatch(b), t0, r, eta[b], known={"alpha": first.alpha, "L": L, "G": first.G, "sigma": sig_b},
            reach=reach,
        )
    schur = schur_infimum(land, t0, r, n_samples=n_samples, n_starts=1, maxiter=20, seed=seed)
    return BallPlan(r=r, reach=reach, L=L, schur=schur, bounds=bounds, eta=eta, report=report)


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
    stay_a = np.asarray(stay)
    if stay_a.dtype != bool:
        raise TypeError(f"stay must be an array of booleans, got dtype {stay_a.dtype}")
    loss_a, dist_a = np.asarray(loss, dtype=float), np.asarray(dist, dtype=float)
    if stay_a.ndim == 0 or stay_a.shape[-1] == 0 or loss_a.shape != stay_a.shape or dist_a.shape != stay_a.shape:
        raise ValueError(f"stay, loss and dist must have one common non-empty shape, got {stay_a.shape}, "
                         f"{loss_a.shape}, {dist_a.shape}")
    if not (np.all(np.isfinite(loss_a)) and np.all(np.isfinite(dist_a)) and np.all(dist_a >= 0)):
        raise ValueError("loss and dist must be finite, and dist >= 0")
    K, r = _positive_float("K", K), _positive_float("r", r)
    if isinstance(level, bool) or not isinstance(level, (int, float)) or not 0 < level < 1:
        raise ValueError(f"level={level!r} must lie in (0, 1)")
    slack = r - dist_a
    ok = stay_a & (slack > 0)
    ratio = K * np.sqrt(np.maximum(loss_a, 0.0)) / np.where(ok, slack, 1.0)
    Z = np.where(ok, 1 - np.minimum(1.0, ratio), 0.0)
    mean = Z.mean(axis=-1)
    lower = mean - math.sqrt(math.log(1 / (1 - level)) / (2 * stay_a.shape[-1]))
    return (float(mean), float(lower)) if mean.ndim == 0 else (mean, lower)
