"""Tests of lojasgd.second_moment (Proposition 3.7) against closed forms and Theorem 3.1's constants."""

import math

import numpy as np
import pytest
import torch

from lojasgd import theory
from lojasgd.examples.valley import FlatValley
from lojasgd.noise import MLNoise
from lojasgd.theory import path_rms_bound, second_moment_exit_bound
from lojasgd.sgd import simulate


def test_formula_at_a_point():
    F0, eta, a, L, s, Lam = 0.3, 0.05, 2.0, 3.0, 4.0, 5.0
    q = 1 - eta * a + L * eta**2 * (a + s) / 2
    expected = eta * math.sqrt((Lam + s) * F0) / (1 - math.sqrt(q))
    assert math.isclose(path_rms_bound(F0, eta, a, L, s, Lam), expected, rel_tol=1e-14)
    r = 0.9
    assert math.isclose(second_moment_exit_bound(F0, r, eta, a, L, s, Lam), min(1, (expected / r) ** 2), rel_tol=1e-14)


def test_below_the_markov_constant_times_the_condition_factor():
    a, L, s, F0 = 1.5, 2.0, 3.0, 0.01
    for Lam in (1.5, 4.0, 30.0):
        etas = np.linspace(1e-4, 0.999, 50) * theory.step_size_limit(a, L, s)
        for eta in etas:
            rms = path_rms_bound(F0, eta, a, L, s, Lam)
            K = theory.path_constant(eta, a, L, s)
            assert rms <= math.sqrt((Lam + s) / (a + s)) * K * math.sqrt(F0) * (1 + 1e-12)


def test_sharp_on_the_flat_valley_as_eta_tends_to_zero():
    # every path has length sqrt((2 + σ) F0) for any 0 < η ≤ 1; the bound tends to it as η → 0
    sigma, F0 = 6.0, 0.02
    exact = math.sqrt((2 + sigma) * F0)
    for eta in (0.3, 0.1, 0.01):
        assert path_rms_bound(F0, eta, 2.0, 1.0, sigma, 2.0) >= exact
    assert path_rms_bound(F0, 1e-7, 2.0, 1.0, sigma, 2.0) == pytest.approx(exact, rel=1e-5)


def test_the_simulated_flat_valley_paths_have_the_closed_form_length():
    sigma, F0, eta = 6.0, 0.02, 0.2
    res = simulate(FlatValley(), MLNoise(sigma, [0.0, 1.0]), torch.tensor([math.sqrt(2 * F0), 0.0]), eta=eta,
                   r=10.0, steps=400, n_traj=50, seed=3)
    np.testing.assert_allclose(res.path_length, math.sqrt((2 + sigma) * F0), rtol=1e-12)
    assert res.path_length.max() <= path_rms_bound(F0, eta, 2.0, 1.0, sigma, 2.0)


def test_arrays_broadcast():
    F0 = np.array([1e-4, 1e-2, 1.0])
    out = second_moment_exit_bound(F0, 0.5, 0.1, 2.0, 1.0, 1.0, 2.0)
    assert out.shape == (3,) and out[-1] == 1.0 and np.all(np.diff(out) >= 0)


def test_validation():
    with pytest.raises(ValueError, match="Lambda=1.*alpha=2"):
        path_rms_bound(0.1, 0.1, 2.0, 1.0, 0.0, 1.0)
    with pytest.raises(ValueError, match="eta_max"):
        path_rms_bound(0.1, 2.5, 2.0, 1.0, 0.0, 2.0)
    with pytest.raises(ValueError, match="F0"):
        path_rms_bound(-0.1, 0.1, 2.0, 1.0, 0.0, 2.0)
    with pytest.raises(ValueError, match="r="):
        second_moment_exit_bound(0.1, 0.0, 0.1, 2.0, 1.0, 0.0, 2.0)
    with pytest.raises(ValueError, match="inconsistent"):
        # α = 10 > 2L: q(η*) = 1 - α/(2L) < 0, impossible under Assumptions 1-4
        path_rms_bound(0.1, 1.0, 10.0, 1.0, 0.0, 10.0)
