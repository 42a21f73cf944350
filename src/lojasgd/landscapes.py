r"""Loss landscapes F: ℝⁿ → [0, ∞) with one batched interface.

Every landscape maps parameters ``theta`` of shape ``(..., dim)`` to losses of shape
``(...)`` (:meth:`Landscape.loss`) and gradients of shape ``(..., dim)``
(:meth:`Landscape.grad`), so that M independent SGD trajectories are one tensor
program. Hessian-vector products come from ``torch.func.jvp`` of the gradient.

Finite sums :math:`F(\theta) = \frac1N\sum_{i<N} f_i(\theta)` (:class:`FiniteSum`) add
per-sample losses and mini-batch gradients, each trajectory with its own indices, built
with ``torch.func.vmap``/``grad``. Squared-loss models
:math:`f_i(\theta) = (\hat y(x_i;\theta) - y_i)^2` (:class:`SquaredLossModel`) add the
output gradients :math:`\nabla_\theta \hat y(x_i;\theta)` used by chapter 5.

The book's landscapes: :class:`FlatValley` (Theorem 4.1), :class:`Hyperbola`
(chapters 1–3), :class:`PlateauValley` (chapter 4), :class:`LinearRegression` and
:class:`TanhNetwork` (chapter 5). Your own loss: :class:`TorchLandscape` (a plain
function of θ), :class:`TorchFiniteSum` (a per-sample function and data tensors) or
:class:`ModuleRegression` (an ``nn.Module`` with data).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence

import torch
from torch import Tensor
from torch.func import functional_call, grad, grad_and_value, jvp, vmap

__all__ = [
    "Landscape",
    "FiniteSum",
    "SquaredLossModel",
    "FlatValley",
    "Hyperbola",
    "PlateauValley",
    "LinearRegression",
    "TanhNetwork",
    "TorchLandscape",
    "TorchFiniteSum",
    "ModuleRegression",
    "as_theta",
    "as_point",
]


def as_theta(theta, dim: int, *, name: str = "theta", dtype=None, device=None) -> Tensor:
    """Convert ``theta`` to a floating tensor whose last axis has length ``dim``.

    Raises ``ValueError`` naming ``name`` when the trailing dimension is wrong or an entry
    is not finite.
    """
    t = torch.as_tensor(theta, dtype=dtype, device=device)
    if not t.is_floating_point():
        t = t.to(torch.get_default_dtype() if dtype is None else dtype)
    if t.ndim == 0 or t.shape[-1] != dim:
        raise ValueError(f"{name} must have shape (..., {dim}), got {tuple(t.shape)}")
    if not torch.isfinite(t).all():
        raise ValueError(f"{name} must be finite")
    return t


def as_point(landscape: "Landscape", theta0, *, name: str = "theta0") -> Tensor:
    """One parameter vector for ``landscape`` as a float64 tensor of shape ``(dim,)``.

    Raises ``TypeError`` if ``landscape`` is not a :class:`Landscape` and ``ValueError``
    naming ``name`` for a wrong shape or a non-finite entry.
    """
    if not isinstance(landscape, Landscape):
        raise TypeError(f"landscape must be a Landscape, got {type(landscape).__name__}")
    t0 = as_theta(theta0, landscape.dim, name=name, dtype=torch.float64)
    if t0.ndim != 1:
        raise ValueError(f"{name} must have shape ({landscape.dim},), got {tuple(t0.shape)}")
    return t0


class Landscape(ABC):
    r"""A non-negative loss :math:`F:\mathbb R^n\to[0,\infty)`, batched over leading axes.

    Subclasses implement :meth:`loss`; :meth:`grad` defaults to ``torch.func.grad``
    under ``vmap`` and :meth:`hvp` to ``torch.func.jvp`` of :meth:`grad`.
    """

    #: dimension n of the parameter θ
    dim: int

    @abstractmethod
    def loss(self, theta: Tensor) -> Tensor:
        """F(θ) for ``theta`` of shape ``(..., dim)``; returns shape ``(...)``."""

    def grad(self, theta: Tensor) -> Tensor:
        """∇F(θ) for ``theta`` of shape ``(..., dim)``; returns shape ``(..., dim)``."""
        flat = theta.reshape(-1, self.dim)
        out = vmap(grad(lambda t: self.loss(t)))(flat)
        return out.reshape(theta.shape)

    def value_and_grad(self, theta: Tensor) -> tuple[Tensor, Tensor]:
        """(F(θ), ∇F(θ)) in one call; subclasses may share work between the two."""
        return self.loss(theta), self.grad(theta)

    def hvp(self, theta: Tensor, v: Tensor) -> Tensor:
        r"""Hessian-vector product :math:`\nabla^2F(\theta)v`, batched over leading axes."""
        flat_t = theta.reshape(-1, self.dim)
        flat_v = v.reshape(-1, self.dim)

        def one(t: Tensor, w: Tensor) -> Tensor:
            return jvp(lambda s: self._grad_one(s), (t,), (w,))[1]

        return vmap(one)(flat_t, flat_v).reshape(theta.shape)

    def _grad_one(self, t: Tensor) -> Tensor:
        return self.grad(t.unsqueeze(0)).squeeze(0)

    def to(self, device=None, dtype=None) -> "Landscape":
        """This landscape with its data on ``device`` in ``dtype`` (self if it holds no tensors)."""
        return self

    def __repr__(self) -> str:
        return f"{type(self).__name__}(dim={self.dim})"


def _check_dim(dim: int) -> int:
    if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
        raise ValueError(f"dim={dim!r} must be a positive integer")
    return dim


class FlatValley(Landscape):
    r"""The flat valley :math:`F(\theta) = \theta_1^2/2` on :math:`\mathbb R^n` (n ≥ 2; Theorem 4.1).

    Its zero set is the hyperplane :math:`\theta_1 = 0`; on every ball
    :math:`|\nabla F|^2/F = 2` wherever F > 0, so α = 2, and L = 1 with U = ℝⁿ.
    """

    def __init__(self, dim: int = 2) -> None:
        self.dim = _check_dim(dim)
        if dim < 2:
            raise ValueError(f"dim={dim} must be >= 2 (the valley needs a flat direction)")

    def loss(self, theta: Tensor) -> Tensor:
        return 0.5 * theta[..., 0] ** 2

    def grad(self, theta: Tensor) -> Tensor:
        return torch.cat([theta[..., :1], torch.zeros_like(theta[..., 1:])], dim=-1)


class Hyperbola(Landscape):
    r"""The two-layer scalar linear net :math:`F(a,b) = (ab-1)^2/2` (chapters 1–3).

    Zeros on the hyperbola ab = 1, non-convex, :math:`\nabla F = (ab-1)(b, a)` and
    :math:`|\nabla F|^2 = 2F\,|\theta|^2`, so that
    :math:`\alpha(\theta_0, r) = 2(|\theta_0| - r)^2` when :math:`|\theta_0| > r`.
    """

    dim = 2

    def loss(self, theta: Tensor) -> Tensor:
        return 0.5 * (theta[..., 0] * theta[..., 1] - 1) ** 2

    def grad(self, theta: Tensor) -> Tensor:
        res = theta[..., 0] * theta[..., 1] - 1
        return torch.stack([res * theta[..., 1], res * theta[..., 0]], dim=-1)

    def value_and_grad(self, theta: Tensor) -> tuple[Tensor, Tensor]:
        a, b = theta[..., 0], theta[..., 1]
        res = a * b - 1
        return 0.5 * res**2, torch.stack([res * b, res * a], dim=-1)

    def hessian_eigenvalues(self, theta: Tensor) -> Tensor:
        r"""Both eigenvalues of :math:`\nabla^2F = [[b^2, 2ab-1],[2ab-1, a^2]]`, shape ``(..., 2)``."""
        a, b = theta[..., 0], theta[..., 1]
        mean = 0.5 * (a**2 + b**2)
        rad = torch.sqrt(0.25 * (b**2 - a**2) ** 2 + (2 * a * b - 1) ** 2)
        return torch.stack([mean - rad, mean + rad], dim=-1)

    @staticmethod
    def alpha(theta0: Sequence[float] | Tensor, r: float) -> float:
        r"""Closed form :math:`\alpha(\theta_0, r) = 2(|\theta_0| - r)^2`, requiring :math:`|\theta_0| > r`."""
        rho = float(torch.linalg.vector_norm(torch.as_tensor(theta0, dtype=torch.float64)))
        if not (r > 0 and math.isfinite(r)):
            raise ValueError(f"r={r} must be finite and > 0")
        if rho <= r:
            raise ValueError(f"r={r} must be below |theta0|={rho:.6g}: the ball contains 0, where α = 0")
        return 2 * (rho - r) ** 2


def _smoothstep(t: Tensor) -> Tensor:
    t = t.clamp(0.0, 1.0)
    return t**3 * (10 - 15 * t + 6 * t**2)


class PlateauValley(Landscape):
    r"""A valley whose zero set ends: :math:`F(x, y) = x^2/2 + h\,S((|y| - c)/w)` (chapter 4).

    S is the C² smoothstep :math:`S(t) = 10t^3 - 15t^4 + 6t^5` clipped to [0, 1]. F vanishes
    exactly on the segment :math:`\{x = 0, |y| \le c\}`; for :math:`|y| \ge c + w` the line
    x = 0 is a plateau of critical points with the non-zero value h. ∇F is Lipschitz.

    Args:
        height: plateau height h > 0.
        edge: half-length c > 0 of the zero segment.
        width: width w > 0 of the ramp between the segment and the plateau.
    """

    dim = 2

    def __init__(self, height: float = 0.5, edge: float = 1.0, width: float = 0.5) -> None:
        for name, v in (("height", height), ("edge", edge), ("width", width)):
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise ValueError(f"{name}={v!r} must be finite and > 0")
        self.height, self.edge, self.width = float(height), float(edge), float(width)

    def loss(self, theta: Tensor) -> Tensor:
        x, y = theta[..., 0], theta[..., 1]
        return 0.5 * x**2 + self.height * _smoothstep((y.abs() - self.edge) / self.width)

    def grad(self, theta: Tensor) -> Tensor:
        x, y = theta[..., 0], theta[..., 1]
        t = ((y.abs() - self.edge) / self.width).clamp(0.0, 1.0)
        ds = 30 * t**2 * (1 - t) ** 2  # S'(t)
        gy = self.height * ds * torch.sign(y) / self.width
        return torch.stack([x, gy], dim=-1)

    def _grad_one(self, t: Tensor) -> Tensor:
        return self.grad(t)

    def __repr__(self) -> str:
        return f"PlateauValley(height={self.height}, edge={self.edge}, width={self.width})"


class FiniteSum(Landscape):
    r"""A finite sum :math:`F(\theta) = \frac1N\sum_{i<N} f_i(\theta)` with :math:`f_i \ge 0`.

    Subclasses implement :meth:`sample_loss_one`, the loss of one sample for one θ,
    written with plain torch operations; everything else is derived with ``torch.func``.
    Data live in :attr:`data`, a tuple of tensors whose first axis has length N.
    """

    data: tuple[Tensor, ...]

    @property
    def n_samples(self) -> int:
        """N, the number of samples."""
        return int(self.data[0].shape[0])

    @abstractmethod
    def sample_loss_one(self, theta: Tensor, *sample: Tensor) -> Tensor:
        """f_i(θ) for one θ of shape ``(dim,)`` and one sample (row i of each data tensor)."""

    # -- derived -------------------------------------------------------------------
    def _mean_loss_one(self, theta: Tensor, *batch: Tensor) -> Tensor:
        in_dims = (None,) + (0,) * len(batch)
        return vmap(self.sample_loss_one, in_dims=in_dims)(theta, *batch).mean()

    def loss(self, theta: Tensor) -> Tensor:
        flat = theta.reshape(-1, self.dim)
        out = vmap(lambda t: self._mean_loss_one(t, *self.data))(flat)
        return out.reshape(theta.shape[:-1])

    def grad(self, theta: Tensor) -> Tensor:
        flat = theta.reshape(-1, self.dim)
        out = vmap(grad(lambda t: self._mean_loss_one(t, *self.data)))(flat)
        return out.reshape(theta.shape)

    def value_and_grad(self, theta: Tensor) -> tuple[Tensor, Tensor]:
        flat = theta.reshape(-1, self.dim)
        g, v = vmap(grad_and_value(lambda t: self._mean_loss_one(t, *self.data)))(flat)
        return v.reshape(theta.shape[:-1]), g.reshape(theta.shape)

    def _grad_one(self, t: Tensor) -> Tensor:
        return grad(lambda s: self._mean_loss_one(s, *self.data))(t)

    def sample_losses(self, theta: Tensor) -> Tensor:
        """All f_i(θ): shape ``(..., N)`` for ``theta`` of shape ``(..., dim)``."""
        flat = theta.reshape(-1, self.dim)
        per = vmap(self.sample_loss_one, in_dims=(None,) + (0,) * len(self.data))
        out = vmap(lambda t: per(t, *self.data))(flat)
        return out.reshape(*theta.shape[:-1], self.n_samples)

    def per_sample_grads(self, theta: Tensor) -> Tensor:
        r"""All :math:`\nabla f_i(\theta)`: shape ``(..., N, dim)``."""
        flat = theta.reshape(-1, self.dim)
        per = vmap(grad(self.sample_loss_one), in_dims=(None,) + (0,) * len(self.data))
        out = vmap(lambda t: per(t, *self.data))(flat)
        return out.reshape(*theta.shape[:-1], self.n_samples, self.dim)

    def batch_grad(self, theta: Tensor, idx: Tensor) -> Tensor:
        r"""Mini-batch gradients :math:`\frac1b\sum_{j<b}\nabla f_{i_{mj}}(\theta_m)`.

        Args:
            theta: shape ``(M, dim)``, one parameter vector per trajectory.
            idx: integer tensor of shape ``(M, b)``, each trajectory's batch indices.

        Returns:
            shape ``(M, dim)``.
        """
        batch = tuple(d[idx] for d in self.data)  # each (M, b, ...)
        return vmap(grad(self._mean_loss_one))(theta, *batch)

    def to(self, device=None, dtype=None) -> "FiniteSum":
        import copy

        new = copy.copy(self)
        new.data = tuple(
            d.to(device=device, dtype=dtype if d.is_floating_point() else None) for d in self.data
        )
        return new

    def __repr__(self) -> str:
        return f"{type(self).__name__}(dim={self.dim}, n_samples={self.n_samples})"


def _data_tensor(name: str, value, ndim: int) -> Tensor:
    t = torch.as_tensor(value)
    if not t.is_floating_point():
        t = t.to(torch.float64)
    if t.ndim != ndim:
        raise ValueError(f"{name} must be a {ndim}-d array, got shape {tuple(t.shape)}")
    if not torch.isfinite(t).all():
        raise ValueError(f"{name} must be finite")
    return t


class SquaredLossModel(FiniteSum):
    r"""Squared loss of a model: :math:`f_i(\theta) = (\hat y(x_i;\theta) - y_i)^2`, :math:`F = \frac1N\sum_i f_i`.

    Subclasses implement :meth:`predict_one`, the scalar output :math:`\hat y(x;\theta)`
    for one θ of shape ``(dim,)`` and one input x of shape ``(d,)``.
    """

    def __init__(self, X, y) -> None:
        X = _data_tensor("X", X, 2)
        y = _data_tensor("y", y, 1).to(X.dtype)
        if X.shape[0] != y.shape[0]:
            raise ValueError(f"X has {X.shape[0]} rows but y has {y.shape[0]} entries")
        if X.shape[0] == 0:
            raise ValueError("X must contain at least one sample")
        self.data = (X, y)

    @property
    def X(self) -> Tensor:
        """Inputs, shape ``(N, d)``."""
        return self.data[0]

    @property
    def y(self) -> Tensor:
        """Targets, shape ``(N,)``."""
        return self.data[1]

    @abstractmethod
    def predict_one(self, theta: Tensor, x: Tensor) -> Tensor:
        """ŷ(x; θ) for θ of shape ``(dim,)`` and x of shape ``(d,)``; a scalar."""

    def sample_loss_one(self, theta: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return (self.predict_one(theta, x) - y) ** 2

    def predict(self, theta: Tensor, X: Tensor | None = None) -> Tensor:
        """ŷ(x_i; θ) for every row of ``X`` (default: the training inputs): shape ``(..., N)``."""
        X = self.X if X is None else X
        flat = theta.reshape(-1, self.dim)
        out = vmap(lambda t: vmap(self.predict_one, in_dims=(None, 0))(t, X))(flat)
        return out.reshape(*theta.shape[:-1], X.shape[0])

    def residuals(self, theta: Tensor) -> Tensor:
        """r_i = ŷ(x_i; θ) − y_i: shape ``(..., N)``."""
        return self.predict(theta) - self.y

    def output_grads(self, theta: Tensor) -> Tensor:
        r""":math:`\nabla_\theta\hat y(x_i;\theta)` for every sample: shape ``(..., N, dim)``."""
        flat = theta.reshape(-1, self.dim)
        per = vmap(grad(self.predict_one), in_dims=(None, 0))
        out = vmap(lambda t: per(t, self.X))(flat)
        return out.reshape(*theta.shape[:-1], self.n_samples, self.dim)


class LinearRegression(SquaredLossModel):
    r"""Linear regression :math:`\hat y = w\cdot x` (chapter 5); global α = 4λ_min(G_X)/N when d ≥ N.

    Here :math:`G_X = XX^\top` is the Gram matrix of the inputs; with linearly independent
    inputs the residual r = Xw − y ranges over all of ℝᴺ, :math:`|\nabla F|^2 = \frac4{N^2}r^\top G_X r`
    and :math:`F = |r|^2/N`, whence the constant.
    """

    def __init__(self, X, y) -> None:
        super().__init__(X, y)
        self.dim = int(self.X.shape[1])

    def predict_one(self, theta: Tensor, x: Tensor) -> Tensor:
        return theta @ x

    def gram_alpha(self) -> float:
        r"""The global Łojasiewicz constant :math:`4\lambda_{\min}(G_X)/N` (0 if the inputs are dependent)."""
        gram = self.X @ self.X.T
        lam = float(torch.linalg.eigvalsh(gram.to(torch.float64))[0])
        return max(lam, 0.0) * 4 / self.n_samples


class TanhNetwork(SquaredLossModel):
    r"""Deep tanh network :math:`\hat y(x) = v^\top\tanh(W_{D-1}\cdots\tanh(W_2\tanh(W_1x)))` (chapter 5).

    θ is the concatenation of the flattened weights ``W_1`` (h×d), ``W_2, …, W_{D-1}``
    (h×h each) and ``v`` (h), so ``dim = h·d + (D−2)·h² + h``. Depth D ≥ 2 counts the
    weight matrices including v.

    The loss, the full gradient, the per-sample gradients :math:`\nabla f_i`, the output
    gradients :math:`\nabla_\theta\hat y(x_i;\theta)` and the mini-batch gradients are
    computed by explicit back-propagation for many parameter vectors at once: with
    :math:`z_0 = x`, :math:`z_k = \tanh(W_kz_{k-1})`, :math:`S_k = \operatorname{diag}(1 - z_k^2)`,

    .. math:: \frac{\partial\hat y}{\partial v} = z_{D-1},\quad
              \frac{\partial\hat y}{\partial W_k} = \delta^{(k)}z_{k-1}^\top,\quad
              \delta^{(D-1)} = S_{D-1}v,\quad \delta^{(k)} = S_kW_{k+1}^\top\delta^{(k+1)},

    and :math:`\nabla f_i = 2(\hat y_i - y_i)\nabla\hat y_i`. Everything is written with
    differentiable torch operations, so autograd can differentiate through the gradient (as
    :func:`~lojasgd.assumptions.estimate_alpha` does), and Hessian-vector products are
    forward-mode derivatives (``torch.func.jvp``) of the batched gradient. The generic
    ``torch.func`` implementations inherited from :class:`FiniteSum` and
    :class:`SquaredLossModel` stay available as the reference the tests compare with, e.g.
    ``FiniteSum.grad(net, theta)`` or ``SquaredLossModel.output_grads(net, theta)``.

    Args:
        X: inputs, shape (N, d).
        y: targets, shape (N,).
        width: hidden width h.
        depth: D ≥ 2.
    """

    def __init__(self, X, y, width: int, depth: int) -> None:
        super().__init__(X, y)
        for name, v, low in (("width", width, 1), ("depth", depth, 2)):
            if isinstance(v, bool) or not isinstance(v, int) or v < low:
                raise ValueError(f"{name}={v!r} must be an integer >= {low}")
        self.width, self.depth = width, depth
        d = int(self.X.shape[1])
        self.shapes = [(width, d)] + [(width, width)] * (depth - 2) + [(width,)]
        self.sizes = [math.prod(s) for s in self.shapes]
        self.dim = sum(self.sizes)

    def unflatten(self, theta: Tensor) -> list[Tensor]:
        """Split θ (shape ``(..., dim)``) into ``[W_1, …, W_{D-1}, v]`` with leading axes kept."""
        lead = theta.shape[:-1]
        parts = torch.split(theta, self.sizes, dim=-1)
        return [p.reshape(*lead, *s) for p, s in zip(parts, self.shapes)]

    def flatten(self, weights: Sequence[Tensor]) -> Tensor:
        """Inverse of :meth:`unflatten` for unbatched weights."""
        if len(weights) != len(self.shapes):
            raise ValueError(f"weights must be {len(self.shapes)} tensors, got {len(weights)}")
        for k, (w, s) in enumerate(zip(weights, self.shapes)):
            if tuple(w.shape) != s:
                raise ValueError(f"weights[{k}] must have shape {s}, got {tuple(w.shape)}")
        return torch.cat([w.reshape(-1) for w in weights])

    def predict_one(self, theta: Tensor, x: Tensor) -> Tensor:
        *hidden, v = self.unflatten(theta)
        z = x
        for W in hidden:
            z = torch.tanh(W @ z)
        return v @ z

    # -- explicit back-propagation, batched over M parameter vectors ------------------
    def _forward(self, theta: Tensor, x: Tensor) -> tuple[list[Tensor], list[Tensor], Tensor]:
        """Hidden matrices, states [z_0, …, z_{D−1}] and outputs for θ (M, dim), x (M, b, d)."""
        *hidden, v = self.unflatten(theta)
        zs = [x]
        z = x
        for W in hidden:
            z = torch.tanh(torch.einsum("mij,mbj->mbi", W, z))
            zs.append(z)
        return hidden, zs, torch.einsum("mi,mbi->mb", v, z)

    def _backward(self, theta: Tensor, hidden: list[Tensor], zs: list[Tensor], coef: Tensor, per_sample: bool) -> Tensor:
        r"""Σ_b coef_b ∇ŷ_b (per_sample=False, shape (M, dim)) or each coef_b ∇ŷ_b (shape (M, b, dim))."""
        v = self.unflatten(theta)[-1]
        M, b = coef.shape
        z = zs[-1]
        if per_sample:
            g_v = coef.unsqueeze(-1) * z
        else:
            g_v = torch.einsum("mb,mbi->mi", coef, z)
        delta = coef.unsqueeze(-1) * v.unsqueeze(1) * (1 - z**2)  # coef·∂ŷ/∂u_{D-1}, (M, b, h)
        blocks = [g_v.reshape(M, b, -1) if per_sample else g_v.reshape(M, -1)]
        for k in reversed(range(len(hidden))):
            zin = zs[k]
            if per_sample:
                gW = (delta.unsqueeze(-1) * zin.unsqueeze(-2)).reshape(M, b, -1)
            else:
                gW = torch.einsum("mbi,mbj->mij", delta, zin).reshape(M, -1)
            blocks.append(gW)
            if k > 0:
                delta = torch.einsum("mij,mbi->mbj", hidden[k], delta) * (1 - zin**2)
        return torch.cat(blocks[::-1], dim=-1)

    def _all_data(self, M: int) -> tuple[Tensor, Tensor]:
        return self.X.unsqueeze(0).expand(M, -1, -1), self.y.unsqueeze(0).expand(M, -1)

    def loss(self, theta: Tensor) -> Tensor:
        flat = theta.reshape(-1, self.dim)
        x, y = self._all_data(flat.shape[0])
        _, _, yhat = self._forward(flat, x)
        return ((yhat - y) ** 2).mean(-1).reshape(theta.shape[:-1])

    def value_and_grad(self, theta: Tensor) -> tuple[Tensor, Tensor]:
        flat = theta.reshape(-1, self.dim)
        x, y = self._all_data(flat.shape[0])
        hidden, zs, yhat = self._forward(flat, x)
        res = yhat - y
        g = self._backward(flat, hidden, zs, 2 * res / self.n_samples, per_sample=False)
        return (res**2).mean(-1).reshape(theta.shape[:-1]), g.reshape(theta.shape)

    def grad(self, theta: Tensor) -> Tensor:
        return self.value_and_grad(theta)[1]

    def per_sample_grads(self, theta: Tensor) -> Tensor:
        r"""All :math:`\nabla f_i(\theta) = 2(\hat y_i - y_i)\nabla\hat y_i`: shape ``(..., N, dim)``."""
        flat = theta.reshape(-1, self.dim)
        x, y = self._all_data(flat.shape[0])
        hidden, zs, yhat = self._forward(flat, x)
        g = self._backward(flat, hidden, zs, 2 * (yhat - y), per_sample=True)
        return g.reshape(*theta.shape[:-1], self.n_samples, self.dim)

    def output_grads(self, theta: Tensor) -> Tensor:
        r""":math:`\nabla_\theta\hat y(x_i;\theta)` for every sample: shape ``(..., N, dim)``."""
        flat = theta.reshape(-1, self.dim)
        x, _ = self._all_data(flat.shape[0])
        hidden, zs, yhat = self._forward(flat, x)
        g = self._backward(flat, hidden, zs, torch.ones_like(yhat), per_sample=True)
        return g.reshape(*theta.shape[:-1], self.n_samples, self.dim)

    def hvp(self, theta: Tensor, v: Tensor) -> Tensor:
        r"""Hessian-vector products :math:`\nabla^2F(\theta)v`: forward-mode AD (``torch.func.jvp``) of the batched gradient."""
        flat_t, flat_v = theta.reshape(-1, self.dim), v.reshape(-1, self.dim)
        return jvp(self.grad, (flat_t,), (flat_v,))[1].reshape(theta.shape)

    def _grad_one(self, t: Tensor) -> Tensor:
        return self.grad(t.unsqueeze(0))[0]

    def batch_grad(self, theta: Tensor, idx: Tensor) -> Tensor:
        r"""Mini-batch gradients for M trajectories by explicit back-propagation (fast path).

        Same value as :meth:`FiniteSum.batch_grad` (checked in the tests): with
        :math:`z_0 = x`, :math:`z_l = \tanh(W_l z_{l-1})`, :math:`\hat y = v^\top z_{D-1}` and
        :math:`\partial/\partial\hat y_j = 2(\hat y_j - y_j)/b`, the gradients are
        :math:`\nabla_v = \sum_j \partial_j z_{D-1,j}`, and backwards through the layers
        :math:`u_l = \partial z_l\odot(1-z_l^2)`, :math:`\nabla_{W_l} = \sum_j u_{l,j}z_{l-1,j}^\top`,
        :math:`\partial z_{l-1} = W_l^\top u_l`. Written straight into one (M, dim) tensor:
        about a third faster than ``vmap(grad(...))`` for small networks on a CPU.
        """
        *hidden, v = self.unflatten(theta)
        X, y = self.data
        x, yb = X[idx], y[idx]  # (M, b, d), (M, b)
        zs = [x]
        for W in hidden:
            zs.append(torch.tanh(torch.matmul(zs[-1], W.transpose(-1, -2))))
        z = zs[-1]
        dout = (2.0 / idx.shape[-1]) * ((z * v.unsqueeze(-2)).sum(-1) - yb)  # (M, b)
        grad = torch.empty_like(theta)
        *g_hidden, g_v = self.unflatten(grad)
        g_v.copy_((dout.unsqueeze(-1) * z).sum(-2))
        dz = dout.unsqueeze(-1) * v.unsqueeze(-2)  # (M, b, h)
        for layer in range(len(hidden) - 1, -1, -1):
            du = dz * (1 - zs[layer + 1] ** 2)
            g_hidden[layer].copy_(torch.matmul(du.transpose(-1, -2), zs[layer]))
            if layer > 0:
                dz = torch.matmul(du, hidden[layer])
        return grad

    def first_layer_sensitivities(self, theta: Tensor) -> Tensor:
        r""":math:`\delta_i = \partial\hat y(x_i)/\partial(W_1x_i)` for every sample: shape ``(..., N, h)``.

        Since ŷ depends on W_1 only through u = W_1 x, this is the gradient of
        :math:`u\mapsto v^\top\tanh(W_{D-1}\cdots\tanh(u))` at u = W_1 x_i.
        """

        def head(t: Tensor, u: Tensor) -> Tensor:
            _, *rest, v = self.unflatten(t)
            z = torch.tanh(u)
            for W in rest:
                z = torch.tanh(W @ z)
            return v @ z

        def one(t: Tensor, x: Tensor) -> Tensor:
            W1 = self.unflatten(t)[0]
            return grad(head, argnums=1)(t, W1 @ x)

        flat = theta.reshape(-1, self.dim)
        out = vmap(lambda t: vmap(one, in_dims=(None, 0))(t, self.X))(flat)
        return out.reshape(*theta.shape[:-1], self.n_samples, self.width)

    def schur_alpha_bound(self, theta: Tensor) -> Tensor:
        r"""Pointwise first-layer bound :math:`\frac4N\lambda_{\min}(G_X)\min_i|\delta_i(\theta)|^2`.

        Chapter 5: :math:`|\nabla F(\theta)|^2/F(\theta) \ge` this value at θ (Schur's
        inequality for the Hadamard product :math:`\Delta\circ G_X`).
        """
        gram = self.X @ self.X.T
        lam = torch.linalg.eigvalsh(gram)[0].clamp_min(0)
        delta = self.first_layer_sensitivities(theta)
        return 4 / self.n_samples * lam * (delta**2).sum(-1).min(-1).values

    def chatterjee_init(
        self, scale: float, *, generator: torch.Generator | None = None, hidden_scale: float = 1.0
    ) -> Tensor:
        r"""Initialisation in Chatterjee's spirit: W_1 = 0, positive hidden weights, output of size λ.

        Hidden matrices W_2…W_{D−1} have i.i.d. entries uniform on
        ``(0, hidden_scale·2/h)`` (positive, so the signal does not cancel); v has entries
        λ/√h, so |v| = λ. With W_1 = 0 every input gives the same hidden state and ŷ = 0,
        so F(θ₀) = (1/N)Σy_i² whatever λ.

        Args:
            scale: output scale λ > 0.
            generator: torch generator for the hidden weights (seeded by the caller).
            hidden_scale: multiplier for the hidden weights, > 0.
        """
        if not (isinstance(scale, (int, float)) and math.isfinite(scale) and scale > 0):
            raise ValueError(f"scale={scale!r} must be finite and > 0")
        if not (math.isfinite(hidden_scale) and hidden_scale > 0):
            raise ValueError(f"hidden_scale={hidden_scale!r} must be finite and > 0")
        dtype, h = self.X.dtype, self.width
        weights = [torch.zeros(self.shapes[0], dtype=dtype)]
        for s in self.shapes[1:-1]:
            u = torch.rand(s, generator=generator, dtype=torch.float64).to(dtype)
            weights.append(u * hidden_scale * 2 / h)
        weights.append(torch.full((h,), scale / math.sqrt(h), dtype=dtype))
        return self.flatten(weights).to(self.X.device)

    def __repr__(self) -> str:
        return (
            f"TanhNetwork(n_samples={self.n_samples}, d={self.X.shape[1]}, width={self.width}, "
            f"depth={self.depth}, dim={self.dim})"
        )


class TorchLandscape(Landscape):
    r"""Wrap a plain differentiable function :math:`F(\theta)` of one θ of shape ``(dim,)``.

    ``fn`` must be written with torch operations that ``torch.func.vmap`` supports (no
    ``.item()``, no in-place updates of its input); it should be non-negative.

    Example:
        >>> import torch
        >>> land = TorchLandscape(lambda t: (t[0] * t[1] - 1) ** 2 / 2, dim=2)
        >>> land.loss(torch.tensor([[1.0, 2.0]]))
        tensor([0.5000])
    """

    def __init__(self, fn: Callable[[Tensor], Tensor], dim: int) -> None:
        if not callable(fn):
            raise TypeError(f"fn={fn!r} must be callable")
        self.fn = fn
        self.dim = _check_dim(dim)

    def loss(self, theta: Tensor) -> Tensor:
        flat = theta.reshape(-1, self.dim)
        return vmap(self.fn)(flat).reshape(theta.shape[:-1])

    def grad(self, theta: Tensor) -> Tensor:
        flat = theta.reshape(-1, self.dim)
        return vmap(grad(self.fn))(flat).reshape(theta.shape)

    def value_and_grad(self, theta: Tensor) -> tuple[Tensor, Tensor]:
        flat = theta.reshape(-1, self.dim)
        g, v = vmap(grad_and_value(self.fn))(flat)
        return v.reshape(theta.shape[:-1]), g.reshape(theta.shape)

    def _grad_one(self, t: Tensor) -> Tensor:
        return grad(self.fn)(t)


class TorchFiniteSum(FiniteSum):
    r"""Wrap a per-sample loss :math:`f(\theta; \text{sample})` and data tensors into a :class:`FiniteSum`.

    Args:
        sample_loss: ``f(theta, *sample) -> scalar`` for θ of shape ``(dim,)`` and one row of
            each data tensor; torch operations only (it runs under ``vmap``).
        data: tensors with a common first axis of length N.
        dim: dimension of θ.
    """

    def __init__(self, sample_loss: Callable[..., Tensor], data: Sequence[Tensor], dim: int) -> None:
        if not callable(sample_loss):
            raise TypeError(f"sample_loss={sample_loss!r} must be callable")
        data = tuple(torch.as_tensor(d) for d in data)
        if not data:
            raise ValueError("data must contain at least one tensor")
        n = data[0].shape[0] if data[0].ndim else 0
        for k, d in enumerate(data):
            if d.ndim == 0 or d.shape[0] != n:
                raise ValueError(f"data[{k}] must have first axis of length {n}, got {tuple(d.shape)}")
        if n == 0:
            raise ValueError("data must contain at least one sample")
        self._f = sample_loss
        self.data = data
        self.dim = _check_dim(dim)

    def sample_loss_one(self, theta: Tensor, *sample: Tensor) -> Tensor:
        return self._f(theta, *sample)


class ModuleRegression(SquaredLossModel):
    r"""Squared loss of an ``nn.Module`` with scalar output, θ = its parameters flattened.

    Uses ``torch.func.functional_call``: the module is never mutated; θ of shape ``(dim,)``
    is split into the module's parameters in ``named_parameters()`` order.

    Args:
        module: maps an input of shape ``(d,)`` to a scalar (or shape ``(1,)``).
        X: inputs, shape (N, d).
        y: targets, shape (N,).
    """

    def __init__(self, module: torch.nn.Module, X, y) -> None:
        if not isinstance(module, torch.nn.Module):
            raise TypeError(f"module must be a torch.nn.Module, got {type(module).__name__}")
        super().__init__(X, y)
        self.module = module
        self.names = [n for n, _ in module.named_parameters()]
        self.shapes = [tuple(p.shape) for _, p in module.named_parameters()]
        self.sizes = [math.prod(s) for s in self.shapes]
        self.dim = sum(self.sizes)
        if self.dim == 0:
            raise ValueError("module has no parameters")

    def theta_of_module(self) -> Tensor:
        """The module's current parameters as one flat θ (a detached copy)."""
        return torch.cat([p.detach().reshape(-1) for p in self.module.parameters()]).to(self.X.dtype)

    def predict_one(self, theta: Tensor, x: Tensor) -> Tensor:
        parts = torch.split(theta, self.sizes)
        params = {n: p.reshape(s) for n, p, s in zip(self.names, parts, self.shapes)}
        return functional_call(self.module, params, (x,)).reshape(())
