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
equal probability). All but ``"gaussian"`` have :math:`|\xi| = 1` surely.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence

import torch
from torch import Tensor

from . import validation
from .landscapes import FiniteSum, Landscape

__all__ = [
    "Noise",
    "AdditiveNoise",
    "MLNoise",
    "BoundedNoise",
    "MiniBatch",
    "minibatch_variance_factor",
    "draw_directions",
    "DIRECTIONS",
]

DIRECTIONS = ("rademacher", "sphere", "gaussian")
Direction = str | Sequence[float] | Tensor


def _check_direction(direction: Direction) -> str | Tensor:
    if isinstance(direction, str):
        return validation.choice("direction", direction, DIRECTIONS)
    e = torch.as_tensor(validation.real_array("direction", direction, ndim=1, nonempty=True))
    if abs(float(e.norm()) - 1) > 1e-9:
        raise ValueError(f"direction={e.tolist()} must be a unit vector (|e| = 1), got |e| = {float(e.norm()):.6g}")
    return e


def draw_directions(
    direction: Direction, M: int, dim: int, generator: torch.Generator | None, device, dtype
) -> Tensor:
    r"""M i.i.d. random directions ξ in ℝⁿ with :math:`\mathbb E\xi = 0`, :math:`\mathbb E|\xi|^2 = 1`.

    Returns a tensor of shape ``(M, dim)``. See the module docstring for the kinds.
    """
    direction = _check_direction(direction)
    if hasattr(generator, "directions"):  # a step of the counter-based stream (lojasgd.kernels.stream.StepStream)
        if isinstance(direction, Tensor) and direction.numel() != dim:
            raise ValueError(f"direction has length {direction.numel()} but the landscape has dim={dim}")
        return generator.directions(direction, dim, dtype=dtype).to(device)
    if isinstance(direction, Tensor):
        if direction.numel() != dim:
            raise ValueError(f"direction has length {direction.numel()} but the landscape has dim={dim}")
        return _signs((M, 1), generator, device, dtype) * direction.to(device=device, dtype=dtype)
    if direction == "rademacher":
        return _signs((M, dim), generator, device, dtype).div_(math.sqrt(dim))
    z = torch.randn((M, dim), generator=generator, device=device, dtype=dtype)
    if direction == "sphere":
        return z.div_(torch.linalg.vector_norm(z, dim=-1, keepdim=True))
    return z.div_(math.sqrt(dim))


def _signs(shape, generator, device, dtype) -> Tensor:
    """Independent fair signs ±1 of ``dtype`` from ``torch.randint(0, 2, shape)`` on ``generator``.

    On the CPU the 0/1 integers are drawn straight into the floating dtype: the same values
    from the same generator state as drawing int64 and converting (the CPU kernel takes one
    32-bit word per entry whatever the dtype; ``tests/test_noise.py`` checks it), without the
    conversion pass. On other devices they are drawn as int64 and converted, as before.
    """
    if torch.device(device).type == "cpu":
        bits = torch.randint(0, 2, shape, generator=generator, device=device, dtype=dtype)
    else:
        bits = torch.randint(0, 2, shape, generator=generator, device=device).to(dtype)
    return bits.mul_(2).sub_(1)


def _direction_bound(direction: str | Tensor) -> float:
    """ess sup |ξ| for the kind of direction."""
    return math.inf if isinstance(direction, str) and direction == "gaussian" else 1.0


def _scale(name: str, value) -> float | Tensor:
    """A number >= 0 (any real type) as a float, or one number >= 0 per trajectory as a 1-d float64 tensor."""
    arr = validation.real_array(name, value, lower=0.0)
    if arr.ndim == 0:
        return float(arr)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a number or a non-empty 1-d array (one per trajectory), got shape {arr.shape}")
    return torch.as_tensor(arr)


def _per_row(scale: float | Tensor, like: Tensor) -> float | Tensor:
    """A per-trajectory scale broadcasting against ``like`` of shape (M,) (a float passes through)."""
    if isinstance(scale, float):
        return scale
    if like.ndim == 0 or scale.shape[0] != like.shape[0]:
        raise ValueError(
            f"a per-trajectory noise scale has {scale.shape[0]} entries but theta has shape {tuple(like.shape)} "
            f"(expected {scale.shape[0]} rows)"
        )
    return scale.to(device=like.device, dtype=like.dtype).reshape(scale.shape[0], *([1] * (like.ndim - 1)))


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


class AdditiveNoise(Noise):
    r"""Additive noise :math:`g(\theta;\xi) = \nabla F(\theta) + a(\theta)\,\xi` with a random direction ξ.

    With :math:`\mathbb E\xi = 0` and :math:`\mathbb E|\xi|^2 = 1`, the noise variance is
    :math:`\mathbb E|g-\nabla F|^2 = a(\theta)^2`, and :math:`|g| \le |\nabla F| + a\,\operatorname{ess\,sup}|\xi|`.
    Subclasses give the amplitude :math:`a` as a function of :math:`F(\theta)` (:meth:`amplitude`).
    """

    direction: str | Tensor

    @abstractmethod
    def amplitude(self, F: Tensor) -> Tensor:
        """The amplitude a(θ) ≥ 0 as a function of the loss values F (shape ``(...)``)."""

    def draw(self, landscape, M, generator, device, dtype) -> Tensor:
        return draw_directions(self.direction, M, landscape.dim, generator, device, dtype)

    def gradient(self, landscape, theta, xi) -> Tensor:
        F, g = landscape.value_and_grad(theta)
        return (self.amplitude(F).unsqueeze(-1) * xi).add_(g)  # = g + a ξ (one (M, n) tensor, not two)

    def variance(self, landscape, theta) -> Tensor:
        return self.amplitude(landscape.loss(theta)) ** 2

    def max_norm(self, landscape, theta) -> Tensor:
        F, g = landscape.value_and_grad(theta)
        return torch.linalg.vector_norm(g, dim=-1) + _direction_bound(self.direction) * self.amplitude(F)


class MLNoise(AdditiveNoise):
    r"""Machine-learning noise :math:`g(\theta;\xi) = \nabla F(\theta) + \sqrt{\sigma F(\theta)}\,\xi`.

    Satisfies Assumption 4 with constant σ exactly: :math:`\mathbb E|g-\nabla F|^2 = \sigma F(\theta)`.
    At a zero of F the gradient is exactly ∇F = 0, so the iterate stops.

    Args:
        sigma: σ ≥ 0, a number or a 1-d array/tensor with one value per trajectory.
        direction: law of ξ (see module docstring); default ``"rademacher"``.
    """

    vanishes_at_minimum = True

    def __init__(self, sigma: float | Tensor, direction: Direction = "rademacher") -> None:
        self.sigma = _scale("sigma", sigma)
        self.direction = _check_direction(direction)

    def amplitude(self, F: Tensor) -> Tensor:
        r""":math:`a = \sqrt{\sigma F}` (F clipped at 0 against rounding)."""
        return F.clamp_min(0).mul_(_per_row(self.sigma, F)).sqrt_()  # √(σ·F⁺), in place on one new tensor

    def variance(self, landscape, theta) -> Tensor:
        r""":math:`\sigma F(\theta)`, computed as a product (exactly, not as the square of a square root)."""
        F = landscape.loss(theta)
        return _per_row(self.sigma, F) * F.clamp_min(0)

    def __repr__(self) -> str:
        return f"MLNoise(sigma={_show_scale(self.sigma)}, direction={_show_direction(self.direction)})"


class BoundedNoise(AdditiveNoise):
    r"""Noise of fixed size: :math:`g(\theta;\xi) = \nabla F(\theta) + s\,\xi` (Theorem 4.1).

    :math:`\mathbb E|g-\nabla F|^2 = s^2` everywhere, so Assumption 4 fails on any ball that
    meets the zero set of F. With ``direction="gaussian"`` this is injected Gaussian noise.

    Args:
        s: noise size s ≥ 0, a number or a 1-d array/tensor with one value per trajectory.
        direction: law of ξ; for Theorem 4.1 use the unit vector ``(0, 1)``.
    """

    vanishes_at_minimum = False

    def __init__(self, s: float | Tensor, direction: Direction = "rademacher") -> None:
        self.s = _scale("s", s)
        self.direction = _check_direction(direction)

    def amplitude(self, F: Tensor) -> Tensor:
        """:math:`a = s`, whatever F."""
        return torch.zeros_like(F) + _per_row(self.s, F)

    def __repr__(self) -> str:
        return f"BoundedNoise(s={_show_scale(self.s)}, direction={_show_direction(self.direction)})"


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
        self.batch_size = validation.integer("batch_size", batch_size, low=1)
        self.replace = validation.flag("replace", replace)
        self.injected = validation.nonnegative("injected", injected)
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
        if hasattr(generator, "integers"):  # the counter-based stream: indices first, injected noise after
            idx = generator.integers(b, N) if self.replace else generator.without_replacement(b, N)
            j0 = b if self.replace else N
            xi = generator.directions(self.direction, land.dim, dtype=dtype, j0=j0) if self.injected else None
            return idx.to(device), (None if xi is None else xi.to(device))
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
        factor = minibatch_variance_factor(land.n_samples, self.batch_size, self.replace)
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


def _show_scale(scale: float | Tensor) -> str:
    return str(scale) if isinstance(scale, float) else f"tensor of {scale.numel()} values"


def minibatch_variance_factor(n: int, batch_size: int, replace: bool = True) -> float:
    r"""The factor by which a mini-batch divides the one-sample noise variance.

    For :math:`g = \frac1b\sum_{j<b}\nabla f_{i_j}` with indices i.i.d. uniform (``replace=True``)
    or a uniform b-subset of {0, …, n−1} (``replace=False``),

    .. math:: \mathbb E|g-\nabla F|^2 = c\,V,\qquad V = \frac1n\sum_i|\nabla f_i-\nabla F|^2,\qquad
              c = \frac1b \ \text{or}\ \frac{n-b}{b(n-1)}

    (chapter 5, Proposition ``prop-tanh-noise``; c = 1/b when n = 1).
    """
    n = validation.integer("n", n, low=1)
    batch_size = validation.integer("batch_size", batch_size, low=1)
    replace = validation.flag("replace", replace)
    if not replace and batch_size > n:
        raise ValueError(f"batch_size={batch_size} must be <= n={n} without replacement")
    if replace or n == 1:
        return 1.0 / batch_size
    return (n - batch_size) / (batch_size * (n - 1))
