"""Tests for lojasgd.sde: Euler–Maruyama for dθ = −∇F dt + sqrt(ησF/n) dW."""

import math

import numpy as np
import pytest
import torch

from lojasgd import noise, sgd
from lojasgd.examples import hyperbola, valley


def test_one_step_increment_has_the_sde_drift_and_covariance():
    hyp, th = hyperbola.Hyperbola(), torch.tensor([1.5, 0.4])
    eta, sigma, dt, M = 0.2, 3.0, 0.01, 40000
    res = sgd.euler_maruyama(hyp, th, eta=eta, sigma=sigma, dt=dt, t_max=dt, r=10.0, n_traj=M, seed=1)
    inc = res.theta_final - th.numpy()
    F, g = hyp.value_and_grad(th)
    drift = -dt * g.numpy()
    var = eta * sigma * float(F) * dt / 2                          # per coordinate: (eta sigma F / n) dt, n = 2
    se = math.sqrt(var / M)
    assert np.all(np.abs(inc.mean(axis=0) - drift) < 4 * se)
    cov = np.cov(inc.T)
    assert np.allclose(np.diag(cov), var, rtol=0.05) and abs(cov[0, 1]) < 0.05 * var


def test_second_moment_on_the_flat_valley_matches_the_scheme_and_the_sde():
    # x-coordinate: x_{j+1} = (1 - dt) x_j - sqrt(eta sigma x_j^2 dt / 2) z,  z ~ N(0, 1/2)
    eta, sigma, dt, T, x0, M = 0.1, 4.0, 0.05, 40, 0.8, 40000
    res = sgd.euler_maruyama(valley.FlatValley(), [x0, 0.0], eta=eta, sigma=sigma, dt=dt, t_max=T * dt,
                             r=10.0, n_traj=M, seed=2)
    factor = (1 - dt) ** 2 + eta * sigma * dt / 4
    exact = x0**2 * factor**T
    x2 = res.theta_final[:, 0] ** 2
    assert abs(x2.mean() - exact) < 4 * x2.std() / math.sqrt(M)
    sde_value = x0**2 * math.exp((-2 + eta * sigma / 4) * T * dt)    # d E x^2 = (-2 + eta sigma / 4) E x^2 dt
    assert abs(exact / sde_value - 1) < 0.1                          # first order in dt


def test_zero_noise_is_gradient_descent_and_the_number_of_steps():
    hyp, th = hyperbola.Hyperbola(), [1.4, 0.9]
    em = sgd.euler_maruyama(hyp, th, eta=0.3, sigma=0.0, dt=0.01, t_max=20.0, r=5.0, n_traj=2, seed=0)
    gd = sgd.simulate(hyp, noise.MLNoise(0.0), th, eta=0.01, r=5.0, steps=2000, n_traj=2, seed=5)
    assert em.steps_run == 2000  # ceil(20 / 0.01) despite 20 / 0.01 = 2000.0000000000002
    assert np.allclose(em.theta_final, gd.theta_final, rtol=0, atol=1e-14)


def test_per_trajectory_eta_and_validation():
    hyp = hyperbola.Hyperbola()
    eta = torch.tensor([0.1, 0.2, 0.4])
    res = sgd.euler_maruyama(hyp, [1.2, 1.0], eta=eta, sigma=5.0, dt=0.05, t_max=1.0, r=0.75, n_traj=3)
    assert res.n_traj == 3
    with pytest.raises(ValueError, match="dt"):
        sgd.euler_maruyama(hyp, [1.2, 1.0], eta=0.1, sigma=1.0, dt=0.0, t_max=1.0, r=1.0, n_traj=1)
    with pytest.raises(ValueError, match="t_max"):
        sgd.euler_maruyama(hyp, [1.2, 1.0], eta=0.1, sigma=1.0, dt=0.1, t_max=-1.0, r=1.0, n_traj=1)
    with pytest.raises(ValueError, match="eta"):
        sgd.euler_maruyama(hyp, [1.2, 1.0], eta=torch.tensor([0.1, -0.1]), sigma=1.0, dt=0.1, t_max=1.0, r=1.0)
    with pytest.raises(ValueError, match="sigma"):
        sgd.euler_maruyama(hyp, [1.2, 1.0], eta=0.1, sigma=-1.0, dt=0.1, t_max=1.0, r=1.0, n_traj=1)
