"""Tests of lojasgd.exitsweep: per-start bookkeeping of a batched exit experiment."""

import math

import numpy as np
import pytest
import torch

from lojasgd import stats
from lojasgd.sweeps import exit_sweep
from lojasgd.examples.valley import FlatValley
from lojasgd.examples.hyperbola import Hyperbola
from lojasgd.noise import MLNoise


def _gd_exits(theta0, r, eta, steps):
    hyp = Hyperbola()
    th = torch.tensor(theta0, dtype=torch.float64)
    t0 = th.clone()
    for _ in range(steps):
        th = th - eta * hyp.grad(th)
        if float(torch.linalg.vector_norm(th - t0)) > r:
            return True
    return False


def test_gradient_descent_is_all_or_nothing_and_matches_a_plain_loop():
    starts = np.array([[1.05, 1.05], [1.3, 1.3], [0.5, 0.5], [2.0, 0.2]])
    sweep = exit_sweep(Hyperbola(), MLNoise(0.0), starts, n_per=7, eta=0.05, r=0.3, steps=300, seed=1)
    expected = np.array([_gd_exits(s, 0.3, 0.05, 300) for s in starts])
    np.testing.assert_array_equal(sweep.n_exits, 7 * expected)
    assert expected.any() and not expected.all()


def test_grouping_intervals_and_chain():
    starts = np.array([[0.2, 0.0], [0.5, 0.0], [0.8, 0.0]])
    sweep = exit_sweep(FlatValley(), MLNoise(4.0, [0.0, 1.0]), starts, n_per=400, eta=0.3, r=1.0,
                       steps=200, seed=2)
    exited = sweep.result.exited.reshape(3, 400)
    np.testing.assert_array_equal(sweep.n_exits, exited.sum(1))
    for k, iv in zip(sweep.n_exits, sweep.exit_intervals):
        assert iv == stats.wilson(int(k), 400)
    # leaving the ball needs a path longer than r
    assert np.all(sweep.n_exits <= sweep.n_long_paths)
    np.testing.assert_allclose(sweep.F0, starts[:, 0] ** 2 / 2)
    np.testing.assert_allclose(sweep.exit_frequency, sweep.n_exits / 400)
    assert np.all(sweep.exit_low <= sweep.exit_frequency) and np.all(sweep.exit_frequency <= sweep.exit_high)


def test_flat_valley_path_moments_are_the_closed_form():
    # paths that stay have length sqrt((2 + σ) F0) surely (x_k = (1-η)^k x0, |g| = |x_k| sqrt(1 + σ/2))
    sigma = 2.0
    starts = np.array([[0.1, 0.0], [0.2, 0.0]])
    sweep = exit_sweep(FlatValley(), MLNoise(sigma, [0.0, 1.0]), starts, n_per=50, eta=0.25, r=5.0,
                       steps=300, seed=0, stop_tol=1e-30)
    expected = np.sqrt((2 + sigma) * sweep.F0)
    np.testing.assert_allclose(sweep.path_mean, expected, rtol=1e-10)
    np.testing.assert_allclose(sweep.path_sq_mean, expected**2, rtol=1e-10)
    assert np.all(sweep.path_sem < 1e-12) and sweep.n_exits.sum() == 0


def test_per_start_radius():
    starts = np.array([[0.3, 0.0], [0.3, 0.0]])
    sweep = exit_sweep(FlatValley(), MLNoise(0.0), starts, n_per=3, eta=0.5, r=np.array([0.1, 1.0]),
                       steps=50, seed=0)
    # gradient descent moves x from 0.3 to 0: distance 0.3 > 0.1 but < 1
    np.testing.assert_array_equal(sweep.n_exits, [3, 0])
    np.testing.assert_array_equal(sweep.r, [0.1, 1.0])


def test_validation():
    fv, noise = FlatValley(), MLNoise(1.0)
    with pytest.raises(ValueError, match="n_per"):
        exit_sweep(fv, noise, np.zeros((2, 2)), n_per=0, eta=0.1, r=1.0, steps=5)
    with pytest.raises(ValueError, match="starts"):
        exit_sweep(fv, noise, np.zeros(2), n_per=2, eta=0.1, r=1.0, steps=5)
    with pytest.raises(ValueError, match="r"):
        exit_sweep(fv, noise, np.zeros((2, 2)), n_per=2, eta=0.1, r=np.ones(3), steps=5)
    with pytest.raises(ValueError, match="r"):
        exit_sweep(fv, noise, np.zeros((2, 2)), n_per=2, eta=0.1, r=-1.0, steps=5)
    assert math.isnan(exit_sweep(fv, noise, np.ones((1, 2)), n_per=1, eta=0.1, r=1.0, steps=5).path_sem[0])
