"""The fused kernels keep the semantics of ``lojasgd.sgd.simulate``: records, traces, freezing, early stop.

The two draw different random numbers (the kernels use the counter-based stream), so the
comparison uses noise of size zero (σ = 0, s = 0), where SGD is gradient descent and both must
give the same run: exit steps equal, paths and records to 1e-12 (losses, which fall to 1e-24
through the cancellation in ab − 1, to 1e-15 absolutely).
"""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("NUMBA_CACHE_DIR", os.path.join(tempfile.gettempdir(), "lojasgd-numba-cache"))

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from lojasgd.kernels import fused_sgd  # noqa: E402
from lojasgd.examples.hyperbola import Hyperbola  # noqa: E402
from lojasgd.examples.plateau import PlateauValley  # noqa: E402
from lojasgd.noise import BoundedNoise, MLNoise  # noqa: E402
from lojasgd.sgd import robbins_monro, simulate  # noqa: E402

STARTS = np.array([[1.5, 1.0], [1.2, 0.4], [0.3, 0.2], [2.0, 0.1], [0.9, 1.1], [1.0, 1.0]])


def _compare(res, fused, *, rtol=1e-12):
    np.testing.assert_array_equal(fused.exit_step, res.exit_step)
    assert fused.steps_run == res.steps_run
    for name in ("path_length", "total_path_length", "max_distance", "theta_final", "loss_final"):
        np.testing.assert_allclose(getattr(fused, name), getattr(res, name), rtol=rtol, atol=1e-15, err_msg=name)
    if res.record is not None:
        np.testing.assert_array_equal(fused.record_steps, res.record.steps)
        np.testing.assert_array_equal(fused.frac_inside, res.record.frac_inside)
        np.testing.assert_allclose(fused.mean_loss_inside, res.record.mean_loss_inside, rtol=rtol, atol=1e-15)
        np.testing.assert_allclose(fused.mean_loss, res.record.mean_loss, rtol=rtol, atol=1e-15)
        q = np.nanquantile(fused.record_losses, res.record.quantile_levels, axis=1).T
        np.testing.assert_allclose(q, res.record.loss_quantiles, rtol=rtol, atol=1e-15)
    if res.trace_steps is not None:
        np.testing.assert_array_equal(fused.trace_steps, res.trace_steps)
        np.testing.assert_allclose(fused.loss_trace, res.loss_trace, rtol=rtol, atol=1e-15)
        assert (fused.theta_trace is None) == (res.theta_trace is None)
        if res.theta_trace is not None:
            np.testing.assert_allclose(fused.theta_trace, res.theta_trace, rtol=rtol, atol=1e-15)


@pytest.mark.parametrize("stop_on_exit", [True, False], ids=["stop", "continue"])
def test_gradient_descent_on_the_hyperbola_matches_simulate(stop_on_exit):
    sched = robbins_monro(0.4, 0.75)
    T = 50
    res = simulate(Hyperbola(), MLNoise(0.0), torch.tensor(STARTS), eta=sched, r=0.3, steps=T,
                   stop_on_exit=stop_on_exit, record_every=3, trace_every=4, trace_theta=True)
    fused = fused_sgd("hyperbola", STARTS, noise="ml", scale=0.0, eta=1.0, eta_steps=sched.values(T), r=0.3,
                      steps=T, stop_on_exit=stop_on_exit, record_every=3, record_losses=True, trace_every=4,
                      trace_theta=True)
    _compare(res, fused)
    assert 0 < res.n_exits < len(STARTS)


def test_early_stop_and_per_trajectory_steps_match_simulate():
    eta = np.array([0.05, 0.1, 0.2, 0.3, 0.15, 0.25])
    res = simulate(Hyperbola(), MLNoise(0.0), torch.tensor(STARTS), eta=torch.tensor(eta), r=2.0, steps=400,
                   stop_tol=1e-8, check_every=7, record_every=5, trace_every=6)
    fused = fused_sgd("hyperbola", STARTS, noise="ml", scale=0.0, eta=eta, r=2.0, steps=400, stop_tol=1e-8,
                      check_every=7, record_every=5, record_losses=True, trace_every=6)
    assert res.steps_run < 400 and res.steps_run % 7 == 0
    _compare(res, fused, rtol=1e-10)


def test_bounded_noise_of_size_zero_on_the_plateau_matches_simulate():
    starts = np.array([[0.3, 1.2], [0.5, -1.3], [0.1, 0.4], [0.2, 1.45]])
    land = PlateauValley(height=0.5, edge=1.0, width=0.5)
    res = simulate(land, BoundedNoise(0.0, direction=[0.0, 1.0]), torch.tensor(starts), eta=0.5, r=0.25,
                   steps=30, record_every=4)
    fused = fused_sgd("plateau_valley", starts, noise="bounded", scale=0.0, direction=[0.0, 1.0], eta=0.5,
                      r=0.25, steps=30, record_every=4, record_losses=True,
                      params=dict(height=0.5, edge=1.0, width=0.5))
    _compare(res, fused)
    assert 0 < res.n_exits < 4
