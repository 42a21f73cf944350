"""Proposition prop-tanh-hessian: the proved bound on sup‖∇²F‖₂ over a ball is never exceeded.

Full autograd Hessians (``torch.func.hessian``, float64) of small tanh networks at sampled points of
the ball and of the set U, an adversarial projected gradient ascent of ‖∇²F‖₂ from the worst
sampled points, and closed forms where the bound is exact (depth 2 at the centre).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch.func import grad, hessian

from lojasgd import theory
from lojasgd.estimate import sample_ball
from lojasgd.examples.hyperbola import Hyperbola
from lojasgd.examples.tanh_network import (
    TanhNetwork,
    ball_bounds,
    ball_plan,
    hessian_bounds,
    tanh_second_bound,
)

torch.set_default_dtype(torch.float64)
torch.set_num_threads(1)


def _net(lam, depth, width, n, d, seed=0, zero_y=False, hidden_scale=1.0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d, generator=g)
    X = X / X.norm(dim=1, keepdim=True) * (0.5 + torch.rand(n, 1, generator=g))  # unequal input norms
    y = torch.zeros(n) if zero_y else 2 * torch.randn(n, generator=g)
    net = TanhNetwork(X, y, width, depth)
    th0 = net.chatterjee_init(lam, generator=torch.Generator().manual_seed(seed + 1), hidden_scale=hidden_scale)
    return net, th0


def _hess_norm(net, theta):
    """‖∇²F(θ)‖₂ at each row of theta, from the full autograd Hessian."""
    H = torch.vmap(hessian(lambda t: net.loss(t)))(theta)
    return torch.linalg.eigvalsh(H).abs().amax(-1)


def _output_hess_norm(net, theta):
    """max_i ‖∇²ŷ(x_i; θ)‖₂ at each row of theta."""
    def one(t):
        return torch.stack([hessian(lambda s: net.predict_one(s, x))(t) for x in net.X])
    H = torch.vmap(one)(theta)
    return torch.linalg.eigvalsh(H).abs().amax(-1).amax(-1)


def _ascent(net, th0, R, starts, n_iter=40):
    """Projected gradient ascent of ‖∇²F‖₂ over B̄(θ0, R) from each start; returns the best value seen."""
    phi = lambda t: torch.linalg.eigvalsh(hessian(lambda s: net.loss(s))(t)).abs().max()
    dphi = grad(phi)
    best = 0.0
    for t in starts:
        t = t.clone()
        step = R / 4
        val = float(phi(t))
        for _ in range(n_iter):
            g = dphi(t)
            gn = float(g.norm())
            if gn == 0:
                break
            cand = t + step * g / gn
            dev = cand - th0
            dn = float(dev.norm())
            if dn > R:
                cand = th0 + dev * (R / dn)
            new = float(phi(cand))
            if new > val:
                t, val = cand, new
            else:
                step /= 2
        best = max(best, val)
    return best


CASES = [  # (λ, depth, width, n, d, R)
    (1.0, 2, 4, 3, 5, 0.5),
    (10.0, 2, 3, 4, 6, 0.2),
    (3.0, 3, 4, 3, 5, 0.3),
    (30.0, 3, 3, 3, 6, 0.1),
    (100.0, 3, 4, 4, 6, 0.05),
    (5.0, 4, 3, 3, 5, 0.25),
    (2.0, 3, 3, 3, 4, 1.5),  # a large ball: pre-activations beyond the tanh'' maximiser
]


@pytest.mark.parametrize("lam,depth,width,n,d,R", CASES)
def test_bound_holds_at_sampled_points_of_the_ball(lam, depth, width, n, d, R):
    net, th0 = _net(lam, depth, width, n, d, seed=depth)
    hb = hessian_bounds(net, th0, R)
    pts = sample_ball(th0, R, 150, 150, torch.Generator().manual_seed(3))
    hn = _hess_norm(net, pts)
    assert float(hn.max()) <= hb.hessian_upper
    assert float(_output_hess_norm(net, pts[::5]).max()) <= hb.output_hessian_upper
    # the parts: Gauss–Newton term and mean residual
    J = net.output_grads(pts)
    gn = torch.linalg.matrix_norm(J.mT @ J, ord=2) / n
    assert float(gn.max()) <= hb.gauss_newton_upper
    assert float((net.predict(pts) - net.y).abs().mean(-1).max()) <= hb.residual_mean_upper


@pytest.mark.parametrize("lam,depth,width,n,d,R", CASES)
def test_bound_survives_adversarial_search(lam, depth, width, n, d, R):
    net, th0 = _net(lam, depth, width, n, d, seed=depth)
    hb = hessian_bounds(net, th0, R)
    pts = sample_ball(th0, R, 100, 300, torch.Generator().manual_seed(4))
    hn = _hess_norm(net, pts)
    starts = pts[torch.argsort(hn, descending=True)[:3]]
    best = _ascent(net, th0, R, starts)
    assert best >= float(hn.max())  # the search only improves on the samples
    assert best <= hb.hessian_upper
    # and the bound is not vacuous: within a modest factor of what the search finds
    assert hb.hessian_upper <= 25 * best


def test_bound_holds_on_U_of_assumption_2():
    # U = B̄(θ0, r + η*G_g) with the proved step: the bound of ball_bounds covers it
    net, th0 = _net(20.0, 3, 4, 3, 6, seed=1)
    r = 0.1
    for b in (1, 2):
        bb = ball_bounds(net, th0, r, batch_size=b)
        assert bb.reach_covered and r < bb.reach <= 2 * r
        U = r + bb.proved_step * bb.grad_upper
        assert U <= bb.reach
        assert bb.hessian_upper == hessian_bounds(net, th0, bb.reach).hessian_upper
        pts = sample_ball(th0, U, 100, 200, torch.Generator().manual_seed(5))
        assert float(_hess_norm(net, pts).max()) <= bb.hessian_upper
        # the radius is the smallest self-consistent one (to the bisection tolerance)
        below = bb.reach * (1 - 1e-6)
        L_below = hessian_bounds(net, th0, below).hessian_upper
        eta_below = theory.optimal_step(bb.alpha_lower, L_below, bb.sigma_upper)
        assert r + eta_below * bb.grad_upper > below
        assert bb.proved_step == pytest.approx(theory.optimal_step(bb.alpha_lower, bb.hessian_upper, bb.sigma_upper))


def test_one_step_images_stay_in_U():
    # every one-sample step from a point of B with the proved step lands within r + η*G_g of θ0
    net, th0 = _net(20.0, 3, 4, 3, 6, seed=1)
    r = 0.1
    bb = ball_bounds(net, th0, r)
    pts = sample_ball(th0, r, 200, 200, torch.Generator().manual_seed(6))
    g = net.per_sample_grads(pts)  # (P, N, n)
    images = pts.unsqueeze(1) - bb.proved_step * g
    assert float((images - th0).norm(dim=-1).max()) <= r + bb.proved_step * bb.grad_upper


def test_tanh_second_bound_is_the_supremum():
    for rho in (0.0, 0.01, 0.3, 0.658, 0.7, 2.0, 5.0):
        s = torch.linspace(-rho, rho, 400001)
        sup = float((-2 * torch.tanh(s) * (1 - torch.tanh(s) ** 2)).abs().max())
        assert tanh_second_bound(rho) == pytest.approx(sup, rel=1e-8, abs=1e-12)
        assert tanh_second_bound(rho) <= min(2 * rho, 4 / (3 * math.sqrt(3))) + 1e-15
    assert tanh_second_bound(math.inf) == pytest.approx(4 / (3 * math.sqrt(3)), rel=1e-15)
    assert 4 / (3 * math.sqrt(3)) < 0.77
    with pytest.raises(ValueError, match="rho"):
        tanh_second_bound(-0.1)


def test_depth_two_closed_form():
    # M_R = [[(λ+R) t(Rχ) χ², χ], [χ, 0]], the block form of d²ŷ = 2aᵀS A x + vᵀT(Ax)²
    net, th0 = _net(7.0, 2, 5, 4, 6, seed=2)
    chi = float(net.X.norm(dim=1).max())
    for R in (0.05, 0.4, 2.0):
        hb = hessian_bounds(net, th0, R)
        m11 = (7.0 + R) * tanh_second_bound(R * chi) * chi**2
        np.testing.assert_allclose(hb.form, [[m11, chi], [chi, 0.0]], rtol=1e-12)
        assert hb.output_hessian_upper == pytest.approx(m11 / 2 + math.sqrt(m11**2 / 4 + chi**2), rel=1e-12)
        gram_max = float(torch.linalg.eigvalsh(net.X @ net.X.T)[-1])
        zeta1 = min(R * chi, math.sqrt(5))
        gn = 1 / 4 * ((7.0 + R) ** 2 * gram_max + 4 * zeta1**2)
        assert hb.gauss_newton_upper == pytest.approx(gn, rel=1e-12)
        assert hb.residual_mean_upper == pytest.approx(float(net.y.abs().mean()) + (7.0 + R) * zeta1, rel=1e-12)


def test_exact_at_the_centre_for_depth_two():
    # At θ0 (W1 = 0), depth 2: ‖∇²ŷ_i(θ0)‖ = |x_i| (so H_R → χ as R → 0), and with y = 0,
    # ∇²F(θ0) = (1/N)JᵀJ has norm (1/N)λ²λ_max(G_X), the limit of L_R: the bound is sharp.
    net, th0 = _net(9.0, 2, 4, 3, 5, seed=3, zero_y=True)
    R = 1e-7
    hb = hessian_bounds(net, th0, R)
    chi = float(net.X.norm(dim=1).max())
    true_out = float(_output_hess_norm(net, th0.unsqueeze(0))[0])
    assert true_out == pytest.approx(chi, rel=1e-12)
    assert hb.output_hessian_upper == pytest.approx(chi, rel=1e-5)
    true = float(_hess_norm(net, th0.unsqueeze(0))[0])
    gram_max = float(torch.linalg.eigvalsh(net.X @ net.X.T)[-1])
    assert true == pytest.approx(1 / 3 * 81 * gram_max, rel=1e-12)
    assert true <= hb.hessian_upper <= true * (1 + 1e-5)
    # a bound smaller by 0.1 % would already fail at the centre
    assert 0.999 * hb.hessian_upper < true


@pytest.mark.parametrize("depth", [3, 4])
def test_centre_ratio_for_deeper_networks(depth):
    # with y = 0 and R → 0 the bound is (1/N)λ²λ_max(G_X)∏‖W_k⁰‖², the truth (1/N)λ²|c|²λ_max(G_X)
    net, th0 = _net(4.0, depth, 4, 3, 5, seed=depth, zero_y=True)
    hb = hessian_bounds(net, th0, 1e-8)
    _, *hidden, v = net.unflatten(th0)
    c = v
    for W in reversed(hidden):
        c = W.T @ c
    gram_max = float(torch.linalg.eigvalsh(net.X @ net.X.T)[-1])
    true = float(_hess_norm(net, th0.unsqueeze(0))[0])
    assert true == pytest.approx(1 / 3 * float(c @ c) * gram_max, rel=1e-10)
    prod = math.prod(float(torch.linalg.matrix_norm(W, ord=2)) ** 2 for W in hidden)
    assert hb.hessian_upper == pytest.approx(1 / 3 * 16.0 * prod * gram_max, rel=1e-6)
    assert hb.hessian_upper >= true


def test_bound_grows_with_the_radius_and_like_lambda_squared():
    net1, th1 = _net(1e3, 3, 4, 3, 5, seed=1)
    net2, th2 = _net(2e3, 3, 4, 3, 5, seed=1)
    Rs = [0.01, 0.05, 0.2, 1.0]
    Ls = [hessian_bounds(net1, th1, R).hessian_upper for R in Rs]
    assert all(a < b for a, b in zip(Ls, Ls[1:]))
    ratio = hessian_bounds(net2, th2, 0.05).hessian_upper / hessian_bounds(net1, th1, 0.05).hessian_upper
    assert 3.9 < ratio < 4.1


def test_ball_plan_with_the_proved_L():
    g = torch.Generator().manual_seed(0)
    X = torch.randn(4, 9, generator=g)
    X = X / X.norm(dim=1, keepdim=True)
    net = TanhNetwork(X, torch.randn(4, generator=g), 6, 3)
    th0 = net.chatterjee_init(300.0, generator=torch.Generator().manual_seed(1))
    r = 0.15
    plan = ball_plan(net, th0, r, (1, 3), n_points=60, n_starts=1, maxiter=5, L_points=8)
    assert plan.proved_L and r < plan.reach < 2 * r
    assert plan.reach == pytest.approx(max(ball_bounds(net, th0, r, batch_size=b).reach for b in (1, 3)))
    for b in (1, 3):
        bb, rep = plan.bounds[b], plan.report[b]
        assert bb.reach == plan.reach and bb.hessian_upper == plan.L_proved
        assert plan.eta[b] == pytest.approx(bb.alpha_lower / (plan.L_proved * (bb.alpha_lower + bb.sigma_upper)))
        assert r + plan.eta[b] * bb.grad_upper <= plan.reach
        assert rep.L.kind == "exact" and rep.L.value == plan.L_proved
    assert plan.L_proved >= plan.L.value  # the proved bound is above the sampled lower estimate
    with pytest.raises(TypeError, match="proved_L"):
        ball_plan(net, th0, r, (1,), proved_L=1)


def test_errors():
    net, th0 = _net(5.0, 3, 3, 3, 4)
    with pytest.raises(ValueError, match="R"):
        hessian_bounds(net, th0, 0.0)
    with pytest.raises(ValueError, match="W_1 = 0"):
        hessian_bounds(net, th0 + 0.01, 0.1)
    with pytest.raises(TypeError, match="net"):
        hessian_bounds(Hyperbola(), th0, 0.1)
    with pytest.raises(ValueError, match="theta0"):
        hessian_bounds(net, th0[:-1], 0.1)
    with pytest.raises(ValueError, match="reach"):
        ball_bounds(net, th0, 0.2, reach=0.1)
