"""lojasgd.planning: closed forms on the flat valley and the hyperbola, failures reported."""

import math

import pytest
import torch

from lojasgd import noise, planning, theory
from lojasgd.examples import hyperbola, valley

FAST = dict(n_points=64, n_starts=1, maxiter=20)


def test_flat_valley_closed_forms():
    # F = x²/2: α = 2, L = 1, σ = 2 exactly, so η_max = 1, η* = 1/2, K(η*) = 4√(α+σ)/α = 4
    p = planning.plan(valley.FlatValley(), noise.MLNoise(2.0), [0.1, 0.0], 1.0, **FAST)
    assert p.alpha.value == pytest.approx(2.0, rel=1e-12)
    assert p.L.value == pytest.approx(1.0, rel=1e-9)
    assert p.sigma.value == pytest.approx(2.0, rel=1e-12)
    assert p.eta_max == pytest.approx(1.0, rel=1e-9) and p.eta_best == pytest.approx(0.5, rel=1e-9)
    assert p.K == pytest.approx(4.0, rel=1e-9) and p.K_limit == pytest.approx(2.0, rel=1e-9)
    assert p.q == pytest.approx(1 - 2.0**2 / (2 * 1.0 * 4.0), rel=1e-9)
    assert p.exit_bound == pytest.approx(4 * math.sqrt(0.005), rel=1e-9)
    assert p.ok and p.applies and p.failures == ()
    assert p.stay_bound == pytest.approx(1 - 4 * math.sqrt(0.005), rel=1e-9)
    assert p.F0_needed == pytest.approx(1 / 16, rel=1e-9)
    assert p.reach >= 1.0 + p.eta * p.G.value - 1e-12      # U = B(θ0, r + η G) inside the L ball
    assert "Theorem 3.1 applies" in str(p)


def test_flat_valley_given_step():
    p = planning.plan(valley.FlatValley(), noise.MLNoise(2.0), [0.1, 0.0], 1.0, eta=0.25, **FAST)
    assert p.eta == 0.25
    assert p.K == pytest.approx(theory.path_constant(0.25, 2.0, 1.0, 2.0), rel=1e-9)


def test_hyperbola_alpha_closed_form():
    theta0, r = torch.tensor([1.5, 1.0]), 0.6
    p = planning.plan(hyperbola.Hyperbola(), noise.MLNoise(1.0), theta0, r, n_points=200)
    exact = 2 * (float(theta0.norm()) - r) ** 2
    assert exact <= p.alpha.value <= exact * (1 + 1e-6)
    assert p.eta_max == pytest.approx(theory.step_size_limit(p.alpha.value, p.L.value, p.sigma.value))
    assert p.eta_best == pytest.approx(p.eta_max / 2)


def test_assumption_1_failure_reported():
    p = planning.plan(hyperbola.Hyperbola(), noise.MLNoise(1.0), [0.5, -0.3], 0.7, n_points=200)
    assert not p.ok and not p.applies
    assert any(f.startswith("Assumption 1 fails") for f in p.failures)
    assert p.exit_bound == 1.0 and p.stay_bound == 0.0 and math.isnan(p.K)
    assert "says nothing" in str(p)


def test_assumption_4_failure_reported_for_bounded_noise():
    p = planning.plan(valley.FlatValley(), noise.BoundedNoise(0.1, direction=[0.0, 1.0]), [0.1, 0.0], 1.0, **FAST)
    assert any(f.startswith("Assumption 4 fails") and "Theorem 4.1" in f for f in p.failures)
    assert not p.ok


def test_vacuous_bound_reported_with_the_loss_it_needs():
    # θ0 = (2, 0): F0 = 2, K(η*) = 4, r = 0.5: K√F0/r = 8√2 ≥ 1
    p = planning.plan(valley.FlatValley(), noise.MLNoise(2.0), [2.0, 0.0], 0.5, **FAST)
    assert p.applies and not p.ok
    assert p.exit_bound == 1.0 and p.shortfall == pytest.approx(8 * math.sqrt(2), rel=1e-9)
    assert p.F0_needed == pytest.approx(0.25 / 16, rel=1e-9)
    assert any(f.startswith("bound vacuous") for f in p.failures)


def test_step_too_large_reported():
    p = planning.plan(valley.FlatValley(), noise.MLNoise(2.0), [0.1, 0.0], 1.0, eta=1.5,
                      known={"L": 1.0}, **FAST)
    assert any(f.startswith("step fails") for f in p.failures)
    assert p.eta_max == pytest.approx(1.0, rel=1e-9)


def test_known_constants_are_used():
    p = planning.plan(valley.FlatValley(), noise.MLNoise(2.0), [0.1, 0.0], 1.0,
                      known={"alpha": 2.0, "L": 1.0, "sigma": 2.0, "G": 1.0}, **FAST)
    assert p.alpha.kind == "exact" and p.eta_best == pytest.approx(0.5)


@pytest.mark.parametrize("kwargs, match", [
    (dict(r=-1.0), "r=-1"),
    (dict(r=1.0, eta=0.0), "eta=0"),
    (dict(r=1.0, n_points=0), "n_points=0"),
    (dict(r=1.0, known={"beta": 1.0}), "unexpected keys"),
    (dict(r=1.0, known={"alpha": -1.0}), "known\\['alpha'\\]"),
])
def test_validation_names_the_argument(kwargs, match):
    with pytest.raises(ValueError, match=match):
        planning.plan(valley.FlatValley(), noise.MLNoise(2.0), [0.1, 0.0], **kwargs)


def test_type_errors():
    with pytest.raises(TypeError, match="noise"):
        planning.plan(valley.FlatValley(), "noise", [0.1, 0.0], 1.0)
    with pytest.raises(ValueError, match="theta0"):
        planning.plan(valley.FlatValley(), noise.MLNoise(2.0), [0.1, 0.0, 0.0], 1.0)


def test_loss_vanishing_on_the_whole_ball():
    # α = +∞ (F = 0 on B): SGD never moves, nothing can leave, every step is allowed
    p = planning.plan(valley.FlatValley(), noise.MLNoise(2.0), [0.0, 0.0], 1.0,
                      known={"alpha": math.inf, "L": 1.0}, **FAST)
    assert p.ok and p.eta_max == math.inf and p.exit_bound == 0.0 and p.stay_bound == 1.0
