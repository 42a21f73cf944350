r"""Deterministic step-size schedules k ↦ η_k for :func:`lojasgd.sgd.simulate`.

:func:`constant` (Theorem 3.1 with η̄ = η), :func:`robbins_monro` (Theorem 4.1's
:math:`\eta_0/(k+1)^p`), :func:`warmup` (a linear warm-up), or your own :class:`Schedule`.
Each step is checked when it is used: finite, positive, at most the declared ``sup``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .. import validation

__all__ = ["Schedule", "constant", "robbins_monro", "warmup"]


@dataclass(frozen=True)
class Schedule:
    r"""A deterministic step-size schedule k ↦ η_k.

    Attributes:
        fn: the map k ↦ η_k (k = 0, 1, …).
        name: a short description used in plots and reprs.
        sup: :math:`\bar\eta = \sup_k \eta_k` (the η̄ of Theorem 3.1).
    """

    fn: Callable[[int], float]
    name: str
    sup: float

    def __post_init__(self) -> None:
        if not callable(self.fn):
            raise TypeError(f"fn={self.fn!r} must be callable (k -> eta_k)")
        if not isinstance(self.name, str):
            raise TypeError(f"name={self.name!r} must be a string")
        object.__setattr__(self, "sup", validation.positive("sup", self.sup))

    def __call__(self, k: int) -> float:
        return self.fn(k)

    def step(self, k: int) -> float:
        """η_k, checked: a finite number in (0, sup] (a bad value is an error naming k and the value)."""
        value = self.fn(k)
        try:
            eta = validation.real(f"{self.name}: eta_{k}", value)
        except (TypeError, ValueError) as err:
            raise ValueError(f"schedule {self.name!r} gave an invalid step at k={k}: {err}") from None
        if not 0 < eta <= self.sup * (1 + 1e-12):
            raise ValueError(
                f"schedule {self.name!r} gave eta_{k}={eta!r} at k={k}, outside (0, sup={self.sup:g}]: every step must be "
                "positive and at most the declared sup (the eta-bar of Theorem 3.1)"
            )
        return eta

    def values(self, steps: int) -> np.ndarray:
        """η_0, …, η_{steps−1} as an array, each checked as in :meth:`step`."""
        steps = validation.integer("steps", steps, low=0)
        return np.array([self.step(k) for k in range(steps)], dtype=float)

    def __repr__(self) -> str:
        return f"Schedule({self.name})"


def constant(eta: float) -> Schedule:
    """Constant step η_k = η."""
    eta = validation.positive("eta", eta)
    return Schedule(lambda k: eta, f"constant η={eta:g}", eta)


def robbins_monro(eta0: float, p: float) -> Schedule:
    r"""Robbins–Monro steps :math:`\eta_k = \eta_0/(k+1)^p` with p ∈ (1/2, 1] (Theorem 4.1).

    Then :math:`\sum\eta_k = \infty` and :math:`\sum\eta_k^2 < \infty`.
    """
    eta0 = validation.positive("eta0", eta0)
    p = validation.real("p", p)
    if not 0.5 < p <= 1:
        raise ValueError(f"p={p:g} must lie in (1/2, 1] so that Σ η_k = ∞ and Σ η_k² < ∞")
    return Schedule(lambda k: eta0 / (k + 1) ** p, f"η₀={eta0:g}/(k+1)^{p:g}", eta0)


def warmup(eta: float, warmup_steps: int, eta_start: float | None = None) -> Schedule:
    r"""Linear warm-up from ``eta_start`` (default η/10) to η over ``warmup_steps``, then constant η."""
    eta = validation.positive("eta", eta)
    warmup_steps = validation.integer("warmup_steps", warmup_steps, low=1)
    start = eta / 10 if eta_start is None else validation.positive("eta_start", eta_start)
    if start > eta:
        raise ValueError(f"eta_start={start} must be <= eta={eta}")

    def fn(k: int) -> float:
        return start + (eta - start) * min(k, warmup_steps) / warmup_steps

    return Schedule(fn, f"warm-up {start:g}→{eta:g} over {warmup_steps}", eta)
