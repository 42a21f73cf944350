r"""Confidence intervals for exit (or staying) probabilities estimated by Monte Carlo.

Both intervals come from :func:`scipy.stats.binomtest`:

* Wilson's score interval (``method="wilson"``), the default: good coverage, never
  outside [0, 1];
* Clopper–Pearson's exact interval (``method="exact"``): conservative, coverage at
  least the nominal level for every p.

A claim "p ≤ bound" is supported by Monte Carlo when the interval's *lower* end is
below the bound (:func:`consistent_with_upper_bound`), and contradicted when the lower
end is above it.
"""

from __future__ import annotations

from dataclasses import dataclass

from scipy.stats import binomtest

from . import validation

__all__ = ["Interval", "wilson", "clopper_pearson", "proportion_interval", "consistent_with_upper_bound",
           "consistent_with_lower_bound"]


@dataclass(frozen=True)
class Interval:
    """A binomial proportion estimate k/n with a two-sided confidence interval [low, high]."""

    k: int
    n: int
    low: float
    high: float
    level: float
    method: str

    @property
    def estimate(self) -> float:
        """The point estimate k/n."""
        return self.k / self.n

    @property
    def half_width(self) -> float:
        """(high − low)/2."""
        return (self.high - self.low) / 2

    def __contains__(self, p: float) -> bool:
        return self.low <= p <= self.high

    def __str__(self) -> str:
        return f"{self.estimate:.4f} [{self.low:.4f}, {self.high:.4f}] ({self.k}/{self.n}, {self.method} {self.level:.0%})"


def _validate(k, n, level) -> tuple[int, int, float]:
    n = validation.integer("n", n, low=1)
    k = validation.integer("k", k)
    if not 0 <= k <= n:
        raise ValueError(f"k={k} must satisfy 0 <= k <= n={n}")
    level = validation.in_range("level", level, 0.0, 1.0, open_low=True, open_high=True)
    return k, n, level


def proportion_interval(k: int, n: int, level: float = 0.95, method: str = "wilson") -> Interval:
    """Confidence interval for a binomial proportion from k successes in n trials.

    Args:
        k: number of successes (e.g. trajectories that left the ball).
        n: number of trials (trajectories), n ≥ 1.
        level: confidence level in (0, 1).
        method: ``"wilson"`` or ``"exact"`` (Clopper–Pearson), as in scipy.
    """
    k, n, level = _validate(k, n, level)
    if method not in ("wilson", "exact"):
        raise ValueError(f"method={method!r} must be 'wilson' or 'exact'")
    ci = binomtest(k, n).proportion_ci(confidence_level=level, method=method)
    return Interval(k, n, float(ci.low), float(ci.high), level, method)


def wilson(k: int, n: int, level: float = 0.95) -> Interval:
    """Wilson score interval for k/n (see :func:`proportion_interval`)."""
    return proportion_interval(k, n, level, "wilson")


def clopper_pearson(k: int, n: int, level: float = 0.95) -> Interval:
    """Clopper–Pearson exact interval for k/n (see :func:`proportion_interval`)."""
    return proportion_interval(k, n, level, "exact")


def consistent_with_upper_bound(interval: Interval, bound: float) -> bool:
    """True unless the data contradict ``p ≤ bound``, i.e. unless ``interval.low > bound``."""
    return interval.low <= bound


def consistent_with_lower_bound(interval: Interval, bound: float) -> bool:
    """True unless the data contradict ``p ≥ bound``, i.e. unless ``interval.high < bound``."""
    return interval.high >= bound
