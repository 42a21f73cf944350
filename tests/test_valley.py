"""Tests for lojasgd.valley: the flat valley with machine-learning noise in closed form (Proposition 6.1)."""

import itertools
import math

import numpy as np
import pytest

from lojasgd import noise, sgd, stats, theory
from lojasgd.examples import valley


def _run(F0, eta, sigma, r, M=400, steps=800, seed=0, trace=False):
    x0 = math.sqrt(2 * F0)
    return sgd.simulate(valley.FlatValley(), noise.MLNoise(sigma, direction=[0.0, 1.0]), [x0, 0.3],
                        eta=eta, r=r, steps=steps, n_traj=M, seed=seed, stop_on_exit=False,
                        trace_every=1 if trace else None, trace_theta=trace)


def test_weights_sum_to_variance_and_range():
    F0, eta, sigma = 0.3, 0.2, 5.0
    a = valley.ml_weights(F0, eta, sigma, 400)
    assert a[0] == pytest.approx(eta * math.sqrt(sigma * F0))
    assert np.allclose(a[1:] / a[:-1], 1 - eta)
    assert np.sum(a**2) == pytest.approx(valley.displacement_variance(F0, eta, sigma), rel=1e-12)
    assert np.sum(a) == pytest.approx(math.sqrt(sigma * F0), rel=1e-12)  # sure range of |y_k - y_0|


def test_simulated_coordinates_follow_the_closed_form():
    F0, eta, sigma = 0.2, 0.25, 3.0
    res = _run(F0, eta, sigma, r=10.0, M=5, steps=30, trace=True)
    th = res.theta_trace  # (M, R, 2), R = steps + 1
    k = np.arange(th.shape[1])
    assert np.allclose(th[:, :, 0], (1 - eta) ** k * math.sqrt(2 * F0), rtol=0, atol=1e-14)
    incr = -np.diff(th[:, :, 1], axis=1)  # a_j xi_j
    a = valley.ml_weights(F0, eta, sigma, th.shape[1] - 1)
    assert np.allclose(np.abs(incr), a, rtol=1e-12, atol=0)


@pytest.mark.parametrize("eta", [0.05, 0.5, 1.0])
def test_every_path_has_length_sqrt_of_2_plus_sigma_times_F0(eta):
    F0, sigma = 0.1, 6.0
    res = _run(F0, eta, sigma, r=10.0, M=50, steps=1200)
    assert np.allclose(res.total_path_length, valley.path_length(F0, sigma), rtol=1e-10)


def test_path_length_is_the_small_step_limit_of_theorem_3_1():
    F0, sigma = 0.1, 6.0
    K = theory.path_constant(1e-9, 2.0, 1.0, sigma)  # alpha = 2, L = 1
    assert K * math.sqrt(F0) == pytest.approx(valley.path_length(F0, sigma), rel=1e-8)


def test_no_exit_on_the_sure_boundary_and_sure_exit_beyond_x0():
    sigma, r = 4.0, 1.0
    F0 = r**2 / (2 + sigma)  # (2 + sigma) F0 = r^2 exactly
    assert valley.stays_surely(F0, r, sigma)
    assert valley.ville_exit_bound(F0, r, 0.3, sigma) == 0.0
    assert _run(F0, 0.3, sigma, r, M=2000, steps=200).n_exits == 0
    F0 = 0.6  # 2 F0 > r^2: x alone leaves
    assert valley.ville_exit_bound(F0, r, 0.3, sigma) == 1.0
    assert _run(F0, 0.3, sigma, r, M=200, steps=200).n_exits == 200


def test_bound_dominates_the_exact_maximal_probability_of_a_truncated_sum():
    # all 2^n sign patterns: P(max_k |S_k| > t) exactly for the first n weights
    F0, eta, sigma, n = 0.3, 0.3, 8.0, 14
    a = valley.ml_weights(F0, eta, sigma, n)
    signs = np.array(list(itertools.product([-1.0, 1.0], repeat=n)))
    running = np.abs(np.cumsum(signs * a, axis=1)).max(axis=1)
    v = valley.displacement_variance(F0, eta, sigma)
    for t in (0.3, 0.5, 0.7, 0.9):
        exact = np.mean(running > t)
        assert exact <= 2 * math.exp(-t**2 / (2 * v)) + 1e-15
    r = math.sqrt(2 * F0 + 0.7**2)
    assert np.mean(running > 0.7) <= valley.ville_exit_bound(F0, r, eta, sigma)


def test_bound_is_consistent_with_simulation():
    F0, eta, sigma, r = 0.3, 0.1, 8.0, 1.0
    res = _run(F0, eta, sigma, r, M=1000, steps=300, seed=3)
    bound = valley.ville_exit_bound(F0, r, eta, sigma)
    assert 0 < bound < 1
    iv = stats.wilson(res.n_exits, res.n_traj)
    assert stats.consistent_with_upper_bound(iv, bound)
    assert iv.high < bound  # and it is not vacuous here: the truth is clearly below it


def test_vectorised_bound_and_validation():
    out = valley.ville_exit_bound(np.array([0.05, 0.3, 0.6]), 1.0, 0.1, 8.0)
    assert out.shape == (3,) and out[0] == 0 and 0 < out[1] < 1 and out[2] == 1
    with pytest.raises(ValueError, match="eta"):
        valley.ville_exit_bound(0.1, 1.0, 1.5, 1.0)
    with pytest.raises(ValueError, match="F0"):
        valley.path_length(-0.1, 1.0)
    with pytest.raises(ValueError, match="r="):
        valley.stays_surely(0.1, 0.0, 1.0)
    with pytest.raises(ValueError, match="n="):
        valley.ml_weights(0.1, 0.1, 1.0, 0)
    with pytest.raises(TypeError):
        valley.path_length(True, 1.0)
