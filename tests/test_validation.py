"""The one validation layer: every real-number type accepted, every bad value refused by name.

Property-based (hypothesis) over the public API: for each argument in the table below, every
valid numeric type (Python int/float, numpy scalars, 0-d arrays, 0-d tensors) gives the same,
finite result as a plain float, and every bad value (NaN, ±inf, bool, wrong sign, string,
None, complex) raises TypeError or ValueError whose message names the argument.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lojasgd
from lojasgd import noise, sgd, stats, theory, validation
from lojasgd.examples import valley
from lojasgd.examples.hyperbola import Hyperbola
from lojasgd.examples.valley import FlatValley

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _as_float(x) -> float:
    return float(x.item()) if isinstance(x, torch.Tensor) else float(x)


def real_types(x: float):
    """The same real number in every type a user may pass."""
    return [x, np.float64(x), np.float32(x) if np.float32(x) == x else x, np.array(x), torch.tensor(x),
            torch.tensor(x, dtype=torch.float64)]


def _result(out):
    if isinstance(out, sgd.Schedule):
        return out.sup
    if isinstance(out, noise.Noise):
        return float(getattr(out, "sigma", getattr(out, "s", 0.0)))
    if isinstance(out, sgd.SGDResult):
        return float(out.path_length.sum() + out.max_distance.sum())
    if isinstance(out, tuple):
        return float(sum(out))
    return float(out)


def _sim(**kw):
    args = dict(eta=0.1, r=0.5, steps=3, n_traj=4, seed=0)
    args.update(kw)
    return sgd.simulate(Hyperbola(), noise.MLNoise(args.pop("sigma", 1.0)), [1.2, 1.0], **args)


# (name, callable of the argument, a valid value, lower bound, strict)
CASES = [
    ("alpha", lambda v: theory.step_size_limit(v, 2.0, 1.0), 1.5, 0.0, True),
    ("L", lambda v: theory.step_size_limit(1.0, v, 1.0), 2.0, 0.0, True),
    ("sigma", lambda v: theory.step_size_limit(1.0, 2.0, v), 1.0, 0.0, False),
    ("F0", lambda v: theory.markov_exit_bound(v, 1.0, 0.1, 1.0, 1.0, 0.5), 0.01, 0.0, False),
    ("r", lambda v: theory.markov_exit_bound(0.01, v, 0.1, 1.0, 1.0, 0.5), 1.0, 0.0, True),
    ("eta", lambda v: theory.path_constant(v, 1.0, 1.0, 0.5), 0.1, 0.0, True),
    ("eta", lambda v: sgd.constant(v), 0.1, 0.0, True),
    ("eta0", lambda v: sgd.robbins_monro(v, 1.0), 0.5, 0.0, True),
    ("sigma", lambda v: noise.MLNoise(v), 2.0, 0.0, False),
    ("s", lambda v: noise.BoundedNoise(v), 0.3, 0.0, False),
    ("injected", lambda v: noise.MiniBatch(1, injected=v), 0.3, 0.0, False),
    ("r", lambda v: Hyperbola.alpha([1.5, 1.0], v), 0.5, 0.0, True),
    ("F0", lambda v: valley.path_length(v, 2.0), 0.5, 0.0, False),
    ("r", lambda v: valley.ville_exit_bound(0.02, v, 0.5, 2.0), 0.3, 0.0, True),
    ("s", lambda v: valley.paley_zygmund_exit_bound(0.1, v, [0.5, 0.25]), 1.0, 0.0, True),
    ("level", lambda v: stats.wilson(3, 10, v).low, 0.9, 0.0, True),
    ("eta", lambda v: _sim(eta=v), 0.1, 0.0, True),
    ("r", lambda v: _sim(r=v), 0.5, 0.0, True),
    ("stop_tol", lambda v: _sim(stop_tol=v), 1e-9, 0.0, False),
]
IDS = [f"{name}-{i}" for i, (name, *_rest) in enumerate(CASES)]


@pytest.mark.parametrize("name,fn,value,lower,strict", CASES, ids=IDS)
def test_every_real_type_gives_the_float_result(name, fn, value, lower, strict):
    expected = _result(fn(float(value)))
    assert math.isfinite(expected)
    for v in real_types(value):
        got = _result(fn(v))
        assert got == pytest.approx(expected, rel=1e-6), (name, type(v))


BAD = [math.nan, math.inf, -math.inf, True, np.bool_(False), torch.tensor(True), "0.1", None, 1 + 2j,
       torch.tensor(math.nan), np.array(math.inf), [0.1, math.nan]]


OPTIONAL = {"stop_tol"}  # None means "not given" there
BAD_CASES = [pytest.param(name, fn, bad, id=f"{i}-{name}-{repr(bad)[:16]}")
             for i, (name, fn, *_r) in enumerate(CASES) for bad in BAD if not (bad is None and name in OPTIONAL)]


@pytest.mark.parametrize("name,fn,bad", BAD_CASES)
def test_bad_values_are_refused_by_name(name, fn, bad):
    with pytest.raises((TypeError, ValueError)) as err:
        fn(bad)
    assert name in str(err.value), str(err.value)


@pytest.mark.parametrize("name,fn,value,lower,strict", CASES, ids=IDS)
@SETTINGS
@given(data=st.data())
def test_out_of_range_is_refused_and_in_range_is_finite(name, fn, value, lower, strict, data):
    below = data.draw(st.floats(min_value=-1e6, max_value=lower, allow_nan=False, exclude_max=not strict))
    with pytest.raises(ValueError, match=name):
        fn(below)
    # a valid value near the given one: the result is finite (never a silent NaN or inf)
    scale = data.draw(st.floats(min_value=0.5, max_value=1.0))
    v = value * scale if value > 0 else value
    out = _result(fn(v))
    assert math.isfinite(out)


@SETTINGS
@given(st.integers(min_value=-5, max_value=0))
def test_integers_below_their_range(n):
    with pytest.raises(ValueError, match="steps"):
        _sim(steps=n)
    with pytest.raises(ValueError, match="n_traj"):
        _sim(n_traj=n)


@pytest.mark.parametrize("bad", [1.0, 3.5, True, "3", None, np.float64(2.0)])
def test_integers_refuse_non_integers(bad):
    with pytest.raises(TypeError, match="steps"):
        _sim(steps=bad)


@pytest.mark.parametrize("good", [3, np.int64(3), np.int32(3), np.array(3), torch.tensor(3)])
def test_integers_accept_every_integer_type(good):
    assert _sim(steps=good).steps_run == 3
    assert FlatValley(good).dim == 3


@SETTINGS
@given(extra=st.integers(min_value=1, max_value=3), rows=st.integers(min_value=1, max_value=4))
def test_theta_with_wrong_dimension_is_an_error_never_truncated(extra, rows):
    land = Hyperbola()
    bad = np.ones((rows, 2 + extra))
    for method in (land.loss, land.grad, land.value_and_grad):
        with pytest.raises(ValueError, match=r"theta must have shape \(\.\.\., 2\)"):
            method(torch.as_tensor(bad))
        with pytest.raises(ValueError, match="theta"):
            method(bad)
    with pytest.raises(ValueError, match="theta0"):
        _sim(n_traj=None, **{}) if False else sgd.simulate(land, noise.MLNoise(1.0), bad, eta=0.1, r=0.5, steps=2)


def test_theta_refuses_bool_complex_and_strings():
    land = Hyperbola()
    for bad, err in ((np.array([True, False]), TypeError), (torch.tensor([1 + 1j, 2j]), TypeError), ("ab", TypeError),
                     (np.array([1.0, math.nan]), ValueError)):
        with pytest.raises(err, match="theta"):
            land.loss(bad)


def test_seed_device_and_dtype():
    with pytest.raises(ValueError, match="seed"):
        _sim(seed=-1)
    with pytest.raises(ValueError, match="seed"):
        _sim(seed=2**63)
    with pytest.raises(TypeError, match="seed"):
        _sim(seed=1.5)
    with pytest.raises(ValueError, match="meta"):
        _sim(device="meta")
    with pytest.raises(TypeError, match="dtype"):
        _sim(dtype=torch.int64)
    with pytest.raises(ValueError, match="backend"):
        _sim(backend="magic")
    assert _sim(seed=2**63 - 1).steps_run == 3


def test_empty_batches_are_refused():
    with pytest.raises(ValueError, match="at least one trajectory"):
        sgd.simulate(Hyperbola(), noise.MLNoise(1.0), np.zeros((0, 2)), eta=0.1, r=0.5, steps=2)
    with pytest.raises(ValueError, match="n_traj"):
        _sim(n_traj=0)


def test_per_trajectory_arrays_of_every_type():
    base = _sim(eta=0.1).path_length
    for eta in (np.full(4, 0.1), torch.full((4,), 0.1, dtype=torch.float64),
                [0.1, 0.1, 0.1, 0.1]):
        np.testing.assert_array_equal(_sim(eta=eta).path_length, base)
    with pytest.raises(ValueError, match=r"eta must be a number or have shape \(4,\)"):
        _sim(eta=np.full(3, 0.1))


def test_public_api_is_reachable_from_the_package():
    for name in lojasgd.__all__:
        assert hasattr(lojasgd, name), name
    assert lojasgd.simulate is sgd.simulate and lojasgd.check_assumptions is lojasgd.estimate.check_assumptions


def test_show_renders_scalars_and_ranges():
    assert validation.show(0.5) == "0.5"
    assert validation.show(np.array([1.0, 2.0])) == "[1, 2]"
    assert "min=0" in validation.show(np.arange(10.0)) and "max=9" in validation.show(np.arange(10.0))
    assert "1 non-finite" in validation.show(np.array([1.0, 2.0, 3.0, 4.0, math.nan]))
