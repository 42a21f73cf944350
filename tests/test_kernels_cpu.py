"""Fused CPU kernels: step for step against the tensor path, exact laws, determinism, sharding, bad input."""

from __future__ import annotations

import math
import os
import tempfile

os.environ.setdefault("NUMBA_CACHE_DIR", os.path.join(tempfile.gettempdir(), "lojasgd-numba-cache"))

import numba  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from scipy import stats as sps  # noqa: E402

from lojasgd.kernels import cpu, reference  # noqa: E402
from lojasgd.kernels.cpu import fused_sgd, merge, shard_slice  # noqa: E402

_rng = np.random.default_rng(0)
X_REG, Y_REG = _rng.standard_normal((4, 6)), _rng.standard_normal(4)

# (id, landscape, theta0, params, noise, scale, direction, radius, eta, eta_steps)
CASES = [
    ("hyperbola-ml-rademacher-schedule", "hyperbola", [1.4, 0.9], None, "ml", 2.0, "rademacher", 0.16, 1.0,
     0.2 / np.arange(1, 61) ** 0.75),
    ("valley-bounded-fixed", "flat_valley", [0.3, 0.0], None, "bounded", 0.5, [0.0, 1.0], 0.6, 0.2, None),
    ("plateau-ml-sphere", "plateau_valley", [0.3, 0.9], dict(height=0.5, edge=1.0, width=0.5), "ml", 20.0, "sphere",
     0.5, 0.4, None),
    ("regression-ml-gaussian", "linear_regression", np.zeros(6), dict(X=X_REG, y=Y_REG), "ml", 1.0, "gaussian", 1.15,
     0.2, None),  # F = |X theta - y|^2/(2N): the dynamics of sigma = 2, eta = 0.1 on |X theta - y|^2/N
    ("valley3-bounded-rademacher", "flat_valley", [0.5, 0.0, 0.0], None, "bounded", 0.5, "rademacher", 1.1, 0.3, None),
]


def _kw(case, **extra):
    _, land, th0, params, noise, scale, direction, r, eta, eta_steps = case
    kw = dict(noise=noise, scale=scale, direction=direction, r=r, eta=eta, eta_steps=eta_steps, params=params,
              steps=60, n_traj=40, seed=11)
    kw.update(extra)
    return land, th0, kw


def _assert_same(a: cpu.KernelResult, b: cpu.KernelResult, *, exact: bool):
    """Equal exit steps, divergence flags, counts and steps; floats equal (exact) or to 1e-12."""
    np.testing.assert_array_equal(a.exit_step, b.exit_step)
    np.testing.assert_array_equal(a.diverged, b.diverged)
    assert a.steps_run == b.steps_run
    for name in ("record_steps", "record_inside", "trace_steps"):
        x, y = getattr(a, name), getattr(b, name)
        assert (x is None) == (y is None)
        if x is not None:
            np.testing.assert_array_equal(x, y)
    for name in ("path_length", "total_path_length", "max_distance", "theta_final", "loss_final", "record_loss_sum",
                 "record_losses", "loss_trace", "theta_trace"):
        x, y = getattr(a, name), getattr(b, name)
        assert (x is None) == (y is None), name
        if x is None:
            continue
        if exact:
            np.testing.assert_array_equal(x, y, err_msg=name)
        else:
            np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-14, err_msg=name)
    if exact and a.record_limbs is not None:
        np.testing.assert_array_equal(a.record_limbs, b.record_limbs)


# ---------------------------------------------------------------------------- against the tensor path
@pytest.mark.parametrize("stop_on_exit", [True, False], ids=["stop", "continue"])
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_fused_equals_tensor_path_step_for_step(case, stop_on_exit):
    land, th0, kw = _kw(case, stop_on_exit=stop_on_exit, record_every=7, record_losses=True, trace_every=1,
                        trace_theta=True)
    fused = fused_sgd(land, th0, **kw)
    ref = reference.reference_sgd(land, th0, **kw)
    _assert_same(fused, ref, exact=False)
    assert 0 < int((fused.exit_step >= 0).sum()) < 40  # the cases exercise both exits and survivors
    if stop_on_exit:
        np.testing.assert_array_equal(fused.path_length, fused.total_path_length)
    else:
        early = (fused.exit_step >= 0) & (fused.exit_step < 60)  # left before the last step: kept moving after
        assert early.any() and np.all(fused.total_path_length[early] > fused.path_length[early])
        np.testing.assert_array_equal(fused.total_path_length[~early], fused.path_length[~early])
    # the step that leaves is the first k with |θ_k − θ₀|² > r², read off the traced path
    d2 = ((fused.theta_trace - np.asarray(th0, dtype=float)) ** 2).sum(-1)
    r2 = kw["r"] ** 2
    first = np.where((d2 > r2).any(1), (d2 > r2).argmax(1), -1)
    np.testing.assert_array_equal(fused.exit_step, first)


def test_frozen_trajectory_keeps_its_exit_point_and_records_match_their_definitions():
    land, th0, kw = _kw(CASES[0], record_every=1, record_losses=True, trace_every=1, trace_theta=True)
    res = fused_sgd(land, th0, **kw)
    for m in np.flatnonzero(res.exit_step >= 0):
        tau = res.exit_step[m]
        np.testing.assert_array_equal(res.theta_trace[m, tau:], np.broadcast_to(res.theta_final[m], (61 - tau, 2)))
    inside = np.arange(61)[:, None] < np.where(res.exit_step >= 0, res.exit_step, 10**9)[None, :]  # (k, m): τ > k
    np.testing.assert_array_equal(res.record_inside, inside.sum(1))
    sums = [math.fsum(res.loss_trace[inside[k], k]) for k in range(61)]  # exactly rounded, like the kernel
    np.testing.assert_array_equal(res.record_loss_sum, sums)
    np.testing.assert_array_equal(res.frac_inside, inside.mean(1))
    np.testing.assert_array_equal(res.mean_loss_inside, np.array(sums) / 40)
    np.testing.assert_array_equal(np.isnan(res.record_losses), ~inside)


# ---------------------------------------------------------------------------- exact laws
@pytest.mark.slow
def test_example_4_2_at_eta_one_half_is_uniform():
    r"""Flat valley, g = (x, √(σF)ξ), ξ = ±1, η = 1/2: y_∞ − y₀ = −Σ_k a₀2^{−k}ξ_k is uniform on [−2a₀, 2a₀].

    a₀ = η√(σ/2)|x₀|; after 60 steps the remainder is below a₀2⁻⁵⁹. Checks: the variance
    ησx₀²/(2(2−η)) = (2a₀)²/3 within 4 standard errors (exact fourth moment), and the whole law
    by Kolmogorov–Smirnov (p > 1e-3, fixed seed).
    """
    eta, sigma, x0, M = 0.5, 5.0, 0.5, 40_000
    res = fused_sgd("flat_valley", [x0, 0.0], noise="ml", scale=sigma, direction=[0.0, 1.0], eta=eta, r=10.0,
                    steps=60, n_traj=M, seed=42, stop_on_exit=False)
    y = res.theta_final[:, 1]
    a0 = eta * math.sqrt(sigma / 2) * x0
    c = 2 * a0
    v = eta * sigma * x0**2 / (2 * (2 - eta))
    assert v == pytest.approx(c**2 / 3, rel=1e-12)
    fourth = 3 * v**2 - 2 * sum((a0 * 0.5**k) ** 4 for k in range(200))
    assert abs(float(np.mean(y**2)) - v) < 4 * math.sqrt((fourth - v**2) / M)
    assert sps.kstest(y, sps.uniform(loc=-c, scale=2 * c).cdf).pvalue > 1e-3
    np.testing.assert_allclose(res.theta_final[:, 0], x0 * 0.5**60, rtol=1e-12)


@pytest.mark.parametrize("eta", [0.25, 0.5, 1.0])
def test_flat_valley_path_length_is_sure(eta):
    r"""Every path has length √((2+σ)F₀)(1 − (1−η)^T) after T steps (Proposition 6.1(2)); no path leaves
    a ball with (2+σ)F₀ ≤ r² (6.1(3)), every path leaves one with 2F₀ > r² (6.1(5))."""
    sigma, x0, T = 3.0, 0.4, 80
    F0 = x0**2 / 2
    L = math.sqrt((2 + sigma) * F0)
    kw = dict(noise="ml", scale=sigma, direction=[0.0, 1.0], eta=eta, steps=T, n_traj=300, seed=5)
    res = fused_sgd("flat_valley", [x0, -1.0], r=L * (1 + 1e-9), **kw)  # a hair above r² = (2+σ)F₀
    np.testing.assert_allclose(res.path_length, L * (1 - (1 - eta) ** T), rtol=1e-13)
    assert np.all(res.exit_step == -1) and np.all(res.max_distance <= L * (1 + 1e-12))
    gone = fused_sgd("flat_valley", [x0, -1.0], r=0.99 * math.sqrt(2 * F0), **kw)
    assert np.all(gone.exit_step >= 1)


def test_divergence_is_an_exit_never_a_stay():
    """GD (σ = 0) on the hyperbola with η = 1 from (3, 3) overflows; the step where θ or F first is
    non-finite is the exit step (a plain float loop finds it), and the frozen point is kept."""
    def first_bad(x, y):
        for k in range(1, 100):
            res = x * y - 1.0
            x, y = x - res * y, y - res * x
            if not (math.isfinite(x) and math.isfinite(y) and math.isfinite(0.5 * ((x * y - 1.0) * (x * y - 1.0)))):
                return k
        return -1

    k_bad = first_bad(3.0, 3.0)
    assert k_bad > 1
    for stop in (True, False):
        res = fused_sgd("hyperbola", [3.0, 3.0], noise="ml", scale=0.0, eta=1.0, r=1e300, steps=50, n_traj=3,
                        stop_on_exit=stop, trace_every=1)
        np.testing.assert_array_equal(res.exit_step, k_bad)
        assert res.diverged.all() and np.isinf(res.max_distance).all()
        np.testing.assert_array_equal(res.loss_trace[:, k_bad:], res.loss_trace[:, k_bad:k_bad + 1].repeat(51 - k_bad, 1))
    small = fused_sgd("hyperbola", [3.0, 3.0], noise="ml", scale=0.0, eta=1.0, r=1.0, steps=50, n_traj=3,
                      stop_on_exit=False)
    np.testing.assert_array_equal(small.exit_step, 1)  # left the ball first, diverged later
    assert small.diverged.all()


# ---------------------------------------------------------------------------- determinism and sharding
def _case_run(case, **extra):
    land, th0, kw = _kw(case, record_every=5, record_losses=True, trace_every=9, trace_theta=True, n_traj=1000)
    kw.update(extra)
    return fused_sgd(land, th0, **kw)


@pytest.mark.parametrize("case", [CASES[0], CASES[3]], ids=[CASES[0][0], CASES[3][0]])
def test_same_bits_for_one_and_two_threads_and_any_block(case):
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("numba has one thread here")
    one = _case_run(case, threads=1)
    _assert_same(one, _case_run(case, threads=2), exact=True)
    _assert_same(one, _case_run(case, threads=2, block=64), exact=True)


def test_three_shards_merged_equal_one_run_bit_for_bit(tmp_path):
    whole = _case_run(CASES[0])
    parts = []
    for i in (2, 0, 1):  # any order
        sl = shard_slice(1000, i, 3)
        parts.append(_case_run(CASES[0], n_traj=sl.stop - sl.start, traj_offset=sl.start))
    merged = merge(parts)
    _assert_same(merged, whole, exact=True)
    # shards written by separate processes: through files, bit for bit
    for i, p in enumerate(parts):
        cpu.save_result(p, tmp_path / f"shard{i}.npz")
    loaded = [cpu.load_result(tmp_path / f"shard{i}.npz") for i in range(3)]
    _assert_same(merge(loaded), whole, exact=True)
    assert merge(loaded).meta == merged.meta
    with pytest.raises(ValueError, match="is not a file written by save_result"):
        cpu.load_result(_npz_without_head(tmp_path))
    assert merged.n_traj == 1000 and merged.traj_offset == 0
    # a shard alone is the corresponding slice of the whole run, bit for bit
    sl = shard_slice(1000, 1, 3)
    for name in ("exit_step", "path_length", "max_distance", "theta_final", "loss_trace", "theta_trace"):
        np.testing.assert_array_equal(getattr(parts[2], name), getattr(whole, name)[sl], err_msg=name)
    assert 0 < int((whole.exit_step >= 0).sum()) < 1000


def _npz_without_head(tmp_path):
    path = tmp_path / "plain.npz"
    np.savez(path, x=np.zeros(2))
    return path


def test_progress_runs_in_chunks_with_the_same_bits():
    """progress=True runs the kernel in chunks of max(1, T/100) steps, here one step per call: same bits."""
    _assert_same(_case_run(CASES[0], progress=True), _case_run(CASES[0]), exact=True)


def test_a_trajectory_does_not_depend_on_M():
    small = fused_sgd("hyperbola", [1.4, 0.9], noise="ml", scale=2.0, eta=0.1, r=0.3, steps=40, n_traj=10)
    big = fused_sgd("hyperbola", [1.4, 0.9], noise="ml", scale=2.0, eta=0.1, r=0.3, steps=40, n_traj=20)
    np.testing.assert_array_equal(small.theta_final, big.theta_final[:10])
    np.testing.assert_array_equal(small.exit_step, big.exit_step[:10])


def test_merge_refuses_shards_that_do_not_tile():
    a = fused_sgd("hyperbola", [1.4, 0.9], noise="ml", scale=2.0, eta=0.1, r=0.3, steps=5, n_traj=4)
    b = fused_sgd("hyperbola", [1.4, 0.9], noise="ml", scale=2.0, eta=0.1, r=0.3, steps=5, n_traj=4,
                  traj_offset=5)
    with pytest.raises(ValueError, match="expected traj_offset=4, got 5"):
        merge([a, b])
    c = fused_sgd("hyperbola", [1.4, 0.9], noise="ml", scale=2.0, eta=0.1, r=0.3, steps=5, n_traj=4, seed=1,
                  traj_offset=4)
    with pytest.raises(ValueError, match="different runs"):
        merge([a, c])
    with pytest.raises(ValueError, match="non-empty sequence"):
        merge([])


def test_exact_sum_is_correctly_rounded_and_order_free():
    rng = np.random.default_rng(3)
    v = np.exp(rng.uniform(-700, 700, size=2000)) * rng.uniform(size=2000)
    v = np.concatenate([v, [5e-324, 1e308, 1e308 * 0.7, 1.0, 2.0**-1074 * 3]])
    assert cpu.exact_sum(v) == math.fsum(v)
    assert cpu.exact_sum(v[::-1]) == math.fsum(v)
    assert cpu.exact_sum([1.0, 1e-16, 1e-16]) == 1.0000000000000002  # naive left-to-right gives 1.0


# ---------------------------------------------------------------------------- early stopping and records
def test_early_stop_at_a_multiple_of_check_every_with_a_final_record():
    kw = dict(noise="ml", scale=1.0, eta=0.3, r=5.0, steps=500, n_traj=16, seed=2, stop_tol=1e-12,
              check_every=7, record_every=3, trace_every=4)
    res = fused_sgd("hyperbola", [1.5, 1.0], **kw)
    ref = reference.reference_sgd("hyperbola", [1.5, 1.0], **kw)
    _assert_same(res, ref, exact=False)
    assert res.steps_run < 500 and res.steps_run % 7 == 0
    assert np.all(res.loss_final <= 1e-12)
    assert res.record_steps[-1] == res.steps_run and res.trace_steps[-1] == res.steps_run
    np.testing.assert_array_equal(res.record_steps[:-1], np.arange(0, res.steps_run, 3))


# ---------------------------------------------------------------------------- bad input
BASE = dict(landscape="hyperbola", theta0=[1.0, 1.0], noise="ml", scale=1.0, eta=0.1, r=0.5, steps=5, n_traj=4)


@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        (dict(landscape="banana"), ValueError, "landscape='banana' must be one of"),
        (dict(noise="minibatch"), ValueError, "noise='minibatch' must be one of"),
        (dict(theta0=[1.0, math.nan]), ValueError, "theta0=.* must be finite"),
        (dict(theta0=[True, False]), TypeError, "theta0 must hold real numbers, not bools"),
        (dict(theta0=[1.0, 1.0, 1.0]), ValueError, "theta0 must have n = 2 coordinates for landscape='hyperbola'"),
        (dict(theta0=np.zeros((2, 2, 2))), ValueError, r"theta0 must have shape \(n,\) or \(M, n\)"),
        (dict(n_traj=None), ValueError, r"n_traj is required when theta0 has shape \(n,\)"),
        (dict(theta0=np.ones((3, 2)), n_traj=4), ValueError, "n_traj=4 does not match theta0 with 3 rows"),
        (dict(scale=-1.0), ValueError, "scale=-1 must be >= 0"),
        (dict(scale=np.ones(3)), ValueError, r"scale must be a number or have shape \(4,\)"),
        (dict(eta=0.0), ValueError, "eta=0 must be > 0"),
        (dict(eta=True), TypeError, "eta=True must be a real number, not a bool"),
        (dict(eta_steps=np.ones(3)), ValueError, "eta_steps must be a 1-d array of length >= steps=5"),
        (dict(eta_steps=np.array([0.1, 0.1, -0.1, 0.1, 0.1])), ValueError, "eta_steps=.* must be > 0"),
        (dict(r=0.0), ValueError, "r=0 must be > 0"),
        (dict(r=math.inf), ValueError, "r=inf must be finite"),
        (dict(steps=0), ValueError, "steps=0 must be an integer >= 1"),
        (dict(steps=True), TypeError, "steps=True must be an integer"),
        (dict(seed=-1), ValueError, r"seed=-1 must lie in \[0, 2\*\*64\)"),
        (dict(traj_offset=-3), ValueError, "traj_offset=-3 must be an integer with 0 <= traj_offset"),
        (dict(noise="bounded", stop_tol=1e-3), ValueError, "stop_tol=0.001 needs noise that vanishes at the minimum"),
        (dict(stop_tol=-1.0), ValueError, "stop_tol=-1 must be >= 0"),
        (dict(record_losses=True), ValueError, "record_losses=True needs record_every"),
        (dict(trace_theta=True), ValueError, "trace_theta=True needs trace_every"),
        (dict(stop_on_exit=1), TypeError, "stop_on_exit=1 must be True or False"),
        (dict(record_every=0), ValueError, "record_every=0 must be an integer >= 1"),
        (dict(threads=0), ValueError, "threads=0 must be an integer >= 1"),
        (dict(block=True), TypeError, "block=True must be an integer"),
        (dict(direction=[1.0, 1.0]), ValueError, "must be a finite unit vector"),
        (dict(direction=[1.0, 0.0, 0.0]), ValueError, "direction has length 3 but theta0 has n = 2 coordinates"),
        (dict(params=dict(height=1.0)), ValueError, r"params has keys \['height'\] that landscape='hyperbola'"),
        (dict(landscape="plateau_valley", params=dict(width=-1.0)), ValueError, r"params\['width'\]=-1 must be > 0"),
        (dict(landscape="linear_regression"), ValueError, "needs params=dict"),
        (dict(landscape="linear_regression", params=dict(X=np.ones((3, 5)), y=np.ones(3))), ValueError,
         r"params\['X'\] has d = 5 columns but theta0 has n = 2 coordinates"),
        (dict(landscape="linear_regression", params=dict(X=np.ones((3, 2)), y=np.ones(2))), ValueError,
         r"params\['y'\] must have shape \(3,\)"),
        (dict(landscape="flat_valley", theta0=[1.0]), ValueError, "theta0 must have n >= 2 coordinates"),
    ],
)
def test_bad_input_is_refused_by_name(kwargs, exc, match):
    args = {**BASE, **kwargs}
    land, th0 = args.pop("landscape"), args.pop("theta0")
    with pytest.raises(exc, match=match):
        fused_sgd(land, th0, **args)
