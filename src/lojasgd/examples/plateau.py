r"""The plateau valley (chapter 4): a valley whose zero set ends in a plateau of critical points.

:math:`F(x, y) = x^2/2 + h\,S((|y| - c)/w)` with the C² smoothstep S vanishes exactly on the
segment :math:`\{x = 0, |y| \le c\}`; beyond :math:`|y| \ge c + w` the line x = 0 is a plateau of
critical points at height h. Chapter 4 uses it to show what bounded noise does that
machine-learning noise cannot (Proposition 4.7).
"""

from __future__ import annotations

import torch
from torch import Tensor

from .. import validation
from ..landscapes import Landscape

__all__ = ["PlateauValley"]


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


    def fused_spec(self) -> tuple[str, dict | None]:
        """The fused kernel of :func:`lojasgd.sgd.simulate` for this landscape (name, parameters)."""
        return "plateau_valley", dict(height=self.height, edge=self.edge, width=self.width)

    def __init__(self, height: float = 0.5, edge: float = 1.0, width: float = 0.5) -> None:
        self.height = validation.positive("height", height)
        self.edge = validation.positive("edge", edge)
        self.width = validation.positive("width", width)

    def loss(self, theta: Tensor) -> Tensor:
        x, y = theta[..., 0], theta[..., 1]
        return 0.5 * x**2 + self.height * _smoothstep((y.abs() - self.edge) / self.width)

    def grad(self, theta: Tensor) -> Tensor:
        x, y = theta[..., 0], theta[..., 1]
        t = ((y.abs() - self.edge) / self.width).clamp(0.0, 1.0)
        ds = 30 * t**2 * (1 - t) ** 2  # S'(t)
        gy = self.height * ds * torch.sign(y) / self.width
        return torch.stack([x, gy], dim=-1)

    def grad_one(self, t: Tensor) -> Tensor:
        return self.grad(t)

    def __repr__(self) -> str:
        return f"PlateauValley(height={self.height}, edge={self.edge}, width={self.width})"
