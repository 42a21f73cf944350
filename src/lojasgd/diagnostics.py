r"""Pointwise measurements of the assumptions along a training trajectory (chapter 7).

At a point θ (or at each of many checkpoints θ_k of a run) these measure the quantities whose
infima and suprema over a ball are the constants of Assumptions 1, 2 and 4:

* :func:`local_ratio` — :math:`|\nabla F(\theta)|^2/F(\theta)`, whose infimum over the ball is α;
* :func:`noise_ratio` — :math:`\mathbb E|g(\theta;\xi) - \nabla F(\theta)|^2/F(\theta)` for a noise model
  (for mini-batches of size b with replacement :math:`V(\theta)/(bF(\theta))`, with
  :math:`V = \frac1N\sum_i|\nabla f_i - \nabla F|^2`), whose supremum over the ball is σ;
* :func:`top_hessian_eigenvalue` — the eigenvalue of :math:`\nabla^2F(\theta)` of largest magnitude,
  by power iteration on Hessian-vector products, whose supremum over U is L;
* :func:`measure` — all three (and F and the gradient norm) at every row of an array of checkpoints;
* :func:`gradient_jump` — difference quotients :math:`|\nabla F(\theta_t + \tfrac h2u) - \nabla F(\theta_t - \tfrac h2u)|/h`
  at the point of a segment where the gradient changes fastest: bounded by L when ∇F is
  Lipschitz (Assumption 2), growing like 1/h where ∇F jumps (ReLU networks);
* :func:`empirical_noise` — a Monte Carlo estimate of :math:`\mathbb E|g - \nabla F|^2` from draws
  of the noise model itself, to check the exact variances (Proposition 5.3's factors).

These are values at points, not extrema over a ball: a ratio measured along a run is an upper
estimate of α on any ball containing the run, and so on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from . import validation
from .landscapes import Landscape
from .noise import Noise

__all__ = ["local_ratio", "noise_ratio", "top_hessian_eigenvalue", "Measurements", "measure", "empirical_noise", "gradient_jump"]


def _points(landscape: Landscape, theta) -> Tensor:
    validation.instance("landscape", landscape, Landscape)
    return validation.theta("theta", theta, landscape.dim, dtype=torch.float64)


def local_ratio(landscape: Landscape, theta) -> Tensor:
    r""":math:`|\nabla F(\theta)|^2 / F(\theta)` at every point (NaN where F = 0), shape ``(...)``."""
    pts = _points(landscape, theta)
    F, g = landscape.to(dtype=torch.float64).value_and_grad(pts)
    ratio = (g**2).sum(-1) / F
    return torch.where(F > 0, ratio, torch.full_like(ratio, torch.nan))


def noise_ratio(landscape: Landscape, noise: Noise, theta) -> Tensor:
    r""":math:`\mathbb E|g(\theta;\xi) - \nabla F(\theta)|^2 / F(\theta)` from the noise model's exact variance (NaN where F = 0)."""
    validation.instance("noise", noise, Noise)
    pts = _points(landscape, theta)
    land = landscape.to(dtype=torch.float64)
    F = land.loss(pts)
    ratio = noise.variance(land, pts) / F
    return torch.where(F > 0, ratio, torch.full_like(ratio, torch.nan))


def top_hessian_eigenvalue(landscape: Landscape, theta, *, n_iter: int = 50, seed: int = 0) -> Tensor:
    r"""Eigenvalue of :math:`\nabla^2F(\theta)` of largest magnitude, signed, by power iteration.

    :math:`v_{j+1} = \nabla^2F(\theta)v_j/|\nabla^2F(\theta)v_j|` from a seeded Gaussian :math:`v_0`, with
    Hessian-vector products from ``torch.func``; the returned value is the Rayleigh quotient
    :math:`v^\top\nabla^2F(\theta)v` at the last iterate. Its magnitude is a lower estimate of
    :math:`\|\nabla^2F(\theta)\|_2` (exact in the limit when the top eigenvalue is simple).

    Args:
        landscape: the loss.
        theta: points, shape ``(..., dim)``.
        n_iter: power-iteration steps, ≥ 1.
        seed: seed of the starting vectors.

    Returns:
        shape ``(...)``.
    """
    pts = _points(landscape, theta)
    n_iter = validation.integer("n_iter", n_iter, low=1)
    gen = torch.Generator().manual_seed(validation.seed("seed", seed))
    land = landscape.to(dtype=torch.float64)
    flat = pts.reshape(-1, land.dim)
    v = torch.randn(flat.shape, generator=gen, dtype=torch.float64)
    v = v / torch.linalg.vector_norm(v, dim=-1, keepdim=True)
    for _ in range(n_iter):
        w = land.hvp(flat, v)
        v = w / torch.linalg.vector_norm(w, dim=-1, keepdim=True).clamp_min(1e-300)
    lam = (v * land.hvp(flat, v)).sum(-1)
    return lam.reshape(pts.shape[:-1])


@dataclass(frozen=True)
class Measurements:
    r"""The pointwise quantities at each checkpoint (numpy arrays of shape (K,)).

    Attributes:
        loss: F(θ_k).
        grad_norm: :math:`|\nabla F(\theta_k)|`.
        ratio: :math:`|\nabla F|^2/F` (NaN where F = 0).
        noise: :math:`\mathbb E|g - \nabla F|^2/F` for the noise model given (NaN where F = 0).
        hessian: the top Hessian eigenvalue (largest magnitude, signed).
    """

    loss: np.ndarray
    grad_norm: np.ndarray
    ratio: np.ndarray
    noise: np.ndarray
    hessian: np.ndarray


def measure(landscape: Landscape, noise: Noise, thetas, *, n_iter: int = 30, seed: int = 0) -> Measurements:
    r"""F, :math:`|\nabla F|`, :math:`|\nabla F|^2/F`, the noise ratio and the top Hessian eigenvalue at each checkpoint.

    The checkpoints (rows of ``thetas``, shape (K, dim)) are treated one at a time, so memory
    stays that of one point (per-sample gradients: N × dim numbers).
    """
    validation.instance("noise", noise, Noise)
    pts = _points(landscape, thetas)
    if pts.ndim != 2:
        raise ValueError(f"thetas must have shape (K, {landscape.dim}), got {tuple(pts.shape)}")
    land = landscape.to(dtype=torch.float64)
    out = {k: [] for k in ("loss", "grad_norm", "ratio", "noise", "hessian")}
    for th in pts:
        p = th.unsqueeze(0)
        F, g = land.value_and_grad(p)
        F = float(F[0])
        gn2 = float((g**2).sum())
        out["loss"].append(F)
        out["grad_norm"].append(gn2**0.5)
        out["ratio"].append(gn2 / F if F > 0 else np.nan)
        out["noise"].append(float(noise.variance(land, p)[0]) / F if F > 0 else np.nan)
        out["hessian"].append(float(top_hessian_eigenvalue(land, p, n_iter=n_iter, seed=seed)[0]))
    return Measurements(**{k: np.array(v) for k, v in out.items()})


def empirical_noise(landscape: Landscape, noise: Noise, theta, *, n_draws: int = 1000, seed: int = 0) -> tuple[float, float]:
    r"""Monte Carlo estimate of :math:`\mathbb E|g(\theta;\xi) - \nabla F(\theta)|^2` and its standard error.

    Draws ``n_draws`` independent stochastic gradients at one θ from the noise model itself
    (:meth:`~lojasgd.noise.Noise.draw` and :meth:`~lojasgd.noise.Noise.gradient`) and returns the
    sample mean of :math:`|g - \nabla F|^2` with its standard error :math:`s/\sqrt{m}`.
    """
    validation.instance("noise", noise, Noise)
    pts = _points(landscape, theta)
    if pts.ndim != 1:
        raise ValueError(f"theta must have shape ({landscape.dim},), got {tuple(pts.shape)}")
    n_draws = validation.integer("n_draws", n_draws, low=2)
    gen = torch.Generator().manual_seed(validation.seed("seed", seed))
    land = landscape.to(dtype=torch.float64)
    th = pts.expand(n_draws, -1)
    xi = noise.draw(land, n_draws, gen, th.device, th.dtype)
    dev = ((noise.gradient(land, th, xi) - land.grad(pts)) ** 2).sum(-1)
    return float(dev.mean()), float(dev.std() / n_draws**0.5)


def gradient_jump(landscape: Landscape, theta, direction, length: float, hs, *, n_grid: int = 1024,
                  n_bisect: int = 60) -> tuple[float, np.ndarray]:
    r"""Difference quotients of ∇F across the fastest change of ∇F on a segment (Assumption 2's test).

    On the segment :math:`\theta_t = \theta + tu`, :math:`t \in [0, \ell]` (u = ``direction``
    normalised), the grid pair with the largest :math:`|\nabla F(\theta_{t_{j+1}}) - \nabla F(\theta_{t_j})|` is
    bisected ``n_bisect`` times, each time keeping the half with the larger change. At the point
    :math:`t^*` found it returns, for each h in ``hs``,

    .. math:: Q(h) = |\nabla F(\theta_{t^*+h/2}) - \nabla F(\theta_{t^*-h/2})| / h .

    If ∇F is L-Lipschitz on the segment, :math:`Q(h) \le L` for every h. If ∇F jumps by J at
    :math:`t^*` (a kink of a ReLU crossed by the segment), :math:`hQ(h) \to J > 0` as h → 0, so no
    finite L exists.

    Returns:
        :math:`t^*` and the array Q(h), shape ``(len(hs),)``.
    """
    t0 = _points(landscape, theta)
    if t0.ndim != 1:
        raise ValueError(f"theta must have shape ({landscape.dim},), got {tuple(t0.shape)}")
    u = validation.theta("direction", direction, landscape.dim, ndim=1, dtype=torch.float64)
    norm = float(torch.linalg.vector_norm(u))
    if norm == 0:
        raise ValueError("direction must be a non-zero vector")
    u = u / norm
    length = validation.positive("length", length)
    hs = validation.real_array("hs", hs, ndim=1, nonempty=True, lower=0.0, strict_lower=True)
    n_grid = validation.integer("n_grid", n_grid, low=2)
    n_bisect = validation.integer("n_bisect", n_bisect, low=0)
    land = landscape.to(dtype=torch.float64)

    def grads(ts) -> Tensor:
        return land.grad(t0 + torch.as_tensor(ts, dtype=torch.float64).unsqueeze(-1) * u)

    ts = np.linspace(0.0, length, n_grid)
    g = grads(ts)
    j = int(torch.linalg.vector_norm(g[1:] - g[:-1], dim=-1).argmax())
    lo, hi = ts[j], ts[j + 1]
    g_lo, g_hi = g[j], g[j + 1]
    for _ in range(n_bisect):
        mid = 0.5 * (lo + hi)
        g_mid = grads([mid])[0]
        if float(torch.linalg.vector_norm(g_mid - g_lo)) >= float(torch.linalg.vector_norm(g_hi - g_mid)):
            hi, g_hi = mid, g_mid
        else:
            lo, g_lo = mid, g_mid
    t_star = 0.5 * (lo + hi)
    pairs = grads(np.concatenate([t_star - hs / 2, t_star + hs / 2]))
    k = len(hs)
    q = torch.linalg.vector_norm(pairs[k:] - pairs[:k], dim=-1).numpy() / hs
    return float(t_star), q
