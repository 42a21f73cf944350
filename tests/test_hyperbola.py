"""Tests for lojasgd.regions: certified constants of Theorem 3.1 on the hyperbola."""

import math

import numpy as np
import pytest
import torch

from lojasgd import estimate, noise, theory
from lojasgd.examples import hyperbola


def _disc(center, R, n, seed=0):
    rng = np.random.default_rng(seed)
    u = rng.normal(size=(n, 2))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    return np.asarray(center) + R * np.sqrt(rng.uniform(size=(n, 1))) * u


def test_hessian_norm_is_the_largest_eigenvalue_modulus():
    pts = _disc([0.3, -0.2], 3.0, 500)
    ev = hyperbola.Hyperbola().hessian_eigenvalues(torch.tensor(pts)).numpy()
    assert np.allclose(hyperbola.hessian_norm(pts[:, 0], pts[:, 1]), np.abs(ev).max(axis=1), rtol=1e-12)


def test_circle_max_of_a_linear_function_and_shapes():
    c = np.array([[0.0, 0.0], [1.0, 2.0]])
    out = estimate.circle_max(lambda a, b: 3 * a + 4 * b, c, np.array([1.0, 0.5]))
    assert np.allclose(out, [5.0, 11.0 + 2.5], atol=1e-12)
    assert estimate.circle_max(lambda a, b: a, [0.0, 0.0], np.ones((2, 3))).shape == (2, 3)
    with pytest.raises(ValueError, match="n_angles"):
        estimate.circle_max(lambda a, b: a, [0.0, 0.0], 1.0, n_angles=4)


def test_maxima_over_the_disc_lie_on_the_circle():
    center, R = np.array([1.2, 1.0]), 0.9
    pts = _disc(center, R, 20000, seed=1)
    hmax = estimate.circle_max(hyperbola.hessian_norm, center, R)
    assert hyperbola.hessian_norm(pts[:, 0], pts[:, 1]).max() <= hmax + 1e-12
    rmax = estimate.circle_max(lambda a, b: np.abs(a * b - 1), center, R)
    assert np.abs(pts[:, 0] * pts[:, 1] - 1).max() <= rmax + 1e-12


def test_constants_match_theory_and_bound_the_gradients():
    th0, r, eta, sigma = np.array([1.2, 1.0]), 0.75, 0.02, 3.0
    c = hyperbola.ball_constants(th0, r, eta, sigma)
    assert float(c.alpha) == pytest.approx(hyperbola.Hyperbola.alpha(th0, r))
    assert float(c.F0) == pytest.approx(0.02)
    assert bool(c.admissible) and float(c.eta_max) == pytest.approx(theory.step_size_limit(c.alpha, c.L, sigma))
    assert float(c.K) == pytest.approx(theory.path_constant(eta, c.alpha, c.L, sigma))
    assert float(c.bound) == pytest.approx(theory.markov_exit_bound(c.F0, r, eta, c.alpha, c.L, sigma))
    pts = torch.tensor(_disc(th0, r, 5000, seed=2))
    G = noise.MLNoise(sigma).max_norm(hyperbola.Hyperbola(), pts).numpy()
    assert G.max() <= float(c.G)
    reach = _disc(th0, r + eta * float(c.G), 5000, seed=3)
    assert hyperbola.hessian_norm(reach[:, 0], reach[:, 1]).max() <= float(c.L) + 1e-12


def test_region_shrinks_with_eta_and_sigma_on_a_grid():
    E, S = np.meshgrid(np.logspace(-3, 0, 12), np.linspace(0, 20, 9), indexing="ij")
    c = hyperbola.ball_constants([1.2, 1.0], 0.75, E, S)
    assert c.K.shape == E.shape
    assert np.all(c.admissible == (E < c.eta_max))
    assert np.all(np.isnan(c.K[~c.admissible])) and np.all(c.bound[~c.admissible] == 1)
    info = c.informative
    assert info[0, 0] and not info[-1, -1]
    # once silent, silent for every larger step (same sigma) and every larger sigma (same step)
    assert np.all(np.diff(info.astype(int), axis=0) <= 0) and np.all(np.diff(info.astype(int), axis=1) <= 0)


def test_validation():
    with pytest.raises(ValueError, match=r"r=.* must be below"):
        hyperbola.ball_constants([1.0, 0.0], 1.5, 0.1, 1.0)
    with pytest.raises(ValueError, match="eta"):
        hyperbola.ball_constants([1.0, 1.0], 0.5, 0.0, 1.0)
    with pytest.raises(ValueError, match="sigma"):
        hyperbola.ball_constants([1.0, 1.0], 0.5, 0.1, -1.0)
    with pytest.raises(ValueError, match="theta0"):
        hyperbola.ball_constants([1.0, 1.0, 1.0], 0.5, 0.1, 1.0)


def test_certified_circle_max_is_an_upper_bound_within_its_margin():
    center, R = np.array([1.2, 1.0]), np.array([0.3, 0.75, 1.7])
    norm_c = np.linalg.norm(center)
    for fn, lam in ((lambda a, b: np.abs(a * b - 1), norm_c + R), (hyperbola.hessian_norm, 2 * math.sqrt(3) * (norm_c + R))):
        coarse = estimate.circle_max(fn, center, R, n_angles=16, lipschitz=lam)      # few angles: a large margin
        fine = estimate.circle_max(fn, center, R, n_angles=2**16)                     # the estimate, nearly exact
        assert np.all(coarse >= fine) and np.all(coarse - fine <= np.pi * R * lam / 16 + 1e-12)
        assert np.all(estimate.circle_max(fn, center, R, n_angles=2048, lipschitz=lam) >= fine)
    with pytest.raises(ValueError, match="lipschitz"):
        estimate.circle_max(lambda a, b: a, [0.0, 0.0], 1.0, lipschitz=-1.0)


def test_hessian_norm_rate_of_change_is_at_most_2_sqrt3_theta():
    # the Lipschitz constant used for the certified maximum: |d/dt hessian_norm(theta + t u)| <= 2 sqrt(3) |theta|
    pts = _disc([0.0, 0.0], 3.0, 4000, seed=4)
    u = _disc([0.0, 0.0], 1.0, 4000, seed=5)
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    t = 1e-6
    d = (hyperbola.hessian_norm(*(pts + t * u).T) - hyperbola.hessian_norm(*(pts - t * u).T)) / (2 * t)
    assert np.all(np.abs(d) <= 2 * math.sqrt(3) * np.linalg.norm(pts, axis=1) + 1e-5)


def test_certified_constants_dominate_the_estimates():
    E, S = np.meshgrid(np.logspace(-3, 0, 6), np.linspace(0, 20, 5), indexing="ij")
    cert = hyperbola.ball_constants([1.2, 1.0], 0.75, E, S)
    est = hyperbola.ball_constants([1.2, 1.0], 0.75, E, S, certified=False)
    assert np.all(cert.G >= est.G) and np.all(cert.L >= est.L) and np.all(cert.L <= 1.01 * est.L)
    assert np.all(cert.informative <= est.informative)          # certification can only shrink the region
