r"""Your own loss as a landscape: a plain function, a per-sample loss with data, an ``nn.Module``.

* :class:`TorchLandscape` — :math:`F(\theta)` written as a differentiable torch function of one θ;
* :class:`TorchFiniteSum` — :math:`F(\theta) = \frac1N\sum_i f(\theta; \text{sample}_i)` from a
  per-sample loss and data tensors (mini-batch noise then works out of the box);
* :class:`ModuleRegression` — the squared loss :math:`\frac1{2N}\sum_i (\hat y(x_i;\theta) - y_i)^2`
  of a ``torch.nn.Module`` with scalar output, θ its parameters flattened.

Gradients, per-sample gradients and Hessian-vector products come from ``torch.func``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from torch import Tensor
from torch.func import functional_call, grad, grad_and_value, vmap

from .. import validation
from .base import FiniteSum, Landscape, SquaredLossModel, check_dim

__all__ = ["TorchLandscape", "TorchFiniteSum", "ModuleRegression"]


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
        self.dim = check_dim(dim)

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

    def grad_one(self, t: Tensor) -> Tensor:
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
        if isinstance(data, Tensor) or not isinstance(data, Sequence):
            raise TypeError("data must be a sequence (list or tuple) of tensors")
        data = tuple(d if isinstance(d, Tensor) else torch.as_tensor(validation.real_array(f"data[{k}]", d))
                     for k, d in enumerate(data))
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
        self.dim = check_dim(dim)

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
        validation.instance("module", module, torch.nn.Module)
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
