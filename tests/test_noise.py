"""Noise models: exact identities (|ξ| = 1, enumeration of all mini-batches) and the error contract."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from lojasgd.examples.valley import FlatValley
from lojasgd.examples.hyperbola import Hyperbola
from lojasgd.examples.linear import LinearRegression
from lojasgd.examples.tanh_network import TanhNetwork
from lojasgd.noise import BoundedNoise, MLNoise, MiniBatch, draw_directions

torch.set_default_dtype(torch.float64)
GEN = lambda seed=0: torch.Generator().manual_seed(seed)  # noqa: E731


@pytest.mark.parametrize("direction", ["rademacher", "sphere", [0.6, 0.8]])
def test_bounded_directions_have_unit_norm(direction):
    xi = draw_directions(direction, 1000, 2, GEN(), "cpu", torch.float64)
    torch.testing.assert_close(torch.linalg.vector_norm(xi, dim=-1), torch.ones(1000))


@pytest.mark.parametrize("direction", ["rademacher", "sphere", "gaussian", [0.0, 1.0]])
def test_directions_are_centred_with_unit_second_moment(direction):
    n = 200_000
    xi = draw_directions(direction, n, 2, GEN(1), "cpu", torch.float64)
    # 5 standard errors of a mean of variables with second moment ≤ 1 (fourth moment ≤ 3 for |ξ|²)
    assert float(xi.mean(0).abs().max()) < 5 / math.sqrt(n)
    assert abs(float((xi**2).sum(-1).mean()) - 1) < 5 * math.sqrt(3 / n)


def test_ml_noise_deviation_is_exactly_sqrt_sigma_F():
    h = Hyperbola()
    theta = torch.randn(500, 2, generator=GEN(2))
    noise = MLNoise(3.0, direction="sphere")
    g = noise.sample(h, theta, GEN(3))
    F, grad = h.value_and_grad(theta)
    torch.testing.assert_close(((g - grad) ** 2).sum(-1), 3.0 * F)
    torch.testing.assert_close(noise.variance(h, theta), 3.0 * F)
    # at a zero of F the stochastic gradient vanishes exactly: the iterate stops
    zero = torch.tensor([[2.0, 0.5], [-1.0, -1.0]])
    assert torch.all(noise.sample(h, zero, GEN(4)) == 0)


def test_ml_noise_per_trajectory_sigma():
    fv = FlatValley()
    theta = torch.tensor([[1.0, 0.0], [2.0, 0.0]])
    noise = MLNoise(torch.tensor([0.0, 8.0]), direction=[0.0, 1.0])
    g = noise.sample(fv, theta, GEN())
    assert float(g[0, 1]) == 0.0 and abs(float(g[1, 1])) == pytest.approx(math.sqrt(8.0 * 2.0))
    with pytest.raises(ValueError, match="a per-trajectory noise scale has 2 entries but theta has shape"):
        noise.sample(fv, torch.zeros(3, 2), GEN())


def test_bounded_noise_has_fixed_size():
    fv = FlatValley()
    theta = torch.randn(100, 2, generator=GEN(5))
    noise = BoundedNoise(0.3, direction=[0.0, 1.0])
    g = noise.sample(fv, theta, GEN(6))
    dev = g - fv.grad(theta)
    torch.testing.assert_close(dev[:, 1].abs(), torch.full((100,), 0.3))
    assert torch.all(dev[:, 0] == 0)
    torch.testing.assert_close(noise.variance(fv, theta), torch.full((100,), 0.09))
    assert not noise.vanishes_at_minimum and MLNoise(1.0).vanishes_at_minimum
    torch.testing.assert_close(noise.max_norm(fv, theta), theta[:, 0].abs() + 0.3)
    assert math.isinf(float(BoundedNoise(1.0, direction="gaussian").max_norm(fv, theta[:1])[0]))


def _regression(n=4, d=6, seed=0):
    g = GEN(seed)
    return LinearRegression(torch.randn(n, d, generator=g), torch.randn(n, generator=g))


@pytest.mark.parametrize("b,replace", [(1, True), (2, True), (3, True), (2, False), (3, False), (4, False)])
def test_minibatch_unbiased_and_variance_by_enumeration(b, replace):
    land = TanhNetwork(*_regression().data, width=3, depth=3)
    theta = torch.randn(land.dim, generator=GEN(7))
    N = land.n_samples
    batches = (
        list(itertools.product(range(N), repeat=b)) if replace else list(itertools.combinations(range(N), b))
    )
    idx = torch.tensor(batches)
    T = theta.expand(len(batches), -1)
    g = land.batch_grad(T, idx)
    grad = land.grad(theta)
    torch.testing.assert_close(g.mean(0), grad)  # every batch equally likely: exact expectation
    exact = float(((g - grad) ** 2).sum(-1).mean())
    assert float(MiniBatch(b, replace=replace).variance(land, theta)) == pytest.approx(exact, rel=1e-10)


def test_minibatch_sigma_bound_2G2_over_b():
    land = _regression(n=5, d=8, seed=3)
    theta = torch.randn(7, land.dim, generator=GEN(8))
    G2 = (land.output_grads(theta) ** 2).sum(-1).max(-1).values  # max_i |∇ŷ_i|² (= |x_i|² here)
    for b in (1, 2, 4):
        var = MiniBatch(b).variance(land, theta)
        assert torch.all(var <= 2 * G2 * land.loss(theta) / b * (1 + 1e-12))  # f_i = e_i^2/2: E|g|^2 <= 2 G^2 F


def test_minibatch_draws_and_injection():
    land = _regression()
    idx, xi = MiniBatch(3, replace=False).draw(land, 500, GEN(9), "cpu", torch.float64)
    assert idx.shape == (500, 3) and xi is None
    assert all(len(set(row.tolist())) == 3 for row in idx)  # no repeats without replacement
    noise = MiniBatch(1, injected=0.5)
    assert not noise.vanishes_at_minimum
    w = torch.linalg.lstsq(land.X, land.y.unsqueeze(-1)).solution.squeeze(-1)  # interpolating zero of F
    assert float(land.loss(w)) < 1e-20
    g = MiniBatch(2).sample(land, w.expand(10, -1), GEN(10))
    assert float(g.abs().max()) < 1e-9  # mini-batch noise vanishes at zeros of F
    assert float(noise.variance(land, w)) == pytest.approx(0.25, abs=1e-12)


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match="sigma=-1 must be >= 0"):
        MLNoise(-1.0)
    with pytest.raises(ValueError, match="s=nan"):
        BoundedNoise(math.nan)
    with pytest.raises(ValueError, match="direction='uniform' must be one of"):
        MLNoise(1.0, direction="uniform")
    with pytest.raises(ValueError, match="must be a unit vector"):
        BoundedNoise(1.0, direction=[1.0, 1.0])
    with pytest.raises(ValueError, match="direction has length 3 but the landscape has dim=2"):
        BoundedNoise(1.0, direction=[0.0, 0.0, 1.0]).sample(FlatValley(), torch.zeros(1, 2))
    with pytest.raises(ValueError, match="batch_size=0 must be an integer >= 1"):
        MiniBatch(0)
    with pytest.raises(TypeError, match="MiniBatch needs a FiniteSum landscape, got Hyperbola"):
        MiniBatch(1).sample(Hyperbola(), torch.zeros(1, 2))
    with pytest.raises(ValueError, match="batch_size=9 must be <= n_samples=4 without replacement"):
        MiniBatch(9, replace=False).sample(_regression(), torch.zeros(1, 6))
    with pytest.raises(TypeError, match="sigma=True"):
        MLNoise(True)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_directions_are_the_draws_of_the_int64_formula_bit_for_bit(dtype):
    """Signs drawn straight into the float dtype: the same numbers as int64 draws converted (fde362e's formula)."""
    bits = {torch.float64: torch.int64, torch.float32: torch.int32}[dtype]
    for M, dim in [(1, 1), (3, 2), (17, 7), (1000, 2), (5, 1568)]:
        old = (torch.randint(0, 2, (M, dim), generator=GEN(M + dim)).to(dtype) * 2 - 1) / math.sqrt(dim)
        new = draw_directions("rademacher", M, dim, GEN(M + dim), "cpu", dtype)
        assert new.dtype == dtype and torch.equal(new.view(bits), old.view(bits))
        e = torch.tensor([0.6, 0.8], dtype=dtype)
        old = (torch.randint(0, 2, (M, 1), generator=GEN(M)).to(dtype) * 2 - 1) * e
        assert torch.equal(draw_directions([0.6, 0.8], M, 2, GEN(M), "cpu", dtype).view(bits), old.view(bits))
        z = torch.randn((M, dim), generator=GEN(dim), dtype=dtype)
        assert torch.equal(draw_directions("sphere", M, dim, GEN(dim), "cpu", dtype),
                           z / torch.linalg.vector_norm(z, dim=-1, keepdim=True))
        assert torch.equal(draw_directions("gaussian", M, dim, GEN(dim), "cpu", dtype), z / math.sqrt(dim))
