"""Estimators of α, L, σ, G against closed forms, and the assumption report."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from lojasgd import theory
from lojasgd.estimate import check_assumptions, estimate_G, estimate_L, estimate_alpha, estimate_sigma, sample_ball
from lojasgd.examples.valley import FlatValley
from lojasgd.examples.hyperbola import Hyperbola
from lojasgd.examples.linear import LinearRegression
from lojasgd.noise import BoundedNoise, MLNoise, MiniBatch

torch.set_default_dtype(torch.float64)


@pytest.mark.parametrize("theta0,r", [([1.5, 1.0], 0.5), ([0.3, 2.0], 1.0), ([-1.0, -1.2], 0.2)])
def test_alpha_hyperbola_closed_form(theta0, r):
    est = estimate_alpha(Hyperbola(), theta0, r, n_points=500)
    exact = Hyperbola.alpha(theta0, r)
    assert est.kind == "inf"
    assert exact * (1 - 1e-9) <= est.value <= exact * (1 + 1e-6)  # an upper estimate, and a sharp one
    assert np.linalg.norm(est.point - np.array(theta0)) <= r * (1 + 1e-12)


def test_alpha_flat_valley_and_regression():
    assert estimate_alpha(FlatValley(), [0.3, 0.0], 1.0, n_points=200).value == pytest.approx(2.0, rel=1e-12)
    g = torch.Generator().manual_seed(1)
    X, y = torch.randn(4, 7, generator=g), torch.randn(4, generator=g)
    lr = LinearRegression(X, y)
    w_star = torch.linalg.lstsq(X, y.unsqueeze(-1)).solution.squeeze(-1)  # a zero of F inside the ball
    est = estimate_alpha(lr, w_star, 1.0, n_points=400)
    assert lr.gram_alpha() * (1 - 1e-9) <= est.value <= lr.gram_alpha() * (1 + 1e-5)


def test_alpha_is_infinite_when_F_vanishes_on_the_ball():
    est = estimate_alpha(FlatValley(), [0.0, 0.0], 1.0, n_points=50, min_loss=10.0)
    assert est.value == math.inf and est.point is None


def test_L_hyperbola_against_dense_eigenvalues():
    theta0, r = torch.tensor([1.2, 0.8]), 0.6
    pts = sample_ball(theta0, r, 40_000, 40_000, torch.Generator().manual_seed(0))
    dense = float(Hyperbola().hessian_eigenvalues(pts).abs().max())
    est = estimate_L(Hyperbola(), theta0, r, n_points=128)
    assert est.kind == "sup"
    assert dense * (1 - 1e-6) <= est.value <= dense * (1 + 1e-3)  # local maximisation reaches the dense maximum
    assert estimate_L(FlatValley(), [0.0, 0.0], 3.0, n_points=16).value == pytest.approx(1.0, rel=1e-10)


def test_sigma_and_G():
    h = Hyperbola()
    assert estimate_sigma(h, MLNoise(2.5), [1.5, 1.0], 0.5, n_points=200).value == pytest.approx(2.5, rel=1e-12)
    # bounded noise: σ on a ball away from the zero set is s²/min F = 2s²/(|x0| − r)²
    est = estimate_sigma(FlatValley(), BoundedNoise(0.3), [1.0, 0.0], 0.5, n_points=400)
    assert est.value == pytest.approx(2 * 0.09 / 0.25, rel=1e-6)
    # G for machine-learning noise with |ξ| = 1: sup (|∇F| + √(σF)); flat valley: |x|(1 + √(σ/2))
    G = estimate_G(FlatValley(), MLNoise(2.0), [1.0, 0.0], 0.5, n_points=300)
    assert G.value == pytest.approx(1.5 * 2.0, rel=1e-6)
    assert estimate_G(FlatValley(), BoundedNoise(1.0, direction="gaussian"), [0.0, 0.0], 1.0).value == math.inf


def test_minibatch_sigma_respects_2G2_bound():
    g = torch.Generator().manual_seed(2)
    X, y = torch.randn(5, 8, generator=g), torch.randn(5, generator=g)
    lr = LinearRegression(X, y)
    w0 = torch.zeros(8)
    sig = estimate_sigma(lr, MiniBatch(1), w0, 1.0, n_points=300).value
    G2 = float((X**2).sum(-1).max())  # |∇ŷ_i| = |x_i| for linear regression
    assert 0 < sig <= 2 * G2 * (1 + 1e-9)  # f_i = e_i^2/2: sigma <= 2 max|x_i|^2


def test_check_assumptions_report():
    theta0, r, eta = [1.5, 1.0], 0.5, 0.02
    rep = check_assumptions(Hyperbola(), MLNoise(1.0), theta0, r, eta, known={"alpha": Hyperbola.alpha(theta0, r)})
    assert rep.alpha.kind == "exact" and rep.sigma.value == pytest.approx(1.0)
    assert rep.reach == pytest.approx(r + eta * rep.G.value)
    assert rep.eta_max == pytest.approx(theory.step_size_limit(rep.alpha.value, rep.L.value, 1.0))
    assert rep.K == pytest.approx(theory.path_constant(eta, rep.alpha.value, rep.L.value, 1.0))
    assert rep.exit_bound == pytest.approx(min(1.0, rep.K * math.sqrt(rep.F0) / r))
    assert rep.hypotheses_hold == (rep.exit_bound < 1)
    md = rep._repr_markdown_()
    assert md.startswith("| quantity | value | meaning |") and "Theorem 3.1(2)" in md and "closed form" in md
    assert "K(η̄)" in str(rep)
    # a step beyond η_max is reported, not silently used
    big = check_assumptions(Hyperbola(), MLNoise(1.0), theta0, r, 10.0, n_points=100)
    assert not big.checks["step: η̄ < η_max"] and big.exit_bound == 1.0 and math.isnan(big.K)


def test_errors():
    with pytest.raises(ValueError, match="r=0 must be > 0"):
        estimate_alpha(Hyperbola(), [1.0, 1.0], 0)
    with pytest.raises(ValueError, match=r"theta0 must have shape \(2,\)"):
        estimate_alpha(Hyperbola(), [[1.0, 1.0]], 0.5)
    with pytest.raises(TypeError, match="landscape must be a Landscape"):
        estimate_L("hyperbola", [1.0, 1.0], 0.5)
    with pytest.raises(ValueError, match="known has unexpected keys"):
        check_assumptions(Hyperbola(), MLNoise(1.0), [1.5, 1.0], 0.5, 0.1, known={"beta": 1.0})
    with pytest.raises(ValueError, match="eta=0 must be > 0"):
        check_assumptions(Hyperbola(), MLNoise(1.0), [1.5, 1.0], 0.5, 0)
    with pytest.raises(ValueError, match="the noise is unbounded"):
        check_assumptions(FlatValley(), MLNoise(1.0, direction="gaussian"), [0.5, 0.0], 0.2, 0.1, n_points=50)
    with pytest.raises(ValueError, match="n_points=0 must be an integer >= 1"):
        estimate_alpha(Hyperbola(), [1.0, 1.0], 0.5, n_points=0)


def test_check_assumptions_reuses_estimates_and_checks_reach():
    land, noise = Hyperbola(), MLNoise(0.5)
    theta0, r, eta = [1.6, 1.3], 0.4, 0.05
    rep = check_assumptions(land, noise, theta0, r, eta, n_points=300)
    assert "Assumption 2: U = B(θ₀, r + η̄G_g) inside the ball where L was estimated" not in rep.checks
    again = check_assumptions(land, noise, theta0, r, eta, known={"alpha": rep.alpha, "L": rep.L}, reach=rep.reach)
    assert again.alpha is rep.alpha and again.L.kind == "sup"
    assert (again.K, again.exit_bound) == (rep.K, rep.exit_bound)
    assert again.checks["Assumption 2: U = B(θ₀, r + η̄G_g) inside the ball where L was estimated"]
    small = check_assumptions(land, noise, theta0, r, eta, known={"L": rep.L}, reach=r)
    assert not small.hypotheses_hold  # L estimated on B(θ0, r) does not cover U
    cheap = check_assumptions(land, noise, theta0, r, eta, n_points=300, n_starts=0)
    assert cheap.alpha.value >= rep.alpha.value  # without local polishing the upper estimate can only be worse
    with pytest.raises(ValueError, match="reach is required with an estimated known"):
        check_assumptions(land, noise, theta0, r, eta, known={"L": rep.L})
    with pytest.raises(ValueError, match="reach=0.1 must be >= 0.4"):
        check_assumptions(land, noise, theta0, r, eta, reach=0.1)
    with pytest.raises(TypeError, match=r"known\['G'\]=True must be a real number, not a bool"):
        check_assumptions(land, noise, theta0, r, eta, known={"G": True})
