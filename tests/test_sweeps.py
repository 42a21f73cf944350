"""Tests for lojasgd.sweeps: grids of settings as one batched run."""

import numpy as np
import pytest
import torch

from lojasgd import noise, sgd, stats
from lojasgd.examples import hyperbola
from lojasgd.sweeps import Grid


def test_layout_is_cell_major_with_contiguous_repetitions():
    g = Grid(3, eta=[0.1, 0.2], sigma=[0.0, 1.0, 2.0])
    assert g.shape == (2, 3) and g.n_cells == 6 and g.n_traj == 18 and g.names == ("eta", "sigma")
    eta, sigma = g.column("eta"), g.column("sigma")
    assert eta.shape == (18,) and eta.dtype == torch.float64
    assert eta[:9].eq(0.1).all() and eta[9:].eq(0.2).all()
    assert sigma[:3].eq(0.0).all() and sigma[3:6].eq(1.0).all() and sigma[9:12].eq(0.0).all()
    assert np.array_equal(g.values("sigma")[1], [0.0, 1.0, 2.0])


def test_counts_and_per_cell_round_trip():
    g = Grid(4, a=[1.0, 2.0], b=[5.0, 6.0, 7.0])
    m = np.arange(g.n_traj)
    cells = g.per_cell(m)
    assert cells.shape == (2, 3, 4) and cells[1, 2, 3] == g.n_traj - 1
    mask = (m % 4) < (m // 4) % 5  # cell c has min(c, 4) true entries... capped by reps
    expected = np.minimum(np.arange(6) % 5, 4).reshape(2, 3)
    assert np.array_equal(g.counts(mask), expected)
    with pytest.raises(TypeError, match="boolean"):
        g.counts(m)
    with pytest.raises(ValueError, match="per-trajectory"):
        g.per_cell(np.zeros(5))


def test_intervals_match_stats():
    g = Grid(50, x=[0.0, 1.0])
    low, high = g.intervals(np.array([0, 20]))
    iv = stats.wilson(20, 50)
    assert low[1] == pytest.approx(iv.low) and high[1] == pytest.approx(iv.high) and low[0] == 0
    low, high = g.intervals(np.array([0, 20]), method="exact")
    assert high[0] == pytest.approx(stats.clopper_pearson(0, 50).high)


def test_a_sweep_in_one_run_equals_the_cells_run_separately():
    # with sigma = 0 (gradient descent) every trajectory is deterministic, so cell by cell they must agree
    g = Grid(2, eta=[0.1, 0.3], sigma=[0.0])
    res = sgd.simulate(hyperbola.Hyperbola(), noise.MLNoise(g.column("sigma")), [1.5, 1.0], eta=g.column("eta"),
                       r=5.0, steps=50, n_traj=g.n_traj, seed=0)
    for k, eta in enumerate(g.axes["eta"]):
        one = sgd.simulate(hyperbola.Hyperbola(), noise.MLNoise(0.0), [1.5, 1.0], eta=float(eta), r=5.0,
                           steps=50, n_traj=1, seed=0)
        assert np.allclose(g.per_cell(res.theta_final)[k, 0], one.theta_final[0], atol=1e-14)


def test_validation():
    with pytest.raises(ValueError, match="reps"):
        Grid(0, eta=[0.1])
    with pytest.raises(ValueError, match="axis"):
        Grid(2)
    with pytest.raises(ValueError, match="'eta'"):
        Grid(2, eta=[])
    with pytest.raises(ValueError, match="finite"):
        Grid(2, eta=[np.nan])
    with pytest.raises(KeyError):
        Grid(2, eta=[0.1]).values("sigma")
