r"""Phase diagrams: a probability over a grid of two parameters, with regions drawn on top (chapter 6).

:func:`heatmap` colours the cells of a rectangular grid (for example the observed
probability of staying in the ball over step size η × noise constant σ), and
:func:`boundary` draws the edge of a boolean region over the same grid, along cell edges (for example
where Theorem 3.1 applies, :math:`\eta < \eta_{\max}`, or where its bound is informative,
:math:`K\sqrt{F(\theta_0)}/r < 1`). Cells are centred on the grid values; on a log axis
the cell edges are geometric midpoints. The colour map is ``viridis`` (readable in grey
and for the common colour-vision deficiencies).
"""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection, QuadMesh

__all__ = ["cell_edges", "heatmap", "boundary_segments", "boundary"]


def cell_edges(centres, *, log: bool = False) -> np.ndarray:
    """Edges of cells centred on increasing ``centres`` (arithmetic or, with ``log``, geometric midpoints)."""
    c = np.asarray(centres, dtype=float)
    if c.ndim != 1 or c.size < 2 or not np.all(np.diff(c) > 0):
        raise ValueError(f"centres must be a strictly increasing 1-d array of length >= 2, got {c!r}")
    if log:
        if np.any(c <= 0):
            raise ValueError("centres must be > 0 on a log axis")
        return np.exp(cell_edges(np.log(c)))
    mid = (c[1:] + c[:-1]) / 2
    return np.concatenate([[c[0] - (mid[0] - c[0])], mid, [c[-1] + (c[-1] - mid[-1])]])


def _check(x, y, z) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x, y, z = np.asarray(x, dtype=float), np.asarray(y, dtype=float), np.asarray(z)
    if z.shape != (x.size, y.size):
        raise ValueError(f"values must have shape (len(x), len(y)) = {(x.size, y.size)}, got {z.shape}")
    return x, y, z


def heatmap(ax: Axes, x, y, values, *, logx: bool = False, logy: bool = False, vmin: float = 0.0,
            vmax: float = 1.0, cmap: str = "viridis") -> QuadMesh:
    """Colour cell (i, j) by ``values[i, j]`` at (x[i], y[j]); returns the mesh (for a colour bar)."""
    x, y, z = _check(x, y, values)
    mesh = ax.pcolormesh(cell_edges(x, log=logx), cell_edges(y, log=logy), z.T.astype(float), vmin=vmin,
                         vmax=vmax, cmap=cmap, shading="flat")
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    return mesh


def boundary_segments(x, y, mask, *, logx: bool = False, logy: bool = False) -> list[tuple[tuple[float, float], tuple[float, float]]]:
    """The cell edges that separate ``mask`` cells from the rest (or from the outside of the grid).

    Returns a list of segments ((x0, y0), (x1, y1)) along the staircase boundary of the region.
    """
    x, y, m = _check(x, y, mask)
    if m.dtype != bool:
        raise TypeError(f"mask must be boolean, got dtype {m.dtype}")
    ex, ey = cell_edges(x, log=logx), cell_edges(y, log=logy)
    padded = np.zeros((x.size + 2, y.size + 2), dtype=bool)
    padded[1:-1, 1:-1] = m
    segs = []
    # vertical edges: between cells (i-1, j) and (i, j) at x = ex[i]
    vi, vj = np.nonzero(padded[1:, 1:-1] != padded[:-1, 1:-1])
    segs += [((ex[i], ey[j]), (ex[i], ey[j + 1])) for i, j in zip(vi, vj)]
    # horizontal edges: between cells (i, j-1) and (i, j) at y = ey[j]
    hi, hj = np.nonzero(padded[1:-1, 1:] != padded[1:-1, :-1])
    segs += [((ex[i], ey[j]), (ex[i + 1], ey[j])) for i, j in zip(hi, hj)]
    return [tuple((float(a), float(b)) for a, b in seg) for seg in segs]


def boundary(ax: Axes, x, y, mask, *, logx: bool = False, logy: bool = False, **line):
    """Draw the staircase edge of the region where the boolean ``mask[i, j]`` holds, along cell edges.

    Keyword arguments go to :class:`matplotlib.collections.LineCollection` (default: black,
    width 1.4). Returns the collection (None for an empty region).
    """
    segs = boundary_segments(x, y, mask, logx=logx, logy=logy)
    if not segs:
        return None
    line.setdefault("colors", "black")
    line.setdefault("linewidths", 1.4)
    coll = LineCollection(segs, **line)
    ax.add_collection(coll)
    return coll
