"""The tensor path of simulate gives the numbers of commit 9d49d9c (the loop before its buffer rewrite, with the one squared-loss convention), bit for bit, on both streams.

``tests/data/simulate_golden.npz`` holds that commit's outputs for the configurations of
``tests/data/make_simulate_golden.py`` (hyperbola with exits, divergence with and without
``stop_on_exit``, early stopping, records and traces, a schedule and per-trajectory radii,
the tanh network and an ``nn.Module`` in float64 and float32, mini-batches with and without
replacement and injected noise). A faster step that changes one bit, one exit step, one
divergence flag or the step at which a run stops fails here.

Bit for bit holds for the torch version and CPU capability that wrote the file (``platform``
in it); elsewhere torch's own kernels may round differently, and the floats are compared to
a relative 1e-9 (float64) or 1e-4 (float32) instead, the integers and flags still exactly.
"""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from lojasgd.examples.tanh_network import TanhNetwork
from lojasgd.sgd import simulate

DATA = Path(__file__).parent / "data"
_spec = importlib.util.spec_from_file_location("make_simulate_golden", DATA / "make_simulate_golden.py")
golden = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(golden)
EXPECTED = np.load(DATA / "simulate_golden.npz")
CONFIGS = golden.configs()
SAME_PLATFORM = str(EXPECTED["platform"]) == f"{torch.__version__} {torch.backends.cpu.get_cpu_capability()}"


@pytest.mark.parametrize("case", CONFIGS, ids=[c[0] for c in CONFIGS])
def test_tensor_path_matches_commit_9d49d9c_bit_for_bit(case, monkeypatch):
    name, land, noise, theta0, kw = case
    # the loop is under test: TanhNetwork's mini-batch gradient runs its torch program, as at 9d49d9c
    # (its numba kernel sums in another order; tests/test_tanh_kernel.py checks it against this program)
    monkeypatch.setattr(TanhNetwork, "batch_grad", TanhNetwork.batch_grad_torch)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        res = simulate(land, noise, theta0, **kw)
    assert res.meta["backend"] == "tensor"
    got = {f: np.asarray(getattr(res, f)) for f in golden.FIELDS}
    got["steps_run"] = np.asarray(res.steps_run)
    if res.record is not None:
        for f in ("steps", "frac_inside", "mean_loss_inside", "mean_loss", "loss_quantiles"):
            got[f"record.{f}"] = np.asarray(getattr(res.record, f))
    if res.loss_trace is not None:
        got["loss_trace"], got["trace_steps"] = res.loss_trace, res.trace_steps
    if res.theta_trace is not None:
        got["theta_trace"] = res.theta_trace
    keys = sorted(k.split("/", 1)[1] for k in EXPECTED.files if k.startswith(name + "/"))
    if not SAME_PLATFORM:
        for k in keys:
            want = EXPECTED[f"{name}/{k}"]
            rtol = 1e-9 if want.dtype == np.float64 else 1e-4
            if want.dtype.kind == "f":
                np.testing.assert_allclose(got[k], want, rtol=rtol, atol=rtol * np.nanmax(np.abs(want), initial=0))
            else:
                np.testing.assert_array_equal(got[k], want)
        return
    assert sorted(got) == keys
    for k in keys:
        want = EXPECTED[f"{name}/{k}"]
        assert got[k].dtype == want.dtype and got[k].shape == want.shape, k
        # bit for bit (NaN where NaN): view the floats as integers
        if want.dtype.kind == "f":
            assert np.array_equal(got[k].view(f"i{want.itemsize}"), want.view(f"i{want.itemsize}")), (name, k)
        else:
            assert np.array_equal(got[k], want), (name, k)
