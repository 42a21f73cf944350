"""The book's figure style: one function per recurring figure type.

Colours are the Okabe–Ito palette (safe for the common colour-vision deficiencies).
Functions draw on a given ``matplotlib`` axes and return it, so chapters compose them;
:func:`figure` makes a figure in the book's size. Nothing here selects a backend.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Circle

from ..landscapes import Landscape
from ..stats import Interval

__all__ = [
    "PALETTE",
    "COLORS",
    "apply_style",
    "figure",
    "contour",
    "draw_ball",
    "paths",
    "exit_probability",
    "decay",
    "band",
]

#: Okabe–Ito colours by name.
PALETTE = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky": "#56B4E9",
    "green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
}
#: The default colour cycle; black (for bounds) and yellow (faint) are left out.
COLORS = [PALETTE[k] for k in ("blue", "vermillion", "green", "orange", "purple", "sky")]

_RC = {
    "figure.dpi": 110,
    "savefig.dpi": 110,
    "font.size": 10,
    "axes.titlesize": 10,
    "axes.labelsize": 10,
    "legend.fontsize": 8.5,
    "legend.frameon": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.25,
    "lines.linewidth": 1.6,
    "axes.prop_cycle": plt.cycler(color=COLORS),
}


def apply_style() -> None:
    """Set the book's rcParams (idempotent; does not choose a backend)."""
    plt.rcParams.update(_RC)


def figure(ncols: int = 1, nrows: int = 1, *, width: float = 7.0, height: float | None = None, **kwargs) -> tuple[Figure, np.ndarray | Axes]:
    """A figure of the book's width with ``nrows × ncols`` axes (``plt.subplots`` arguments pass through)."""
    apply_style()
    if height is None:
        height = 2.9 * nrows if ncols > 1 else 3.4 * nrows
    return plt.subplots(nrows, ncols, figsize=(width, height), constrained_layout=True, **kwargs)


def contour(
    ax: Axes,
    landscape: Landscape,
    xlim: tuple[float, float],
    ylim: tuple[float, float],
    *,
    n: int = 200,
    levels: int | Sequence[float] = 12,
    log: bool = True,
    zero_set: bool = True,
) -> Axes:
    """Contours of a two-dimensional landscape (log-spaced by default) and its zero set in black."""
    if landscape.dim != 2:
        raise ValueError(f"contour needs a 2-d landscape, got dim={landscape.dim}")
    xs, ys = np.linspace(*xlim, n), np.linspace(*ylim, n)
    XX, YY = np.meshgrid(xs, ys)
    pts = torch.tensor(np.stack([XX, YY], -1), dtype=torch.float64)
    with torch.no_grad():
        Z = landscape.loss(pts).numpy()
    if log:
        Zp = np.log10(np.maximum(Z, 1e-8))
        ax.contourf(XX, YY, Zp, levels=levels, cmap="Greys", alpha=0.55)
    else:
        ax.contourf(XX, YY, Z, levels=levels, cmap="Greys", alpha=0.55)
    if zero_set:
        ax.contour(XX, YY, Z, levels=[1e-6 * max(Z.max(), 1e-12)], colors=PALETTE["black"], linewidths=1.0)
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect("equal")
    return ax


def draw_ball(ax: Axes, center: Sequence[float], r: float, *, color: str = PALETTE["black"], **kwargs) -> Axes:
    """The circle of radius r around ``center`` (dashed), with the centre marked."""
    ax.add_patch(Circle(tuple(center), r, fill=False, ls="--", lw=1.0, color=color, **kwargs))
    ax.plot([center[0]], [center[1]], "o", color=color, ms=3)
    return ax


def paths(ax: Axes, traces: np.ndarray, *, color: str | None = None, alpha: float = 0.6, lw: float = 0.8, label: str | None = None) -> Axes:
    """Draw two-dimensional trajectories; ``traces`` has shape (M, R, 2)."""
    traces = np.asarray(traces)
    if traces.ndim != 3 or traces.shape[-1] != 2:
        raise ValueError(f"traces must have shape (M, R, 2), got {traces.shape}")
    color = color or COLORS[0]
    for m, tr in enumerate(traces):
        ax.plot(tr[:, 0], tr[:, 1], color=color, alpha=alpha, lw=lw, label=label if m == 0 else None)
    return ax


def exit_probability(
    ax: Axes,
    x: Sequence[float],
    intervals: Sequence[Interval],
    *,
    label: str,
    color: str | None = None,
    marker: str = "o",
) -> Axes:
    """Observed probabilities with their confidence intervals as error bars against ``x``."""
    x = np.asarray(x, dtype=float)
    if len(intervals) != len(x):
        raise ValueError(f"x has {len(x)} entries but intervals has {len(intervals)}")
    est = np.array([iv.estimate for iv in intervals])
    lo = np.array([iv.low for iv in intervals])
    hi = np.array([iv.high for iv in intervals])
    ax.errorbar(x, est, yerr=[est - lo, hi - est], fmt=marker, ms=4, capsize=2.5, color=color, label=label)
    return ax


def decay(ax: Axes, steps: np.ndarray, values: np.ndarray, *, label: str, color: str | None = None, bound: np.ndarray | None = None,
          bound_label: str | None = None) -> Axes:
    """A decay curve on a log scale, with an optional bound drawn dashed in black."""
    ax.semilogy(steps, values, color=color, label=label)
    if bound is not None:
        ax.semilogy(steps, bound, "--", color=PALETTE["black"], lw=1.2, label=bound_label)
    return ax


def band(ax: Axes, x: np.ndarray, low: np.ndarray, high: np.ndarray, *, color: str | None = None, alpha: float = 0.2,
         label: str | None = None) -> Axes:
    """A shaded band between ``low`` and ``high`` (quantiles or confidence limits)."""
    ax.fill_between(x, low, high, color=color or COLORS[0], alpha=alpha, lw=0, label=label)
    return ax
