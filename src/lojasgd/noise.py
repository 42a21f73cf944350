r"""Stochastic-gradient models :math:`g(\theta;\xi)` with :math:`\mathbb E g = \nabla F` (Assumption 3).

Each model splits one SGD step's randomness from its use, so that a batched run and a
plain per-trajectory loop can be fed the same draws:

* :meth:`Noise.draw` returns the random variables ξ for M trajectories (one step);
* :meth:`Noise.gradient` maps (θ, ξ) to the stochastic gradients, deterministically.

The models:

* :class:`MLNoise` — machine-learning noise :math:`g = \nabla F + \sqrt{\sigma F(\theta)}\,\xi`,
  :math:`\mathbb E|\xi|^2 = 1`, so :math:`\mathbb E|g-\nabla F|^2 = \sigma F` (Assumption 4, with equality);
* :class:`BoundedNoise` — :math:`g = \nabla F + s\,\xi`, noise of fixed size (Theorem 4.1);
* :class:`MiniBatch` — the gradient of a random mini-batch of a :class:`~lojasgd.landscapes.FiniteSum`,
  with or without replacement, optionally plus injected noise :math:`s\,\xi`.

Directions ξ: ``"rademacher"`` (coordinates ±1/√n), ``"sphere"`` (uniform on the unit
sphere), ``"gaussian"`` (N(0, I/n), unbounded), or a fixed unit vector e (ξ = ±e with
equal probability). All but ``"gaussian"`` have |ξ| = 1 surely.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence

import torch
from torch import Tensor

from .landscapes import FiniteSum, Landscape

__all__ = ["Noise", "MLNoise", "BoundedNoise", "MiniBatch", "draw_directions", "DIRECTIONS"]

DIRECTIONS = ("rademacher", "sphere", "gaussian")
Direction = str | Sequence[float] | Tensor


def _check_direction(direction: Direction) -> str | Tensor:
    if isinstance(direction, str):
        if direction not in DIRECTIONS:
            raise ValueError(f"direction={direction!r} must be one of {DIRECTIONS} or a unit vector")
        return direction
    e = torch.as_tensor(direction, dtype=torch.float64)
    if e.ndim != 1 or e.numel() == 0:
        raise ValueError(f"direction must be a 1-d unit vector, got shape {tuple(e.shape)}")
    if not torch.isfinite(e).all() or abs(float(e.norm()) - 1) > 1e-9:
        raise ValueError(f"direction={e.tolist()} must be a finite unit vector (|e| = 1)")
    return e


def draw_directions(
    direction: Direction, M: int, dim: int, generator: torch.Generator | None, device, dtype
) -> Tensor:
    r"""M i.i.d. random directions ξ in ℝⁿ with :math:`\mathbb E\xi = 0`, :math:`\mathbb E|\xi|^2 = 1`.

    Returns a tensor of shape ``(M, dim)``. See the module docstring for the kinds.
    """
    direction = _check_direction(direction)
    if isinstance(direction, Tensor):
        if direction.numel() != dim:
            raise ValueError(f"direction has length {direction.numel()} but the landscape has dim={dim}")
        signs = torch.randint(0, 2, (M, 1), generator=generator, device=device).to(dtype) * 2 - 1
        return signs * direction.to(device=device, dtype=dtype)
    if direction == "rademacher":
        signs = torch.randint(0, 2, (M, dim), generator=generator, device=device).to(dtype) * 2 - 1
        return signs / math.sqrt(dim)
    z = torch.randn((M, dim), generator=generator, device=device, dtype=dtype)
    if direction == "sphere":
        return z / torch.linalg.vector_norm(z, dim=-1, keepdim=True)
    return z / math.sqrt(dim)


def _direction_bound(direction: str | Tensor) -> float:
    """ess sup |ξ| for the kind of direction."""
    return math.inf if isinstance(direction, str) and direction == "gaussian" else 1.0


def _scale(name: str, value, *, allow_zero: bool = True) -> float | Tensor:
    """A non-negative scalar or a 1-d tensor of per-trajectory values."""
    if isinstance(value, bool):
        raise TypeError(f"{name}={value!r} must be a number or a 1-d tensor")
    if isinstance(value, (int, float)):
        value = float(value)
        ok = math.isfinite(value) and (value >= 0 if allow_zero else value > 0)
        if not ok:
            raise ValueError(f"{name}={value} must be finite and {'>= 0' if allow_zero else '> 0'}")
        return value
    t = torch.as_tensor(value)
    if t.ndim != 1 or not t.is_floating_point():
        raise ValueError(f"{name} must be a number or a 1-d float tensor (one per trajectory)")
    if not torch.isfinite(t).all() or (t < 0).any() or (not allow_zero and (t == 0).any()):
        raise ValueError(f"{name} must be finite and {'>= 0' if allow_zero else '> 0'} entrywise")
    return t


def _col(scale: float | Tensor, like: Tensor) -> float | Tensor:
    """A per-trajectory scale as a column broadcasting against ``like`` of shape (M, n)."""
    if isinstance(scale, float):
        return scale
    if scale.shape[0] != like.shape[0]:
        raise ValueError(f"a per-trajectory scale has {scale.shape[0]} entries but there are {like.shape[0]} trajectories")
    return scale.to(device=like.device, dtype=like.dtype).unsqueeze(-1)


class Noise(ABC):
    """A model of stochastic gradients for SGD on a :class:`~lojasgd.landscapes.Landscape`."""

    #: True when g(θ; ξ) = 0 almost surely wherever F(θ) = 0 (needed for early stopping).
    vanishes_at_minimum: bool

    @abstractmethod
    def draw(self, landscape: Landscape, M: int, generator: torch.Generator | None, device, dtype):
        """The randomness ξ of one step for M trajectories (a tensor or a tuple of tensors)."""

    @abstractmethod
    def gradient(self, landscape: Landscape, theta: Tensor, xi) -> Tensor:
        """Stochastic gradients g(θ_m; ξ_m) for ``theta`` of shape ``(M, dim)``; shape ``(M, dim)``."""

    def sample(self, landscape: Landscape, theta: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """One draw of g(θ; ξ) for each row of ``theta`` (shape ``(M, dim)``)."""
        xi = self.draw(landscape, theta.shape[0], generator, theta.device, theta.dtype)
        return self.gradient(landscape, theta, xi)

    @abstractmethod
    def variance(self, landscape: Landscape, theta: Tensor) -> Tensor:
        r"""The exact noise variance :math:`\mathbb E|g(\theta;\xi) - \nabla F(\theta)|^2`, shape ``(...)``."""

    @abstractmethod
    def max_norm(self, landscape: Landscape, theta: Tensor) -> Tensor:
        r""":math:`\operatorname{ess\,sup}_\xi |g(\theta;\xi)|` (``inf`` for unbounded noise), shape ``(...)``.

        Used for Assumption 2: one step from θ moves at most η times this.
        """


class MLNoise(Noise):
    r"""Machine-learning noise :math:`g(\theta;\xi) = \nabla F(\theta) + \sqrt{\sigma F(\theta)}\,\xi`.

    Satisfies Assumption 4 with constant σ exactly: :math:`\mathbb E|g-\nabla F|^2 = \sigma F(\theta)`.
    At a zero of F the gradient is exactly ∇F = 0, so the iterate stops.

    Args:
        sigma: σ ≥ 0, a number or a 1-d tensor with one value per trajectory.
        direction: law of ξ (see module docstring); default ``"rademacher"``.
    """

    vanishes_at_minimum = True

    def __init__(self, sigma: float | Tensor, direction: Direction = "rademacher") -> None:
        self.sigma = _scale("sigma", sigma)
        self.direction = _check_direction(direction)

    def draw(self, landscape, M, generator, device, dtype) -> Tensor:
        return draw_directions(self.direction, M, landscape.dim, generator, device, dtype)

    def gradient(self, landscape, theta, xi) -> Tensor:
        F, g = landscape.value_and_grad(theta)
        amp = torch.sqrt(_col(self.sigma, theta) * F.clamp_min(0).unsqueeze(-1))
        return g + amp * xi

    def variance(self, landscape, theta) -> Tensor:
        F = landscape.loss(theta).clamp_min(0)
        sigma = self.sigma if isinstance(self.sigma, float) else self.sigma.to(F)
        return sigma * F

    def max_norm(self, landscape, theta) -> Tensor:
        F, g = landscape.value_and_grad(theta)
        sigma = self.sigma if isinstance(self.sigma, float) else self.sigma.to(F)
        return torch.linalg.vector_norm(g, dim=-1) + _direction_bound(self.direction) * torch.sqrt(sigma * F.clamp_min(0))

    def __repr__(self) -> str:
        return f"MLNoise(sigma={self.sigma}, direction={_show_direction(self.direction)})"


class BoundedNoise(Noise):
    r"""Noise of fixed size: :math:`g(\theta;\xi) = \nabla F(\theta) + s\,\xi` (Theorem 4.1).

    :math:`\mathbb E|g-\nabla F|^2 = s^2` everywhere, so Assumption 4 fails on any ball that
    meets the zero set of F. With ``direction="gaussian"`` this is injected Gaussian noise.

    Args:
        s: noise size s ≥ 0, a number or a 1-d tensor with one value per trajectory.
        direction: law of ξ; for Theorem 4.1 use the unit vector ``(0, 1)``.
    """

    vanishes_at_minimum = False

    def __init__(self, s: float | Tensor, direction: Direction = "rademacher") -> None:
        self.s = _scale("s", s)
        self.direction = _check_direction(direction)

    def draw(self, landscape, M, generator, device, dtype) -> Tensor:
        return draw_directions(self.direction, M, landscape.dim, generator, device, dtype)

    def gradient(self, landscape, theta, xi) -> Tensor:
        return landscape.grad(theta) + _col(self.s, theta) * xi

    def variance(self, landscape, theta) -> Tensor:
        F = landscape.loss(theta)
        s = self.s if isinstance(self.s, float) else self.s.to(F)
        return torch.zeros_like(F) + s**2

    def max_norm(self, landscape, theta) -> Tensor:
        g = landscape.grad(theta)
        s = self.s if isinstance(self.s, float) else self.s.to(g)
        return torch.linalg.vector_norm(g, dim=-1) + _direction_bound(self.direction) * s

    def __repr__(self) -> str:
        return f"BoundedNoise(s={self.s}, direction={_show_direction(self.direction)})"


class MiniBatch(Noise):
    r"""Mini-batch gradients of a finite sum: :math:`g = \frac1b\sum_{j<b}\nabla f_{i_j}(\theta) + s\,\xi`.

    Indices are uniform on {0, …, N−1}, i.i.d. (``replace=True``) or a uniformly random
    b-subset (``replace=False``). With :math:`V(\theta) = \frac1N\sum_i|\nabla f_i - \nabla F|^2`,

    .. math:: \mathbb E|g - \nabla F|^2 = \frac{V}{b} \ \text{(with replacement)},\qquad
              \frac{N-b}{N-1}\,\frac{V}{b} \ \text{(without)},

    plus s² for the injected part. Every f_i ≥ 0 vanishes with its gradient where F = 0, so
    without injection the noise vanishes at the minimisers (chapter 5: σ = 4G²/b).

    Args:
        batch_size: b ≥ 1 (b ≤ N without replacement).
        replace: sample with replacement (default) or without.
        injected: size s ≥ 0 of extra noise s·ξ that does not vanish at the minimum.
        direction: law of the injected ξ (default ``"gaussian"``).
    """

    def __init__(
        self, batch_size: int = 1, *, replace: bool = True, injected: float = 0.0, direction: Direction = "gaussian"
    ) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size={batch_size!r} must be an integer >= 1")
        self.batch_size, self.replace = batch_size, bool(replace)
        self.injected = _scale("injected", injected)
        if not isinstance(self.injected, float):
            raise ValueError("injected must be a number")
        self.direction = _check_direction(direction)
        self.vanishes_at_minimum = self.injected == 0.0

    def _finite_sum(self, landscape) -> FiniteSum:
        if not isinstance(landscape, FiniteSum):
            raise TypeError(f"MiniBatch needs a FiniteSum landscape, got {type(landscape).__name__}")
        if not self.replace and self.batch_size > landscape.n_samples:
            raise ValueError(
                f"batch_size={self.batch_size} must be <= n_samples={landscape.n_samples} without replacement"
            )
        return landscape

    def draw(self, landscape, M, generator, device, dtype):
        land = self._finite_sum(landscape)
        N, b = land.n_samples, self.batch_size
        if self.replace:
            idx = torch.randint(0, N, (M, b), generator=generator, device=device)
        else:
            weights = torch.ones((M, N), device=device)
            idx = torch.multinomial(weights, b, replacement=False, generator=generator)
        xi = draw_directions(self.direction, M, land.dim, generator, device, dtype) if self.injected else None
        return idx, xi

    def gradient(self, landscape, theta, xi) -> Tensor:
        idx, extra = xi
        g = self._finite_sum(landscape).batch_grad(theta, idx)
        return g if extra is None else g + self.injected * extra

    def variance(self, landscape, theta) -> Tensor:
        land = self._finite_sum(landscape)
        G = land.per_sample_grads(theta)  # (..., N, n)
        dev = ((G - G.mean(-2, keepdim=True)) ** 2).sum(-1).mean(-1)
        N, b = land.n_samples, self.batch_size
        factor = 1 / b if (self.replace or N == 1) else (N - b) / (b * (N - 1))
        return factor * dev + self.injected**2

    def max_norm(self, landscape, theta) -> Tensor:
        G = self._finite_sum(landscape).per_sample_grads(theta)
        base = torch.linalg.vector_norm(G, dim=-1).max(-1).values
        return base + (_direction_bound(self.direction) * self.injected if self.injected else 0.0)

    def __repr__(self) -> str:
        extra = f", injected={self.injected}, direction={_show_direction(self.direction)}" if self.injected else ""
        return f"MiniBatch(batch_size={self.batch_size}, replace={self.replace}{extra})"


def _show_direction(direction: str | Tensor) -> str:
    return repr(direction) if isinstance(direction, str) else str(direction.tolist())
