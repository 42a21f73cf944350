"""lojasgd.diagnostics: pointwise ratios, power iteration and mini-batch noise against closed forms."""

import math

import pytest
import torch

from lojasgd import diagnostics, noise
from lojasgd.examples import hyperbola, valley
from lojasgd.landscapes import ModuleRegression


def small_net(N=6, d=3, h=4, seed=0):
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    module = torch.nn.Sequential(torch.nn.Linear(d, h), torch.nn.Tanh(), torch.nn.Linear(h, 1)).double()
    land = ModuleRegression(module, torch.randn(N, d, generator=gen, dtype=torch.float64),
                            torch.randn(N, generator=gen, dtype=torch.float64))
    return land, land.theta_of_module()


def test_local_ratio_closed_forms():
    pts = torch.tensor([[0.3, 1.0], [-2.0, 0.5]], dtype=torch.float64)
    torch.testing.assert_close(diagnostics.local_ratio(valley.FlatValley(), pts), torch.full((2,), 2.0, dtype=torch.float64))
    torch.testing.assert_close(diagnostics.local_ratio(hyperbola.Hyperbola(), pts), 2 * (pts**2).sum(-1))
    assert math.isnan(float(diagnostics.local_ratio(valley.FlatValley(), [0.0, 1.0])))


def test_noise_ratio_ml_noise_is_sigma():
    pts = torch.tensor([[0.3, 1.0], [-2.0, 0.5]], dtype=torch.float64)
    torch.testing.assert_close(diagnostics.noise_ratio(hyperbola.Hyperbola(), noise.MLNoise(3.0), pts),
                               torch.full((2,), 3.0, dtype=torch.float64))


def test_top_hessian_eigenvalue_hyperbola():
    pts = torch.tensor([[1.5, 1.0], [0.2, 2.0], [1.0, 1.0]], dtype=torch.float64)
    eig = hyperbola.Hyperbola().hessian_eigenvalues(pts)
    top = eig.gather(-1, eig.abs().argmax(-1, keepdim=True)).squeeze(-1)
    torch.testing.assert_close(diagnostics.top_hessian_eigenvalue(hyperbola.Hyperbola(), pts, n_iter=200), top)


def test_measure_on_a_module_matches_the_pieces():
    land, theta = small_net()
    thetas = torch.stack([theta, theta + 0.1])
    b = 2
    m = diagnostics.measure(land, noise.MiniBatch(b), thetas, n_iter=100)
    for k in range(2):
        F, g = land.value_and_grad(thetas[k])
        assert m.loss[k] == pytest.approx(float(F), rel=1e-12)
        assert m.ratio[k] == pytest.approx(float((g**2).sum() / F), rel=1e-12)
        G = land.per_sample_grads(thetas[k])
        V = float(((G - G.mean(0)) ** 2).sum(-1).mean())
        assert m.noise[k] == pytest.approx(V / b / float(F), rel=1e-10)        # Proposition 5.3: V/b
        H = torch.func.hessian(lambda t: land.loss(t))(thetas[k])
        ev = torch.linalg.eigvalsh(H)
        assert abs(m.hessian[k]) == pytest.approx(float(ev.abs().max()), rel=1e-6)


def test_empirical_noise_matches_the_exact_variance():
    land, theta = small_net(N=8)
    for nz in (noise.MiniBatch(1), noise.MiniBatch(4), noise.MiniBatch(4, replace=False)):
        mean, se = diagnostics.empirical_noise(land, nz, theta, n_draws=20000, seed=1)
        exact = float(nz.variance(land, theta))
        assert abs(mean - exact) < 5 * se


def test_validation():
    with pytest.raises(ValueError, match="n_iter"):
        diagnostics.top_hessian_eigenvalue(valley.FlatValley(), [1.0, 0.0], n_iter=0)
    with pytest.raises(ValueError, match="thetas"):
        diagnostics.measure(valley.FlatValley(), noise.MLNoise(1.0), [1.0, 0.0])
    with pytest.raises(TypeError, match="noise"):
        diagnostics.noise_ratio(valley.FlatValley(), None, [1.0, 0.0])
    with pytest.raises(ValueError, match="n_draws"):
        diagnostics.empirical_noise(valley.FlatValley(), noise.MLNoise(1.0), [1.0, 0.0], n_draws=1)


def test_gradient_jump_smooth_and_kinked():
    from lojasgd.landscapes import TorchLandscape

    hs = [1e-2, 1e-4, 1e-6]
    # smooth: the quotients stay below the Hessian norm on the segment (|∇²F| ≤ 1 for the valley)
    _, q = diagnostics.gradient_jump(valley.FlatValley(), [0.0, 0.0], [1.0, 1.0], 1.0, hs)
    assert (q <= 1 / 2**0.5 + 1e-9).all()
    # F = |θ₁| + θ₂²: ∂F/∂θ₁ jumps by 2 at θ₁ = 0, so h·Q(h) → 2
    kink = TorchLandscape(lambda t: t[0].abs() + t[1] ** 2, dim=2)
    t_star, q = diagnostics.gradient_jump(kink, [-0.3, 0.0], [1.0, 0.0], 1.0, hs)
    assert abs(t_star - 0.3) < 1e-9
    assert q[-1] * hs[-1] == pytest.approx(2.0, rel=1e-6) and q[-1] > 1e5
    with pytest.raises(ValueError, match="direction"):
        diagnostics.gradient_jump(kink, [0.0, 0.0], [0.0, 0.0], 1.0, hs)
    with pytest.raises(ValueError, match="hs"):
        diagnostics.gradient_jump(kink, [0.0, 0.0], [1.0, 0.0], 1.0, [0.0])
