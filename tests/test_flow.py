"""Tests of lojasgd.chatterjee against closed forms and exact identities (chapter 2)."""

import math

import numpy as np
import pytest
import torch

from lojasgd.sgd import GradientFlow, gradient_flow
from lojasgd.examples.hyperbola import best_radius, criterion_margin
from lojasgd.examples.valley import FlatValley
from lojasgd.examples.hyperbola import Hyperbola


def test_flat_valley_flow_matches_closed_form():
    # θ' = −(x, 0): x(t) = x0 e^{−t}, y constant, F = x0² e^{−2t}/2, path length |x0|(1 − e^{−t}).
    x0, y0 = -1.3, 0.4
    flow = gradient_flow(FlatValley(), [x0, y0], 5.0, n_eval=51)
    assert isinstance(flow, GradientFlow)
    e = np.exp(-flow.t)
    np.testing.assert_allclose(flow.theta[:, 0], x0 * e, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(flow.theta[:, 1], y0, atol=1e-12)
    np.testing.assert_allclose(flow.loss, 0.5 * x0**2 * e**2, rtol=1e-8, atol=1e-14)
    np.testing.assert_allclose(flow.path_length, abs(x0) * (1 - e), rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(flow.distance, abs(x0) * (1 - e), rtol=1e-8, atol=1e-12)


def test_hyperbola_flow_conserves_a2_minus_b2_and_decreases_loss():
    # d/dt (a² − b²) = 2a·(−(ab−1)b) − 2b·(−(ab−1)a) = 0 along the flow.
    flow = gradient_flow(Hyperbola(), [2.0, 0.3], 4.0, n_eval=101)
    a, b = flow.theta[:, 0], flow.theta[:, 1]
    np.testing.assert_allclose(a**2 - b**2, 4.0 - 0.09, rtol=1e-9)
    assert np.all(np.diff(flow.loss) <= 1e-15)
    assert np.all(np.diff(flow.path_length) >= 0)


def test_path_length_dominates_chords_and_matches_polygon():
    flow = gradient_flow(Hyperbola(), [0.5, 1.5], 3.0, n_eval=3001)
    chords = np.linalg.norm(np.diff(flow.theta, axis=0), axis=1)
    polygon = np.concatenate([[0.0], np.cumsum(chords)])
    assert np.all(polygon <= flow.path_length + 1e-10)
    np.testing.assert_allclose(polygon[-1], flow.path_length[-1], rtol=1e-5)
    assert np.all(flow.distance <= flow.path_length + 1e-10)


def test_flow_satisfies_the_proposition_on_the_hyperbola():
    # θ0 inside the criterion region, r = |θ0|/2, α = 2(|θ0| − r)² = |θ0|²/2.
    theta0 = np.array([1.8, 0.2])
    r = best_radius(theta0)
    alpha = Hyperbola.alpha(theta0, r)
    flow = gradient_flow(Hyperbola(), theta0, 10.0, n_eval=201)
    F0 = flow.loss[0]
    assert 4 * F0 < r**2 * alpha
    assert np.all(flow.loss <= np.exp(-alpha * flow.t) * F0 * (1 + 1e-8) + 1e-15)
    bound = 2 / math.sqrt(alpha) * (math.sqrt(F0) - np.sqrt(flow.loss))
    assert np.all(flow.path_length <= bound + 1e-9)
    assert flow.distance.max() < r
    assert flow.loss[-1] < 1e-12


def test_margin_sign_matches_brute_force_maximisation_over_r():
    rng = np.random.default_rng(0)
    pts = rng.uniform(-3, 3, size=(400, 2))
    margin = criterion_margin(pts)
    rho = np.linalg.norm(pts, axis=1)
    F0 = 0.5 * (pts[:, 0] * pts[:, 1] - 1) ** 2
    u = np.linspace(1e-4, 1 - 1e-4, 4001)  # r = u·ρ
    best = np.max(2 * (u * rho[:, None]) ** 2 * (rho[:, None] * (1 - u)) ** 2, axis=1)
    np.testing.assert_allclose(best, rho**4 / 8, rtol=1e-6)
    clear = np.abs(margin) > 1e-3
    assert clear.sum() > 350
    assert np.array_equal((best - 4 * F0 > 0)[clear], (margin > 0)[clear])


def test_margin_factorisation_identity():
    rng = np.random.default_rng(1)
    pts = rng.normal(size=(100, 2)) * 2
    a, b = pts.T
    m = criterion_margin(pts)
    lhs = (a**2 + b**2) ** 2 / 8 - 2 * (a * b - 1) ** 2
    np.testing.assert_allclose(lhs, 2 * m * (m + 2 * np.abs(a * b - 1)), rtol=1e-10, atol=1e-10)


def test_scalar_inputs_return_floats():
    assert criterion_margin([1.0, 1.0]) == pytest.approx(0.5)
    assert criterion_margin((0.0, 0.0)) == pytest.approx(-1.0)
    assert best_radius([3.0, 4.0]) == pytest.approx(2.5)
    assert isinstance(best_radius([3.0, 4.0]), float)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"t_end": 0.0}, "t_end"),
        ({"t_end": math.inf}, "t_end"),
        ({"t_end": 1.0, "n_eval": 1}, "n_eval"),
        ({"t_end": 1.0, "rtol": 0.0}, "rtol"),
        ({"t_end": 1.0, "atol": -1.0}, "atol"),
    ],
)
def test_gradient_flow_validates_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        gradient_flow(Hyperbola(), [1.0, 2.0], **kwargs)


def test_gradient_flow_validates_landscape_and_theta0():
    with pytest.raises(TypeError, match="landscape"):
        gradient_flow(lambda t: t, [1.0, 2.0], 1.0)
    with pytest.raises(ValueError, match="theta0"):
        gradient_flow(Hyperbola(), [1.0, 2.0, 3.0], 1.0)
    with pytest.raises(ValueError, match="theta0"):
        gradient_flow(Hyperbola(), torch.ones(2, 2), 1.0)


def test_hyperbola_helpers_validate():
    with pytest.raises(ValueError, match="theta0"):
        criterion_margin([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="finite"):
        criterion_margin([np.nan, 1.0])
    with pytest.raises(ValueError, match="origin"):
        best_radius([[1.0, 1.0], [0.0, 0.0]])
