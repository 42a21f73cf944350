"""tanhnet: the proved ball bounds hold at sampled points; estimates, plans and variance factors."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from lojasgd.estimate import sample_ball
from lojasgd.examples.hyperbola import Hyperbola
from lojasgd.examples.tanh_network import TanhNetwork
from lojasgd.noise import MiniBatch
from lojasgd.examples.tanh_network import ball_bounds, ball_plan, schur_infimum
from lojasgd.estimate import inf_over_ball
from lojasgd.noise import minibatch_variance_factor
from lojasgd.theory import restart_stay_bound

torch.set_default_dtype(torch.float64)


def _data(n=5, d=7, seed=0, unit=False):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d, generator=g)
    if unit:
        X = X / X.norm(dim=1, keepdim=True)
    return X, torch.randn(n, generator=g)


def test_minibatch_variance_factor_by_enumeration():
    # exact variance of the b-subset mean, enumerated, against the factor times V
    g = torch.Generator().manual_seed(0)
    a = torch.randn(6, 3, generator=g)
    a = a - a.mean(0)  # a_i = ∇f_i − ∇F, summing to 0
    V = (a**2).sum(1).mean()
    n = a.shape[0]
    for b in range(1, n + 1):
        subsets = list(itertools.combinations(range(n), b))
        without = sum(float((a[list(s)].mean(0) ** 2).sum()) for s in subsets) / len(subsets)
        tuples = list(itertools.product(range(n), repeat=b)) if b <= 3 else None
        assert math.isclose(without, minibatch_variance_factor(n, b, replace=False) * float(V), rel_tol=1e-12, abs_tol=1e-15)
        if tuples is not None:
            with_r = sum(float((a[list(s)].mean(0) ** 2).sum()) for s in tuples) / len(tuples)
            assert math.isclose(with_r, minibatch_variance_factor(n, b) * float(V), rel_tol=1e-12)
    assert minibatch_variance_factor(n, n, replace=False) == 0.0


def test_minibatch_variance_factor_matches_noise_model():
    X, y = _data()
    net = TanhNetwork(X, y, 4, 3)
    theta = torch.randn(4, net.dim, generator=torch.Generator().manual_seed(1))
    v1 = MiniBatch(1).variance(net, theta)
    for b, replace in ((3, True), (3, False), (5, False)):
        vb = MiniBatch(b, replace=replace).variance(net, theta)
        torch.testing.assert_close(vb, minibatch_variance_factor(5, b, replace) * v1)


def _chatterjee(lam, depth=3, width=6, n=4, d=9, seed=0):
    X, y = _data(n=n, d=d, seed=seed, unit=True)
    net = TanhNetwork(X, y, width, depth)
    return net, net.chatterjee_init(lam, generator=torch.Generator().manual_seed(seed + 1))


@pytest.mark.parametrize("depth", [2, 3, 4])
def test_ball_bounds_at_the_centre(depth):
    net, th0 = _chatterjee(7.0, depth=depth)
    bb = ball_bounds(net, th0, 0.1)
    delta = net.first_layer_sensitivities(th0)
    # every pre-activation vanishes: the same δ for every input, ŷ = 0, F0 = mean y²
    torch.testing.assert_close(delta, delta[:1].expand_as(delta))
    assert math.isclose(bb.delta0, float(delta[0].norm()), rel_tol=1e-12)
    assert float(net.predict(th0).abs().max()) == 0.0
    assert math.isclose(bb.F0, float(net.loss(th0)), rel_tol=1e-12)
    assert math.isclose(bb.schur_centre, float(net.schur_alpha_bound(th0)), rel_tol=1e-10)
    assert bb.scale == pytest.approx(7.0)
    # |∇ŷ_i(θ0)| = λ|c||x_i| = |δ0| for unit inputs, below the proved Γ
    gy = net.output_grads(th0).norm(dim=-1)
    torch.testing.assert_close(gy, torch.full_like(gy, bb.delta0))
    assert bb.gamma_upper >= bb.delta0


@pytest.mark.parametrize("depth,r", [(2, 0.3), (3, 0.2), (3, 0.6), (4, 0.15)])
def test_ball_bounds_hold_at_sampled_points(depth, r):
    net, th0 = _chatterjee(5.0, depth=depth)
    bb = ball_bounds(net, th0, r, batch_size=2)
    pts = sample_ball(th0, r, 300, 300, torch.Generator().manual_seed(2))
    dmin = net.first_layer_sensitivities(pts).norm(dim=-1).min(-1).values
    assert float(dmin.min()) >= bb.delta_lower
    assert float(net.output_grads(pts).norm(dim=-1).max()) <= bb.gamma_upper
    assert float(net.predict(pts).abs().max()) <= bb.output_upper
    assert float(MiniBatch(1).max_norm(net, pts).max()) <= bb.grad_upper
    F, g = net.value_and_grad(pts)
    assert float(((g**2).sum(-1) / F).min()) >= bb.alpha_lower
    # σ: the exact mini-batch variance over F stays below 4Γ²/b
    assert float((MiniBatch(2).variance(net, pts) / F).max()) <= bb.sigma_upper


def test_ball_bounds_scaling_in_lambda_and_r():
    net, _ = _chatterjee(1.0)
    small = ball_bounds(net, net.chatterjee_init(1.0, generator=torch.Generator().manual_seed(1)), 1e-6)
    assert small.delta_lower == pytest.approx(small.delta0, rel=1e-5)
    r = 0.1
    b1 = ball_bounds(net, net.chatterjee_init(1e3, generator=torch.Generator().manual_seed(1)), r)
    b2 = ball_bounds(net, net.chatterjee_init(2e3, generator=torch.Generator().manual_seed(1)), r)
    # e1, e2, A, B do not depend on λ; δ0 is linear in λ
    assert (b1.e_scale, b1.e_offset, b1.out_scale, b1.out_offset) == pytest.approx((b2.e_scale, b2.e_offset, b2.out_scale, b2.out_offset))
    assert b2.delta0 == pytest.approx(2 * b1.delta0)
    # closed form of the lower bound on α, and K√F0/r = O(1/λ)
    lam = b2.scale
    assert b2.alpha_lower == pytest.approx(2 / net.n_samples * b2.gram_min * (b2.delta0 - lam * b2.e_scale - r * b2.e_offset) ** 2)
    assert (1 - b2.stay_probability_bound) < (1 - b1.stay_probability_bound)
    c = b2.delta0 / lam
    a = 2 / net.n_samples * b2.gram_min * (c - b2.e_scale) ** 2
    limit = 4 * math.sqrt(b2.F0) * math.sqrt(a + 2 * b2.noise_factor * b2.out_scale) / (a * r)
    assert b1.deficit_limit == pytest.approx(limit) and b2.deficit_limit == pytest.approx(limit)
    far = ball_bounds(net, net.chatterjee_init(1e7, generator=torch.Generator().manual_seed(1)), r)
    assert far.scale * (1 - far.stay_probability_bound) == pytest.approx(limit, rel=1e-3)
    # K(η*) = 4√(α+σ)/α with the proved constants
    assert b2.K_optimal == pytest.approx(4 * math.sqrt(b2.alpha_lower + b2.sigma_upper) / b2.alpha_lower)
    # a radius so large that the proved bound on |δ| vanishes: no guarantee
    huge = ball_bounds(net, net.chatterjee_init(1e3, generator=torch.Generator().manual_seed(1)), 5.0)
    assert huge.alpha_lower == 0 and huge.stay_probability_bound == 0 and math.isinf(huge.deficit_limit)


def test_ball_bounds_errors():
    net, th0 = _chatterjee(3.0)
    with pytest.raises(ValueError, match="W_1 = 0"):
        ball_bounds(net, th0 + 0.01, 0.1)
    with pytest.raises(ValueError, match="r="):
        ball_bounds(net, th0, 0.0)
    with pytest.raises(ValueError, match="batch_size"):
        ball_bounds(net, th0, 0.1, batch_size=9, replace=False)
    with pytest.raises(TypeError, match="TanhNetwork"):
        ball_bounds(Hyperbola(), th0, 0.1)
    with pytest.raises(ValueError, match="n="):
        minibatch_variance_factor(0, 1)


def test_schur_infimum_between_proved_bound_and_sampled_values():
    net, th0 = _chatterjee(20.0)
    r = 0.2
    bb = ball_bounds(net, th0, r)
    est = schur_infimum(net, th0, r, n_points=200, n_starts=1, maxiter=20)
    assert est.kind == "inf"
    assert bb.alpha_lower <= est.value <= bb.schur_centre
    assert float(torch.linalg.vector_norm(torch.as_tensor(est.point) - th0)) <= r * (1 + 1e-9)
    assert est.value == pytest.approx(float(net.schur_alpha_bound(torch.as_tensor(est.point))), rel=1e-9)


def test_inf_over_ball_quadratic():
    # φ(θ) = |θ|² on the ball around (2, 0) of radius 1: infimum 1 at (1, 0)
    est = inf_over_ball(lambda p: (p**2).sum(-1), torch.tensor([2.0, 0.0]), 1.0, n_points=200, n_starts=2)
    assert est.value == pytest.approx(1.0, abs=1e-6)
    with pytest.raises(ValueError, match="n_points"):
        inf_over_ball(lambda p: (p**2).sum(-1), torch.tensor([2.0, 0.0]), 1.0, n_points=0)


def test_ball_plan_steps_and_reports():
    net, th0 = _chatterjee(300.0)
    r = 0.15
    plan = ball_plan(net, th0, r, (1, 3), n_points=100, n_starts=1, maxiter=10, L_points=16, proved_L=False)
    assert plan.reach == 2 * r and plan.L.kind == "sup" and plan.schur.kind == "inf"
    for b in (1, 3):
        bb, rep = plan.bounds[b], plan.report[b]
        assert plan.eta[b] == pytest.approx(bb.alpha_lower / (plan.L.value * (bb.alpha_lower + bb.sigma_upper)))
        assert r + plan.eta[b] * bb.grad_upper <= plan.reach
        assert rep.eta == plan.eta[b] and rep.L is plan.L
        assert rep.sigma.value == pytest.approx(plan.report[1].sigma.value / b)
        # the estimated constants are at least as favourable as the proved ones
        assert rep.alpha.value >= bb.alpha_lower and rep.sigma.value <= bb.sigma_upper
        assert rep.G.value <= bb.grad_upper
        assert plan.schur.value >= bb.alpha_lower
    assert plan.eta[3] > plan.eta[1]
    with pytest.raises(ValueError, match="reach"):
        ball_plan(net, th0, r, (1,), reach=r)
    with pytest.raises(ValueError, match="batch_sizes"):
        ball_plan(net, th0, r, ())


def test_restart_stay_bound_closed_forms():
    M = 200
    half = math.sqrt(math.log(20) / (2 * M))
    stay, zero, far = np.ones(M, bool), np.zeros(M), np.full(M, 0.5)
    # runs that stopped at a zero of F inside the ball: Z = 1
    assert restart_stay_bound(stay, zero, far, 3.0, 1.0) == pytest.approx((1.0, 1 - half))
    # Z = 1 - K sqrt(F)/(r - dist) exactly, and the min with 1
    mean, _ = restart_stay_bound(stay, np.full(M, 0.01), far, 2.0, 1.0)
    assert mean == pytest.approx(1 - 2.0 * 0.1 / 0.5)
    assert restart_stay_bound(stay, np.full(M, 4.0), far, 2.0, 1.0)[0] == 0.0
    # runs that left, or sit on the sphere, contribute 0 (no division by zero)
    left = stay.copy(); left[: M // 2] = False
    assert restart_stay_bound(left, zero, far, 3.0, 1.0)[0] == pytest.approx(0.5)
    assert restart_stay_bound(stay, zero, np.ones(M), 3.0, 1.0)[0] == 0.0
    # one bound per leading index, and the level enters through log(1/(1 - level))
    m2, lo2 = restart_stay_bound(np.stack([stay, left]), np.zeros((2, M)), np.full((2, M), 0.5), 3.0, 1.0, level=0.99)
    np.testing.assert_allclose(m2, [1.0, 0.5])
    np.testing.assert_allclose(m2 - lo2, math.sqrt(math.log(100) / (2 * M)))


def test_restart_stay_bound_covers_the_mean_of_bernoulli_draws():
    # Z ∈ {0, 1} with mean 0.7: the 95% Hoeffding bound falls below 0.7 in at least 95% of repetitions
    rng = np.random.default_rng(0)
    reps, M = 400, 100
    stay = rng.random((reps, M)) < 0.7
    _, lower = restart_stay_bound(stay, np.zeros((reps, M)), np.zeros((reps, M)), 1.0, 1.0)
    assert np.mean(lower <= 0.7) >= 0.95


def test_restart_stay_bound_validation():
    ok = (np.ones(3, bool), np.zeros(3), np.zeros(3))
    with pytest.raises(TypeError, match="stay"):
        restart_stay_bound(np.ones(3), np.zeros(3), np.zeros(3), 1.0, 1.0)
    with pytest.raises(ValueError, match="common non-empty shape"):
        restart_stay_bound(np.ones(3, bool), np.zeros(2), np.zeros(3), 1.0, 1.0)
    with pytest.raises(ValueError, match="dist=.* must be >= 0"):
        restart_stay_bound(np.ones(3, bool), np.zeros(3), -np.ones(3), 1.0, 1.0)
    with pytest.raises(ValueError, match="K="):
        restart_stay_bound(*ok, 0.0, 1.0)
    with pytest.raises(ValueError, match="level="):
        restart_stay_bound(*ok, 1.0, 1.0, level=1.0)
