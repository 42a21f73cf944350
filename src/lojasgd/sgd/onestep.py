r"""Exact one-step expectations of SGD for noise with finitely many values (Lemmas 3.2–3.4).

For a stochastic gradient :math:`g(\theta;\xi) = \nabla F(\theta) + c(\theta)\,\xi` whose direction
ξ takes finitely many values :math:`e_1, \dots, e_m` with equal probability — Rademacher signs
(:math:`2^n` values :math:`(\pm1, \dots, \pm1)/\sqrt n`) or a fixed unit vector (:math:`\pm e`) —
every expectation over one step is a finite average, computed here without sampling:

.. math::

    \mathbb E\,\varphi(\theta, g(\theta;\xi)) = \frac1m\sum_{j=1}^m \varphi(\theta, g(\theta; e_j)).

:func:`one_step` returns the quantities that appear in chapter 3's lemmas at a batch of points:
:math:`F(\theta)`, :math:`|\nabla F(\theta)|^2`, :math:`\mathbb E|g|`, :math:`\mathbb E|g|^2`,
:math:`\mathbb E|g-\nabla F|^2`, :math:`\mathbb E F(\theta-\eta g)` (Lemmas 3.2 and 3.3) and
:math:`\mathbb E\sqrt{F(\theta-\eta g)}` (Lemma 3.4), so that the lemmas' inequalities can be
checked exactly at any point. It works for :class:`~lojasgd.noise.MLNoise` and
:class:`~lojasgd.noise.BoundedNoise` with ``direction="rademacher"`` or a fixed unit vector.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import torch
from torch import Tensor

from .. import validation
from ..landscapes import Landscape
from ..noise import AdditiveNoise, Noise

__all__ = ["OneStep", "direction_atoms", "one_step"]

#: Largest dimension for which the 2^n Rademacher atoms are enumerated.
MAX_RADEMACHER_DIM = 12


def direction_atoms(noise: Noise, dim: int, *, dtype: torch.dtype = torch.float64) -> Tensor:
    r"""The equally likely values :math:`e_1, \dots, e_m` of the noise direction ξ, shape ``(m, dim)``.

    Rademacher: all :math:`2^n` sign vectors divided by √n (needs ``dim <= 12``); a fixed
    unit vector e: the two values ±e. Raises ``ValueError`` for the continuous directions
    ``"sphere"`` and ``"gaussian"`` and ``TypeError`` for other noise models.
    """
    if not isinstance(noise, AdditiveNoise):
        raise TypeError(f"noise must be MLNoise or BoundedNoise with a discrete direction, got {type(noise).__name__}")
    dim = validation.integer("dim", dim, low=1)
    direction = noise.direction
    if isinstance(direction, Tensor):
        if direction.numel() != dim:
            raise ValueError(f"the noise direction has length {direction.numel()} but dim={dim}")
        e = direction.to(dtype)
        return torch.stack([e, -e])
    if direction != "rademacher":
        raise ValueError(
            f"direction={direction!r} is continuous; exact expectations need 'rademacher' or a fixed unit vector"
        )
    if dim > MAX_RADEMACHER_DIM:
        raise ValueError(f"dim={dim} must be <= {MAX_RADEMACHER_DIM} to enumerate the 2^dim Rademacher atoms")
    signs = torch.tensor(list(itertools.product((1.0, -1.0), repeat=dim)), dtype=dtype)
    return signs / math.sqrt(dim)


@dataclass(frozen=True)
class OneStep:
    r"""Exact one-step quantities at a batch of points θ (each a tensor of shape ``(...)``).

    Attributes:
        eta: the step η.
        loss: :math:`F(\theta)`.
        grad_sq: :math:`|\nabla F(\theta)|^2`.
        mean_norm: :math:`\mathbb E|g(\theta;\xi)|`.
        mean_sq_norm: :math:`\mathbb E|g(\theta;\xi)|^2`.
        variance: :math:`\mathbb E|g(\theta;\xi) - \nabla F(\theta)|^2`.
        mean_next_loss: :math:`\mathbb E F(\theta - \eta g(\theta;\xi))`.
        mean_next_sqrt_loss: :math:`\mathbb E\sqrt{F(\theta - \eta g(\theta;\xi))}`.
        bias: :math:`|\mathbb E g(\theta;\xi) - \nabla F(\theta)|` (0 up to rounding: Assumption 3).
    """

    eta: float
    loss: Tensor
    grad_sq: Tensor
    mean_norm: Tensor
    mean_sq_norm: Tensor
    variance: Tensor
    mean_next_loss: Tensor
    mean_next_sqrt_loss: Tensor
    bias: Tensor


def one_step(landscape: Landscape, noise: Noise, theta, eta: float) -> OneStep:
    r"""Exact expectations over one SGD step :math:`\theta \mapsto \theta - \eta g(\theta;\xi)`.

    Args:
        landscape: the loss F.
        noise: :class:`~lojasgd.noise.MLNoise` or :class:`~lojasgd.noise.BoundedNoise` with
            ``direction="rademacher"`` or a fixed unit vector (scalar σ or s).
        theta: points, shape ``(n,)`` or ``(M, n)``.
        eta: the step η > 0.

    Returns:
        An :class:`OneStep` whose tensors have shape ``()`` or ``(M,)``.
    """
    validation.instance("landscape", landscape, Landscape)
    eta = validation.positive("eta", eta)
    scale = getattr(noise, "sigma", getattr(noise, "s", None))
    if isinstance(scale, Tensor):
        raise ValueError("one_step needs a scalar noise constant (sigma or s), not one per trajectory")
    atoms = direction_atoms(noise, landscape.dim)
    t = validation.theta("theta", theta, landscape.dim, ndim=(1, 2), dtype=torch.float64)
    single = t.ndim == 1
    pts = t.unsqueeze(0) if single else t
    M, m = pts.shape[0], atoms.shape[0]
    land = landscape.to(dtype=torch.float64)
    with torch.no_grad():
        F, grad = land.value_and_grad(pts)
        rep = pts.repeat_interleave(m, dim=0)  # (M*m, n): point i with atom j at row i*m + j
        xi = atoms.repeat(M, 1)
        g = noise.gradient(land, rep, xi).reshape(M, m, -1)
        nxt = land.loss((rep - eta * g.reshape(M * m, -1))).reshape(M, m)
        norms = torch.linalg.vector_norm(g, dim=-1)
        dev = g - grad.unsqueeze(1)
        out = OneStep(
            eta=float(eta),
            loss=F,
            grad_sq=(grad**2).sum(-1),
            mean_norm=norms.mean(-1),
            mean_sq_norm=(norms**2).mean(-1),
            variance=(dev**2).sum(-1).mean(-1),
            mean_next_loss=nxt.mean(-1),
            mean_next_sqrt_loss=nxt.clamp_min(0).sqrt().mean(-1),
            bias=torch.linalg.vector_norm(dev.mean(1), dim=-1),
        )
    if single:
        out = OneStep(out.eta, *(getattr(out, f)[0] for f in (
            "loss", "grad_sq", "mean_norm", "mean_sq_norm", "variance", "mean_next_loss", "mean_next_sqrt_loss", "bias")))
    return out
