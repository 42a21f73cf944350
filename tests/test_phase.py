"""Tests for lojasgd.phase: heat maps and region boundaries of phase diagrams."""

import matplotlib.pyplot as plt
import numpy as np
import pytest

from lojasgd.book import phase


def test_cell_edges_linear_and_log():
    assert np.allclose(phase.cell_edges([0.0, 1.0, 3.0]), [-0.5, 0.5, 2.0, 4.0])
    assert np.allclose(phase.cell_edges([1.0, 10.0, 100.0], log=True), [10**-0.5, 10**0.5, 10**1.5, 10**2.5])
    with pytest.raises(ValueError, match="increasing"):
        phase.cell_edges([1.0, 1.0])
    with pytest.raises(ValueError, match="> 0"):
        phase.cell_edges([0.0, 1.0], log=True)


def test_boundary_of_a_rectangle_and_of_an_L_shape():
    x, y = np.arange(4.0), np.arange(3.0)
    m = np.zeros((4, 3), dtype=bool)
    m[1:3, 0:2] = True  # a 2 x 2 block touching the bottom of the grid
    segs = phase.boundary_segments(x, y, m)
    assert len(segs) == 8  # perimeter of a 2 x 2 block: 8 unit edges
    length = sum(np.hypot(b[0] - a[0], b[1] - a[1]) for a, b in segs)
    assert length == pytest.approx(8.0)
    assert ((0.5, -0.5), (0.5, 0.5)) in segs and ((0.5, -0.5), (1.5, -0.5)) in segs
    m[0, 0] = True  # an L-shape of 5 cells: perimeter 8 + 3 - 1 = 10
    assert sum(np.hypot(b[0] - a[0], b[1] - a[1]) for a, b in phase.boundary_segments(x, y, m)) == pytest.approx(10.0)


def test_heatmap_and_boundary_draw():
    fig, ax = plt.subplots()
    z = np.linspace(0, 1, 12).reshape(4, 3)
    mesh = phase.heatmap(ax, [0.01, 0.1, 1.0, 10.0], [0.0, 1.0, 2.0], z, logx=True)
    assert np.allclose(mesh.get_array().reshape(3, 4), z.T) and ax.get_xscale() == "log"
    coll = phase.boundary(ax, [0.01, 0.1, 1.0, 10.0], [0.0, 1.0, 2.0], z > 0.5, logx=True, linestyles="--")
    assert coll is not None and len(coll.get_segments()) > 0
    assert phase.boundary(ax, [0.01, 0.1, 1.0, 10.0], [0.0, 1.0, 2.0], z > 2) is None
    with pytest.raises(ValueError, match="shape"):
        phase.heatmap(ax, [0.0, 1.0], [0.0, 1.0], np.zeros((3, 2)))
    with pytest.raises(TypeError, match="boolean"):
        phase.boundary(ax, [0.0, 1.0], [0.0, 1.0], np.zeros((2, 2)))
    plt.close(fig)
