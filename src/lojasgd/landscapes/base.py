r"""The base classes: a landscape F, a finite sum of per-sample losses, a squared-loss model.

Every landscape maps parameters ``theta`` of shape ``(..., dim)`` to losses of shape
``(...)`` (:meth:`Landscape.loss`) and gradients of shape ``(..., dim)``
(:meth:`Landscape.grad`), so that M independent SGD trajectories are one tensor
program. Hessian-vector products come from ``torch.func.jvp`` of the gradient.

Finite sums :math:`F(\theta) = \frac1N\sum_{i<N} f_i(\theta)` (:class:`FiniteSum`) add
per-sample losses and mini-batch gradients, each trajectory with its own indices, built
with ``torch.func.vmap``/``grad``. Squared-loss models
:math:`f_i(\theta) = \frac12(\hat y(x_i;\theta) - y_i)^2` (:class:`SquaredLossModel`) add the
output gradients :math:`\nabla_\theta \hat y(x_i;\theta)`.

Every public method of a landscape checks the shape of θ: a θ whose last axis is not
``dim`` long is an error, never truncated or broadcast (:func:`lojasgd.validation.theta`).
"""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from collections.abc import Callable

import torch
from torch import Tensor
from torch.func import grad, grad_and_value, jvp, vmap

from .. import validation

__all__ = ["Landscape", "FiniteSum", "SquaredLossModel", "as_point", "check_dim"]


def as_point(landscape: "Landscape", theta0, *, name: str = "theta0") -> Tensor:
    """One parameter vector for ``landscape`` as a float64 tensor of shape ``(dim,)``.

    Raises ``TypeError`` if ``landscape`` is not a :class:`Landscape` and ``ValueError``
    naming ``name`` for a wrong shape or a non-finite entry.
    """
    validation.instance("landscape", landscape, Landscape)
    return validation.theta(name, theta0, landscape.dim, ndim=1, dtype=torch.float64)


def check_dim(dim) -> int:
    """A landscape dimension: an integer >= 1."""
    return validation.integer("dim", dim, low=1)


def _checked(method: Callable) -> Callable:
    """Wrap a landscape method so that its first argument θ is checked against ``dim``.

    Tensors pass through when their last axis has ``dim`` entries (a cheap check, safe inside
    ``torch.func`` transforms); anything else goes through :func:`lojasgd.validation.theta`.
    """
    if getattr(method, "_checks_theta", False):
        return method

    @functools.wraps(method)
    def wrapper(self, theta, *args, **kwargs):
        if not isinstance(theta, Tensor) or theta.dtype == torch.bool or theta.is_complex():
            theta = validation.theta("theta", theta, self.dim, dtype=torch.float64)
        elif theta.ndim == 0 or theta.shape[-1] != self.dim:
            raise ValueError(
                f"theta must have shape (..., {self.dim}) for {type(self).__name__} of dimension "
                f"{self.dim}, got {tuple(theta.shape)}"
            )
        return method(self, theta, *args, **kwargs)

    wrapper._checks_theta = True
    return wrapper


_CHECKED_METHODS = ("loss", "grad", "value_and_grad", "hvp")


class Landscape(ABC):
    r"""A non-negative loss :math:`F:\mathbb R^n\to[0,\infty)`, batched over leading axes.

    Subclasses implement :meth:`loss`; :meth:`grad` defaults to ``torch.func.grad``
    under ``vmap`` and :meth:`hvp` to ``torch.func.jvp`` of :meth:`grad`.
    """

    #: dimension n of the parameter θ
    dim: int

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        for name in _CHECKED_METHODS:
            if name in cls.__dict__:
                setattr(cls, name, _checked(cls.__dict__[name]))

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
            return jvp(lambda s: self.grad_one(s), (t,), (w,))[1]

        return vmap(one)(flat_t, flat_v).reshape(theta.shape)

    def grad_one(self, t: Tensor) -> Tensor:
        """∇F at one θ of shape ``(dim,)`` (the function ``torch.func`` transforms differentiate)."""
        return self.grad(t.unsqueeze(0)).squeeze(0)

    def to(self, device=None, dtype=None) -> "Landscape":
        """This landscape with its data on ``device`` in ``dtype`` (self if it holds no tensors)."""
        return self

    def __repr__(self) -> str:
        return f"{type(self).__name__}(dim={self.dim})"


for _name in _CHECKED_METHODS:
    setattr(Landscape, _name, _checked(getattr(Landscape, _name)))


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

    def grad_one(self, t: Tensor) -> Tensor:
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
    """A data array as a floating tensor with ``ndim`` axes, finite (integers become float64)."""
    if isinstance(value, Tensor):
        if value.dtype == torch.bool or value.is_complex():
            raise TypeError(f"{name} must hold real numbers, got a tensor of dtype {value.dtype}")
        t = value if value.is_floating_point() else value.to(torch.float64)
    else:
        t = torch.as_tensor(validation.real_array(name, value))
    if t.ndim != ndim:
        raise ValueError(f"{name} must be a {ndim}-d array, got shape {tuple(t.shape)}")
    if not bool(torch.isfinite(t).all()):
        raise ValueError(f"{name}={validation.show(t)} must be finite")
    return t


class SquaredLossModel(FiniteSum):
    r"""Squared loss of a model: :math:`f_i(\theta) = \frac12(\hat y(x_i;\theta) - y_i)^2`, :math:`F = \frac1N\sum_i f_i`.

    The factor ½ is the book's convention throughout (the hyperbola :math:`F = \frac12(xy-1)^2` is
    the one-sample case ŷ = xy, y = 1): :math:`\nabla f_i = (\hat y_i - y_i)\nabla\hat y_i`.

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
        return 0.5 * (self.predict_one(theta, x) - y) ** 2

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


