"""The batched simulator against a plain loop, torch.optim.SGD, and the exact law of Example 4.2."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats as sps

from lojasgd import sgd
from lojasgd.examples.valley import FlatValley
from lojasgd.examples.hyperbola import Hyperbola
from lojasgd.examples.linear import LinearRegression
from lojasgd.noise import BoundedNoise, MLNoise, MiniBatch
from lojasgd.sgd import constant, robbins_monro, simulate, warmup
from lojasgd.stats import wilson

torch.set_default_dtype(torch.float64)


def _regression():
    g = torch.Generator().manual_seed(0)
    return LinearRegression(torch.randn(4, 6, generator=g), torch.randn(4, generator=g))


CASES = [
    ("hyperbola-ml", Hyperbola(), MLNoise(2.0), torch.tensor([1.4, 0.9]), 0.16, robbins_monro(0.2, 0.75)),
    ("valley-bounded", FlatValley(), BoundedNoise(0.5, direction=[0.0, 1.0]), torch.tensor([0.3, 0.0]), 0.6,
     constant(0.2)),
    ("regression-minibatch", _regression(), MiniBatch(2, replace=False), torch.zeros(6), 0.5, warmup(0.1, 5)),  # F with the factor 1/2: the dynamics of 0.05 on the loss without it
]


def _loop_reference(land, noise, theta0, r, schedule, M, steps, seed, *, use_optim: bool):
    """A plain per-trajectory loop fed the simulator's draws (same generator, same order)."""
    gen = torch.Generator().manual_seed(seed)
    thetas = [theta0.clone() for _ in range(M)]
    params = [t.clone().requires_grad_(True) for t in thetas]
    opts = [torch.optim.SGD([p], lr=schedule(0)) for p in params]
    exit_step = [-1] * M
    path = [0.0] * M
    for k in range(steps):
        xi = noise.draw(land, M, gen, "cpu", torch.float64)
        for m in range(M):
            if exit_step[m] >= 0:
                continue
            xi_m = tuple(x[m : m + 1] if x is not None else None for x in xi) if isinstance(xi, tuple) else xi[m : m + 1]
            if use_optim:
                p = params[m]
                g = noise.gradient(land, p.detach().unsqueeze(0), xi_m)[0]
                for group in opts[m].param_groups:
                    group["lr"] = schedule(k)
                opts[m].zero_grad()
                p.grad = g.clone()
                before = p.detach().clone()
                opts[m].step()
                new = p.detach().clone()
            else:
                before = thetas[m]
                g = noise.gradient(land, before.unsqueeze(0), xi_m)[0]
                new = before - schedule(k) * g
                thetas[m] = new
            path[m] += float(torch.linalg.vector_norm(new - before))
            if float(torch.linalg.vector_norm(new - theta0)) > r:
                exit_step[m] = k + 1
    final = torch.stack([p.detach() for p in params]) if use_optim else torch.stack(thetas)
    return np.array(exit_step), np.array(path), final.numpy()


@pytest.mark.parametrize("use_optim", [False, True], ids=["python-loop", "torch.optim.SGD"])
@pytest.mark.parametrize("name,land,noise,theta0,r,schedule", CASES, ids=[c[0] for c in CASES])
def test_batched_equals_per_trajectory_loop(name, land, noise, theta0, r, schedule, use_optim):
    M, steps, seed = 6, 40, 11
    # the loop draws from one torch.Generator in the order of the batched program: rng='torch'
    res = simulate(land, noise, theta0, eta=schedule, r=r, steps=steps, n_traj=M, seed=seed, rng="torch")
    exit_step, path, final = _loop_reference(land, noise, theta0, r, schedule, M, steps, seed, use_optim=use_optim)
    np.testing.assert_array_equal(res.exit_step, exit_step)
    np.testing.assert_allclose(res.path_length, path, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(res.theta_final, final, rtol=1e-12, atol=1e-14)
    assert 0 < res.n_exits < M  # the cases exercise both exits and survivors


def test_same_seed_same_numbers_and_seed_matters():
    kw = dict(eta=0.1, r=0.5, steps=200, n_traj=256)
    a = simulate(Hyperbola(), MLNoise(4.0), [1.5, 1.0], seed=3, **kw)
    b = simulate(Hyperbola(), MLNoise(4.0), [1.5, 1.0], seed=3, **kw)
    c = simulate(Hyperbola(), MLNoise(4.0), [1.5, 1.0], seed=4, **kw)
    np.testing.assert_array_equal(a.theta_final, b.theta_final)
    np.testing.assert_array_equal(a.exit_step, b.exit_step)
    assert not np.array_equal(a.theta_final, c.theta_final)


def test_per_trajectory_steps_match_separate_gradient_descent_runs():
    etas = torch.tensor([0.05, 0.2, 0.4])
    starts = torch.tensor([[1.5, 1.0], [0.5, 2.5], [1.2, 1.2]])
    res = simulate(Hyperbola(), MLNoise(0.0), starts, eta=etas, r=10.0, steps=50, seed=0)
    for m in range(3):
        theta = starts[m].clone()
        for _ in range(50):
            theta = theta - etas[m] * Hyperbola().grad(theta)
        np.testing.assert_allclose(res.theta_final[m], theta.numpy(), rtol=1e-13)


def test_records_and_traces_are_consistent():
    M, steps = 400, 120
    res = simulate(Hyperbola(), MLNoise(6.0), [1.3, 1.0], eta=0.1, r=0.2, steps=steps, n_traj=M, seed=5,
                   record_every=10, trace_every=20, trace_theta=True)
    rec = res.record
    assert rec.steps[0] == 0 and rec.steps[-1] == steps and len(rec.steps) == steps // 10 + 1
    inside = [(np.where(res.exit_step < 0, np.inf, res.exit_step) > k).mean() for k in rec.steps]
    np.testing.assert_allclose(rec.frac_inside, inside)
    F0 = float(Hyperbola().loss(torch.tensor([1.3, 1.0])))
    assert rec.mean_loss_inside[0] == pytest.approx(F0) and rec.mean_loss[0] == pytest.approx(F0)
    assert rec.loss_quantiles.shape == (len(rec.steps), 3)
    assert np.all(np.diff(rec.frac_inside) <= 0)
    assert res.loss_trace.shape == (M, steps // 20 + 1) and res.theta_trace.shape == (M, steps // 20 + 1, 2)
    np.testing.assert_array_equal(res.theta_trace[:, -1], res.theta_final)
    np.testing.assert_allclose(res.loss_trace[:, 0], F0)
    # stopped trajectories keep their exit point, which lies outside the ball
    out = res.exited
    assert out.any() and np.all(np.linalg.norm(res.theta_final[out] - [1.3, 1.0], axis=1) > 0.2)
    assert np.all(res.path_length >= np.linalg.norm(res.theta_final - [1.3, 1.0], axis=1) - 1e-12)
    assert np.all(res.max_distance[~out] <= 0.2)


def test_early_stop_only_for_vanishing_noise():
    res = simulate(FlatValley(), MLNoise(1.0), [0.0, 0.0], eta=0.5, r=1.0, steps=10_000, n_traj=10, seed=0,
                   stop_tol=0.0, check_every=25)
    assert res.steps_run == 25 and np.all(res.theta_final == 0)
    with pytest.raises(ValueError, match="stop_tol needs noise that vanishes at the minimum"):
        simulate(FlatValley(), BoundedNoise(1.0), [0.0, 0.0], eta=0.5, r=1.0, steps=10, n_traj=2, stop_tol=0.0)


def test_trajectories_continue_after_exit_when_asked():
    kw = dict(eta=robbins_monro(0.5, 1.0), r=0.05, steps=300, n_traj=200, seed=1)
    stop = simulate(FlatValley(), BoundedNoise(1.0, direction=[0.0, 1.0]), [0.0, 0.0], **kw)
    go = simulate(FlatValley(), BoundedNoise(1.0, direction=[0.0, 1.0]), [0.0, 0.0], stop_on_exit=False, **kw)
    np.testing.assert_array_equal(stop.exit_step, go.exit_step)
    np.testing.assert_allclose(stop.path_length, go.path_length)
    assert np.all(go.total_path_length >= go.path_length) and np.any(go.total_path_length > go.path_length)
    # bounded noise: every step has length η_k s exactly, so the total path is s Σ η_k surely
    np.testing.assert_allclose(go.total_path_length, robbins_monro(0.5, 1.0).values(300).sum())


def test_schedules():
    rm = robbins_monro(0.5, 0.75)
    np.testing.assert_allclose(rm.values(4), 0.5 / np.arange(1, 5) ** 0.75)
    assert rm.sup == 0.5
    w = warmup(0.1, 10)
    assert w(0) == pytest.approx(0.01) and w(5) == pytest.approx(0.055) and w(10) == w(500) == 0.1
    with pytest.raises(ValueError, match=r"p=0.5 must lie in \(1/2, 1\]"):
        robbins_monro(0.5, 0.5)
    with pytest.raises(ValueError, match="eta=-1 must be > 0"):
        constant(-1)
    with pytest.raises(ValueError, match="warmup_steps=0"):
        warmup(0.1, 0)


@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        (dict(theta0=[1.0, 2.0, 3.0]), ValueError, r"theta0 must have shape \(2,\) or \(M, 2\)"),
        (dict(theta0=[1.0, math.nan]), ValueError, "theta0=.* must be finite"),
        (dict(r=0.0), ValueError, "r=0 must be > 0"),
        (dict(r=torch.ones(3)), ValueError, r"r must be a number or have shape \(4,\)"),
        (dict(eta=-0.1), ValueError, "eta=-0.1 must be > 0"),
        (dict(eta=torch.tensor([0.1, 0.1])), ValueError, r"eta must be a number or have shape \(4,\)"),
        (dict(eta=torch.full((4,), 0.1, device="meta")), ValueError, "eta is a tensor on the meta device"),
        (dict(theta0=torch.zeros(2, device="meta")), ValueError, "theta0 is on meta but device=cpu"),
        (dict(steps=0), ValueError, "steps=0 must be an integer >= 1"),
        (dict(n_traj=None), ValueError, r"n_traj is required when theta0 has shape \(n,\)"),
        (dict(dtype=torch.int64), TypeError, "must be a floating torch.dtype"),
        (dict(trace_theta=True), ValueError, "trace_theta=True needs trace_every"),
        (dict(landscape="hyperbola"), TypeError, "landscape must be a Landscape"),
        (dict(noise=None), TypeError, "noise must be a Noise"),
    ],
)
def test_simulate_errors(kwargs, exc, match):
    args = dict(landscape=Hyperbola(), noise=MLNoise(1.0), theta0=[1.0, 1.0], eta=0.1, r=0.5, steps=5, n_traj=4)
    args.update(kwargs)
    land, noise, theta0 = args.pop("landscape"), args.pop("noise"), args.pop("theta0")
    with pytest.raises(exc, match=match):
        simulate(land, noise, theta0, **args)


DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.mark.slow
@pytest.mark.parametrize("device", DEVICES)
def test_example_4_2_exact_law(device):
    r"""Example 4.2 with η = 1/2: y_∞ − y₀ = −c Σ_k ξ_k 2^{−k}·(1/2)… is uniform on [−2a₀, 2a₀].

    On the flat valley with g = ∇F + √(σF)ξ e₂ and constant step η, x_k = (1−η)^k x₀ and
    y_∞ − y₀ = −Σ_k a_k ξ_k with a_k = η√(σ/2)|x₀|(1−η)^k. For η = 1/2 the weights halve at each
    step, so the sum is a binary expansion: uniform on [−2a₀, 2a₀], with variance
    ησx₀²/(2(2−η)). Checks: the variance within 4 standard errors (exact fourth moment), the
    whole law by Kolmogorov–Smirnov, and the exit frequency from the Euclidean ball between
    P(|y_∞−y₀| > r) and 2P(|y_∞−y₀| > √(r²−x₀²)) (Lévy's maximal inequality, with |x_k−x₀| ≤ |x₀|).
    """
    eta, sigma, x0, r, M = 0.5, 5.0, 0.5, 0.65, 40_000
    res = simulate(FlatValley(), MLNoise(sigma, direction=[0.0, 1.0]), [x0, 0.0], eta=eta, r=r, steps=60,
                   n_traj=M, seed=42, stop_on_exit=False, device=device)
    y = res.theta_final[:, 1]
    a0 = eta * math.sqrt(sigma / 2) * x0
    c = 2 * a0
    v = eta * sigma * x0**2 / (2 * (2 - eta))
    assert v == pytest.approx(c**2 / 3, rel=1e-12)  # variance of U[−c, c]
    fourth = 3 * v**2 - 2 * sum((a0 * 0.5**k) ** 4 for k in range(200))
    se = math.sqrt((fourth - v**2) / M)
    assert abs(float(np.mean(y**2)) - v) < 4 * se
    assert sps.kstest(y, sps.uniform(loc=-c, scale=2 * c).cdf).pvalue > 1e-3
    tail = lambda rho: max(0.0, 1 - rho / c)  # noqa: E731  P(|U| > rho) for U uniform on [−c, c]
    lower, upper = tail(r), 2 * tail(math.sqrt(r**2 - x0**2))
    iv = wilson(res.n_exits, M)
    assert iv.high >= lower and iv.low <= upper
    assert 0.05 < lower < iv.estimate < upper < 1  # a non-trivial bracket


def test_result_summary_properties():
    res = simulate(FlatValley(), BoundedNoise(1.0, direction=[0.0, 1.0]), [0.0, 0.0], eta=0.5, r=0.4,
                   steps=3, n_traj=50, seed=0)
    assert res.n_traj == 50 and res.n_exits == int((res.exit_step >= 0).sum())
    assert res.exit_frequency == res.n_exits / 50
    assert "BoundedNoise" in res.meta["noise"] and res.meta["seed"] == 0
    assert isinstance(sgd.SGDResult, type)


# ----------------------------------------------------------------- no silent wrong numbers
class _Blowup(Hyperbola):
    """The hyperbola whose gradient is NaN once |a| > 1.5 (a stand-in for an overflowing model)."""

    def grad(self, theta):
        g = super().grad(theta)
        return torch.where((theta[..., :1].abs() > 1.5), torch.full_like(g, float("nan")), g)

    def value_and_grad(self, theta):
        return self.loss(theta), self.grad(theta)


def test_diverged_trajectories_are_reported_never_counted_as_staying():
    # gradient descent with a huge step from (1.2, 1.0) overshoots beyond |a| > 1.5 at once
    res = simulate(_Blowup(), MLNoise(0.0), [1.2, 1.0], eta=5.0, r=100.0, steps=5, n_traj=3)
    assert res.diverged.all() and res.exited.all() and res.n_diverged == 3
    # plain gradient descent: the first step whose gradient is evaluated at |a| > 1.5 is the diverging one
    th, k_bad = np.array([1.2, 1.0]), None
    for k in range(5):
        if abs(th[0]) > 1.5:
            k_bad = k + 1
            break
        th = th - 5.0 * (th[0] * th[1] - 1) * th[::-1]
    assert k_bad is not None
    np.testing.assert_array_equal(res.exit_step, k_bad)
    assert np.isfinite(res.theta_final).all() and np.isfinite(res.loss_final).all()
    assert np.isfinite(res.path_length).all() and np.isfinite(res.max_distance).all()
    # a trajectory that stays finite is not flagged
    ok = simulate(_Blowup(), MLNoise(0.0), [1.2, 1.0], eta=0.01, r=100.0, steps=5, n_traj=2)
    assert not ok.diverged.any() and not ok.exited.any()


def test_overflowing_loss_is_diverged_too():
    # F = (ab - 1)^2 / 2 overflows to inf at |theta| ~ 1e160 while theta is finite
    res = simulate(Hyperbola(), MLNoise(0.0), [1e160, 1e160], eta=1e-30, r=1.0, steps=1, n_traj=2)
    assert res.diverged.all() and res.exited.all()


def test_frozen_trajectory_keeps_its_exit_point_exactly():
    # exits at step 1; afterwards the gradient at the frozen point is huge but the point must not move
    theta0 = torch.tensor([[1.2, 1.0]])
    res = simulate(Hyperbola(), MLNoise(0.0), theta0, eta=2.0, r=0.1, steps=4)
    assert res.exit_step[0] == 1
    one = simulate(Hyperbola(), MLNoise(0.0), theta0, eta=2.0, r=0.1, steps=1)
    np.testing.assert_array_equal(res.theta_final, one.theta_final)
    assert np.isfinite(res.theta_final).all() and np.isfinite(res.loss_final).all()
    np.testing.assert_array_equal(res.path_length, one.path_length)


@pytest.mark.parametrize("bad", [-0.1, 0.0, float("nan"), float("inf"), 0.5, "x"])
def test_bad_schedule_value_stops_the_run_naming_k(bad):
    sched = sgd.Schedule(lambda k: 0.1 if k < 3 else bad, "broken", 0.1)
    with pytest.raises(ValueError, match=r"k=3"):
        simulate(Hyperbola(), MLNoise(1.0), [1.2, 1.0], eta=sched, r=0.5, steps=6, n_traj=2)


def test_schedule_values_are_checked_too():
    with pytest.raises(ValueError, match="k=1"):
        sgd.Schedule(lambda k: [0.1, -1.0][k], "bad", 0.1).values(2)
    with pytest.raises(ValueError, match="sup"):
        sgd.Schedule(lambda k: 0.1, "bad", -1.0)


def test_trace_that_cannot_fit_is_refused_before_allocation():
    with pytest.raises(ValueError, match=r"MiB .* more than max_trace_bytes"):
        simulate(Hyperbola(), MLNoise(1.0), [1.2, 1.0], eta=0.1, r=0.5, steps=10**6, n_traj=10**4,
                 trace_every=1, trace_theta=True)
    res = simulate(Hyperbola(), MLNoise(1.0), [1.2, 1.0], eta=0.1, r=0.5, steps=4, n_traj=2, trace_every=1,
                   max_trace_bytes=10**6)
    assert res.loss_trace.shape == (2, 5)


# ----------------------------------------------------------------- counter stream, fused kernels, shards
STARTS_H = torch.tensor([[1.5, 1.2], [1.2, 1.0], [0.6, 0.9], [1.4, 0.5]])


def _hyp(**kw):
    args = dict(eta=0.1, r=0.25, steps=120, seed=5, rng="counter", record_every=20)
    args.update(kw)
    return simulate(Hyperbola(), MLNoise(20.0), STARTS_H.repeat(25, 1), **args)


def test_fused_and_tensor_paths_agree_on_the_counter_stream():
    fused, tensor = _hyp(), _hyp(backend="tensor")
    assert fused.meta["backend"] == "fused" and tensor.meta["backend"] == "tensor"
    assert 0 < fused.n_exits < fused.n_traj  # a test that can fail: some leave, some stay
    np.testing.assert_array_equal(fused.exit_step, tensor.exit_step)
    np.testing.assert_allclose(fused.path_length, tensor.path_length, rtol=0, atol=1e-12)
    np.testing.assert_allclose(fused.theta_final, tensor.theta_final, rtol=0, atol=1e-12)
    np.testing.assert_allclose(fused.record.mean_loss_inside, tensor.record.mean_loss_inside, rtol=1e-12)
    np.testing.assert_array_equal(fused.record.frac_inside, tensor.record.frac_inside)


def test_bounded_noise_and_a_schedule_on_the_plateau_agree_too():
    from lojasgd.examples.plateau import PlateauValley

    kw = dict(eta=robbins_monro(0.5, 1.0), r=1.0, steps=60, seed=9, rng="counter")
    starts = torch.tensor([[0.1, 0.9], [0.0, 0.5]]).repeat(20, 1)
    fused = simulate(PlateauValley(), BoundedNoise(0.3, [0.0, 1.0]), starts, **kw)
    tensor = simulate(PlateauValley(), BoundedNoise(0.3, [0.0, 1.0]), starts, backend="tensor", **kw)
    assert fused.meta["backend"] == "fused"
    np.testing.assert_array_equal(fused.exit_step, tensor.exit_step)
    np.testing.assert_allclose(fused.theta_final, tensor.theta_final, rtol=0, atol=1e-12)


@pytest.mark.parametrize("backend", ["fused", "tensor"])
def test_three_shards_merged_are_one_run_bit_for_bit(backend):
    one = _hyp(backend=backend)
    merged = sgd.merge_results([_hyp(backend=backend, shard=(i, 3)) for i in (2, 0, 1)])
    for f in ("exit_step", "path_length", "total_path_length", "max_distance", "theta_final", "loss_final"):
        np.testing.assert_array_equal(getattr(merged, f), getattr(one, f), err_msg=f)
    if backend == "fused":  # exact integer record sums
        np.testing.assert_array_equal(merged.record.mean_loss_inside, one.record.mean_loss_inside)
        np.testing.assert_array_equal(merged.record.loss_quantiles, one.record.loss_quantiles)


def test_counter_stream_draws_do_not_depend_on_M():
    small = simulate(Hyperbola(), MLNoise(8.0), [1.1, 1.0], eta=0.05, r=0.4, steps=50, n_traj=10, seed=3,
                     rng="counter", backend="tensor")
    large = simulate(Hyperbola(), MLNoise(8.0), [1.1, 1.0], eta=0.05, r=0.4, steps=50, n_traj=20, seed=3,
                     rng="counter", backend="tensor")
    np.testing.assert_array_equal(small.theta_final, large.theta_final[:10])
    torch_small = simulate(Hyperbola(), MLNoise(8.0), [1.1, 1.0], eta=0.05, r=0.4, steps=50, n_traj=10, seed=3)
    assert not np.array_equal(torch_small.theta_final, small.theta_final)  # the other stream


def test_minibatch_on_the_counter_stream_is_shardable():
    X = torch.randn(6, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    land = LinearRegression(X, torch.ones(6, dtype=torch.float64))
    kw = dict(eta=0.05, r=10.0, steps=20, n_traj=9, seed=4, rng="counter")
    one = simulate(land, MiniBatch(2, replace=False, injected=0.1), torch.zeros(3), **kw)
    parts = [simulate(land, MiniBatch(2, replace=False, injected=0.1), torch.zeros(3), shard=(i, 3), **kw)
             for i in range(3)]
    np.testing.assert_array_equal(sgd.merge_results(parts).theta_final, one.theta_final)


def test_backend_and_shard_errors_name_the_problem():
    X = torch.randn(4, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    land = LinearRegression(X, torch.ones(4, dtype=torch.float64))
    with pytest.raises(ValueError, match="backend='fused' needs a closed-form example"):
        simulate(land, MiniBatch(1), torch.zeros(3), eta=0.1, r=1.0, steps=2, n_traj=2, rng="counter",
                 backend="fused")
    with pytest.raises(ValueError, match="backend='fused' needs rng='counter'"):
        simulate(Hyperbola(), MLNoise(1.0), [1.2, 1.0], eta=0.1, r=1.0, steps=2, n_traj=2, backend="fused",
                 rng="torch")
    with pytest.raises(ValueError, match="shard=.* needs rng='counter'"):
        simulate(Hyperbola(), MLNoise(1.0), [1.2, 1.0], eta=0.1, r=1.0, steps=2, n_traj=4, shard=(0, 2), rng="torch")
    with pytest.raises(ValueError, match=r"shard\[0\]=2 must be an integer with 0 <= shard\[0\] <= 1"):
        simulate(Hyperbola(), MLNoise(1.0), [1.2, 1.0], eta=0.1, r=1.0, steps=2, n_traj=4, shard=(2, 2),
                 rng="counter")
    with pytest.raises(ValueError, match="rng"):
        simulate(Hyperbola(), MLNoise(1.0), [1.2, 1.0], eta=0.1, r=1.0, steps=2, n_traj=4, rng="philox")
    with pytest.raises(ValueError, match="different numbers of steps|do not tile"):
        sgd.merge_results([_hyp(shard=(0, 3)), _hyp(shard=(2, 3))])


def test_defaults_are_the_counter_stream_and_auto():
    # simulate's defaults: rng='counter', backend='auto' (fused where a kernel exists, else tensor);
    # the default run equals the explicit counter-stream run, and a trajectory's path does not depend on M
    kw = dict(eta=0.1, r=0.25, steps=120, seed=5)
    default = simulate(Hyperbola(), MLNoise(20.0), STARTS_H.repeat(25, 1), **kw)
    assert default.meta["rng"] == "counter" and default.meta["backend"] == "fused"
    explicit = simulate(Hyperbola(), MLNoise(20.0), STARTS_H.repeat(25, 1), rng="counter", backend="fused", **kw)
    np.testing.assert_array_equal(default.theta_final, explicit.theta_final)
    fewer = simulate(Hyperbola(), MLNoise(20.0), STARTS_H.repeat(5, 1), **kw)
    np.testing.assert_array_equal(fewer.theta_final, default.theta_final[:20])
    net_like = simulate(LinearRegression(torch.eye(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)),
                        MiniBatch(1), torch.zeros(3), eta=0.1, r=1.0, steps=5, n_traj=4, seed=1)
    assert net_like.meta["rng"] == "counter" and net_like.meta["backend"] == "tensor"
