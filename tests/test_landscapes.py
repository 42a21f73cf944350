"""Landscapes: gradients and Hessian-vector products against autograd and closed forms."""

from __future__ import annotations

import math

import pytest
import torch

from lojasgd.landscapes import FiniteSum, ModuleRegression, SquaredLossModel, TorchFiniteSum, TorchLandscape
from lojasgd.validation import theta as as_theta
from lojasgd.examples.valley import FlatValley
from lojasgd.examples.hyperbola import Hyperbola
from lojasgd.examples.linear import LinearRegression
from lojasgd.examples.plateau import PlateauValley
from lojasgd.examples.tanh_network import TanhNetwork

torch.set_default_dtype(torch.float64)


def _autograd_grad(landscape, theta):
    t = theta.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(landscape.loss(t).sum(), t)
    return g


def _hessian(landscape, theta):
    return torch.autograd.functional.hessian(lambda t: landscape.loss(t.unsqueeze(0))[0], theta)


def _net_data(n=6, d=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g), torch.randn(n, generator=g)


LANDSCAPES = [
    FlatValley(),
    FlatValley(dim=4),
    Hyperbola(),
    PlateauValley(height=0.5, edge=1.0, width=0.5),
    LinearRegression(*_net_data()),
    TanhNetwork(*_net_data(), width=5, depth=3),
    TanhNetwork(*_net_data(), width=4, depth=4),
    TorchLandscape(lambda t: (t[0] * t[1] - 1) ** 2 / 2 + t[0] ** 4, dim=2),
]


@pytest.mark.parametrize("land", LANDSCAPES, ids=repr)
def test_grad_and_hvp_match_autograd(land):
    g = torch.Generator().manual_seed(1)
    theta = torch.randn(3, land.dim, generator=g)
    if isinstance(land, PlateauValley):
        theta[:, 1] = torch.tensor([0.3, 1.2, -1.35])  # inside, on the ramp, on the ramp (negative side)
    torch.testing.assert_close(land.grad(theta), _autograd_grad(land, theta), rtol=1e-10, atol=1e-12)
    F, G = land.value_and_grad(theta)
    torch.testing.assert_close(F, land.loss(theta))
    torch.testing.assert_close(G, land.grad(theta))
    v = torch.randn(3, land.dim, generator=g)
    hv = land.hvp(theta, v)
    for m in range(3):
        torch.testing.assert_close(hv[m], _hessian(land, theta[m]) @ v[m], rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("land", LANDSCAPES[:4], ids=repr)
def test_batching_over_leading_axes(land):
    theta = torch.randn(2, 3, land.dim, generator=torch.Generator().manual_seed(2))
    assert land.loss(theta).shape == (2, 3)
    assert land.grad(theta).shape == (2, 3, land.dim)
    torch.testing.assert_close(land.loss(theta)[1, 2], land.loss(theta[1, 2]))


def test_hyperbola_identities_and_alpha():
    h = Hyperbola()
    theta = torch.randn(100, 2, generator=torch.Generator().manual_seed(3))
    F, g = h.value_and_grad(theta)
    torch.testing.assert_close((g**2).sum(-1), 2 * F * (theta**2).sum(-1))  # |∇F|² = 2F|θ|²
    ev = h.hessian_eigenvalues(theta)
    for m in range(5):
        torch.testing.assert_close(ev[m], torch.linalg.eigvalsh(_hessian(h, theta[m])))
    assert Hyperbola.alpha([1.5, 1.0], 0.5) == pytest.approx(2 * (math.sqrt(3.25) - 0.5) ** 2)
    with pytest.raises(ValueError, match="r=2 must be below"):
        Hyperbola.alpha([1.0, 1.0], 2)
    with pytest.raises(ValueError, match="r=-1"):
        Hyperbola.alpha([1.0, 1.0], -1)


def test_flat_valley_ratio_is_two():
    fv = FlatValley(dim=3)
    theta = torch.randn(50, 3, generator=torch.Generator().manual_seed(4))
    F, g = fv.value_and_grad(theta)
    torch.testing.assert_close((g**2).sum(-1) / F, torch.full((50,), 2.0))
    with pytest.raises(ValueError, match="dim=1 must be an integer >= 2"):
        FlatValley(dim=1)


def test_plateau_valley_zero_set_and_plateau():
    pv = PlateauValley(height=0.7, edge=1.0, width=0.5)
    seg = torch.tensor([[0.0, y] for y in (-1.0, -0.3, 0.0, 0.9, 1.0)])
    assert torch.all(pv.loss(seg) == 0)
    plateau = torch.tensor([[0.0, y] for y in (-3.0, 1.5, 2.0, 10.0)])
    torch.testing.assert_close(pv.loss(plateau), torch.full((4,), 0.7))
    assert torch.all(pv.grad(plateau) == 0)  # critical points with F = h > 0
    ramp = torch.tensor([[0.0, 1.25]])
    assert 0 < float(pv.loss(ramp)) < 0.7
    with pytest.raises(ValueError, match="height=0"):
        PlateauValley(height=0)


def test_linear_regression_gram_alpha_and_shapes():
    X, y = _net_data(n=4, d=7)
    lr = LinearRegression(X, y)
    assert lr.dim == 7 and lr.n_samples == 4
    lam = torch.linalg.eigvalsh(X @ X.T)[0]
    assert lr.gram_alpha() == pytest.approx(float(2 * lam / 4))  # 2 lambda_min(G_X) / N with N = 4
    with pytest.raises(ValueError, match="X has 4 rows but y has 3"):
        LinearRegression(X, y[:3])
    with pytest.raises(ValueError, match="X must be a 2-d"):
        LinearRegression(X[0], y)
    with pytest.raises(ValueError, match="y=.* must be finite"):
        LinearRegression(X, torch.tensor([1.0, math.nan, 0.0, 0.0]))


def test_finite_sum_pieces_are_consistent():
    net = TanhNetwork(*_net_data(), width=5, depth=3)
    theta = torch.randn(3, net.dim, generator=torch.Generator().manual_seed(5))
    psg = net.per_sample_grads(theta)
    assert psg.shape == (3, net.n_samples, net.dim)
    torch.testing.assert_close(psg.mean(-2), net.grad(theta))
    torch.testing.assert_close(net.sample_losses(theta).mean(-1), net.loss(theta))
    idx = torch.tensor([[0, 2], [5, 5], [1, 3]])
    expected = torch.stack([psg[m, idx[m]].mean(0) for m in range(3)])
    torch.testing.assert_close(net.batch_grad(theta, idx), expected)
    # per-sample gradient = r_i ∇ŷ_i (f_i = r_i²/2)
    r = net.residuals(theta)
    torch.testing.assert_close(psg, r.unsqueeze(-1) * net.output_grads(theta))
    torch.testing.assert_close(net.loss(theta), (r**2).mean(-1) / 2)


def test_tanh_network_forward_matches_nn_module_and_wrapper():
    X, y = _net_data(n=5, d=6)
    net = TanhNetwork(X, y, width=4, depth=4)
    module = torch.nn.Sequential(
        torch.nn.Linear(6, 4, bias=False), torch.nn.Tanh(),
        torch.nn.Linear(4, 4, bias=False), torch.nn.Tanh(),
        torch.nn.Linear(4, 4, bias=False), torch.nn.Tanh(),
        torch.nn.Linear(4, 1, bias=False),
    ).double()
    wrapped = ModuleRegression(module, X, y)
    theta = wrapped.theta_of_module()
    assert wrapped.dim == net.dim == 6 * 4 + 2 * 16 + 4
    with torch.no_grad():
        expected = module(X).squeeze(-1)
    torch.testing.assert_close(net.predict(theta), expected)
    torch.testing.assert_close(wrapped.predict(theta), expected)
    torch.testing.assert_close(wrapped.grad(theta), net.grad(theta))
    with pytest.raises(TypeError, match="module must be a torch.nn.Module"):
        ModuleRegression(lambda x: x, X, y)


def test_chatterjee_init_and_first_layer():
    X, y = _net_data(n=6, d=8)
    net = TanhNetwork(X, y, width=5, depth=3)
    theta0 = net.chatterjee_init(3.0, generator=torch.Generator().manual_seed(0))
    W1, W2, v = net.unflatten(theta0)
    assert torch.all(W1 == 0) and torch.all(W2 > 0)
    assert float(torch.linalg.vector_norm(v)) == pytest.approx(3.0)
    torch.testing.assert_close(net.predict(theta0), torch.zeros(6))
    assert float(net.loss(theta0)) == pytest.approx(float((y**2).mean()) / 2)
    # δ_i: ∂ŷ_i/∂W_1 = δ_i x_iᵀ
    theta = torch.randn(net.dim, generator=torch.Generator().manual_seed(9))
    delta = net.first_layer_sensitivities(theta)
    grads = net.output_grads(theta)[:, : 5 * 8].reshape(6, 5, 8)
    torch.testing.assert_close(grads, delta.unsqueeze(-1) * X.unsqueeze(-2))
    # Schur bound is a lower bound on |∇F|²/F, pointwise
    pts = torch.randn(20, net.dim, generator=torch.Generator().manual_seed(10))
    F, g = net.value_and_grad(pts)
    assert torch.all(net.schur_alpha_bound(pts) <= (g**2).sum(-1) / F * (1 + 1e-10))
    with pytest.raises(ValueError, match="scale=0"):
        net.chatterjee_init(0)
    with pytest.raises(ValueError, match="depth=1 must be an integer >= 2"):
        TanhNetwork(X, y, width=3, depth=1)
    with pytest.raises(ValueError, match=r"weights\[0\] must have shape"):
        net.flatten([torch.zeros(2, 2), torch.zeros(5, 5), torch.zeros(5)])


def test_torch_wrappers():
    fn = lambda t: (t[0] * t[1] - 1) ** 2 / 2  # noqa: E731
    land = TorchLandscape(fn, dim=2)
    theta = torch.randn(7, 2, generator=torch.Generator().manual_seed(6))
    torch.testing.assert_close(land.loss(theta), Hyperbola().loss(theta))
    torch.testing.assert_close(land.grad(theta), Hyperbola().grad(theta))
    X, y = _net_data(n=5, d=3)
    fs = TorchFiniteSum(lambda t, x, yy: (t @ x - yy) ** 2 / 2, (X, y), dim=3)
    lr = LinearRegression(X, y)
    th = torch.randn(4, 3, generator=torch.Generator().manual_seed(7))
    torch.testing.assert_close(fs.loss(th), lr.loss(th))
    torch.testing.assert_close(fs.per_sample_grads(th), lr.per_sample_grads(th))
    with pytest.raises(TypeError, match="fn=3 must be callable"):
        TorchLandscape(3, dim=2)
    with pytest.raises(ValueError, match="dim=0 must be an integer >= 1"):
        TorchLandscape(fn, dim=0)
    with pytest.raises(ValueError, match=r"data\[1\] must have first axis of length 5"):
        TorchFiniteSum(lambda t, x, yy: t.sum(), (X, y[:2]), dim=3)


def test_as_theta_validation():
    assert as_theta("theta", [1, 2], 2).dtype == torch.float64
    with pytest.raises(ValueError, match=r"theta must have shape \(\.\.\., 3\)"):
        as_theta("theta", [1.0, 2.0], 3)
    with pytest.raises(ValueError, match=r"theta0=.* must be finite"):
        as_theta("theta0", [1.0, math.inf], 2)


@pytest.mark.parametrize("depth,b", [(2, 1), (3, 1), (3, 4), (4, 2)])
def test_tanh_fast_batch_grad_equals_generic_vmap_path(depth, b):
    net = TanhNetwork(*_net_data(n=6, d=5), width=4, depth=depth)
    theta = torch.randn(7, net.dim, generator=torch.Generator().manual_seed(11))
    idx = torch.randint(0, 6, (7, b), generator=torch.Generator().manual_seed(12))
    torch.testing.assert_close(net.batch_grad(theta, idx), FiniteSum.batch_grad(net, theta, idx), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("depth", [2, 3, 4])
def test_tanh_backpropagation_equals_generic_torch_func_path(depth):
    # TanhNetwork's explicit back-propagation against the inherited torch.func reference
    net = TanhNetwork(*_net_data(n=5, d=7), width=4, depth=depth)
    g = torch.Generator().manual_seed(depth)
    theta = torch.randn(2, 3, net.dim, generator=g)
    vec = torch.randn(2, 3, net.dim, generator=g)
    close = dict(rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(net.loss(theta), FiniteSum.loss(net, theta), **close)
    torch.testing.assert_close(net.grad(theta), FiniteSum.grad(net, theta), **close)
    F, G = net.value_and_grad(theta)
    Fr, Gr = FiniteSum.value_and_grad(net, theta)
    torch.testing.assert_close(F, Fr, **close)
    torch.testing.assert_close(G, Gr, **close)
    torch.testing.assert_close(net.per_sample_grads(theta), FiniteSum.per_sample_grads(net, theta), **close)
    torch.testing.assert_close(net.output_grads(theta), SquaredLossModel.output_grads(net, theta), **close)
    ref_hvp = torch.func.jvp(lambda t: FiniteSum.grad(net, t), (theta,), (vec,))[1]
    torch.testing.assert_close(net.hvp(theta, vec), ref_hvp, rtol=1e-9, atol=1e-10)
    torch.testing.assert_close(net.grad_one(theta[0, 0]), FiniteSum.grad_one(net, theta[0, 0]), **close)


def test_tanh_backpropagation_is_differentiable_through_its_gradient():
    # estimate_alpha differentiates |∇F|²/F with autograd: both paths must agree
    net = TanhNetwork(*_net_data(n=5, d=7), width=4, depth=3)
    t0 = torch.randn(net.dim, generator=torch.Generator().manual_seed(3))
    out = []
    for value_and_grad in (net.value_and_grad, lambda t: FiniteSum.value_and_grad(net, t)):
        t = t0.clone().requires_grad_(True)
        F, g = value_and_grad(t.unsqueeze(0))
        (d,) = torch.autograd.grad((g**2).sum() / F[0], t)
        out.append(d)
    torch.testing.assert_close(out[0], out[1], rtol=1e-9, atol=1e-10)


def test_tanh_backpropagation_in_float32():
    # the copy made by .to(dtype=float32) (as sgd.simulate does) keeps the fast path and its values
    net = TanhNetwork(*_net_data(n=5, d=7), width=4, depth=3)
    theta = torch.randn(4, net.dim, generator=torch.Generator().manual_seed(4))
    net32 = net.to(dtype=torch.float32)
    assert type(net32) is TanhNetwork
    F32, G32 = net32.value_and_grad(theta.float())
    assert F32.dtype == G32.dtype == torch.float32
    torch.testing.assert_close(F32.double(), net.loss(theta), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(G32.double(), net.grad(theta), rtol=1e-4, atol=1e-5)


def test_one_squared_loss_convention_the_hyperbola_is_a_module_regression():
    # the book's squared loss carries the factor 1/2 everywhere: the hyperbola F = (ab - 1)^2/2 is the
    # one-sample regression yhat = a*b*x at x = 1, y = 1 written as a ModuleRegression: the same F and gradient
    class Product(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a, self.b = torch.nn.Parameter(torch.tensor(1.0)), torch.nn.Parameter(torch.tensor(1.0))

        def forward(self, x):
            return self.a * self.b * x[0]

    reg = ModuleRegression(Product().double(), torch.ones(1, 1, dtype=torch.float64), torch.ones(1, dtype=torch.float64))
    theta = torch.randn(9, 2, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    torch.testing.assert_close(reg.loss(theta), Hyperbola().loss(theta), rtol=1e-14, atol=0)
    torch.testing.assert_close(reg.grad(theta), Hyperbola().grad(theta), rtol=1e-14, atol=0)
    # the example: at (1.5, 1.0), F = 0.125 (not 0.25)
    assert float(reg.loss(torch.tensor([1.5, 1.0], dtype=torch.float64))) == pytest.approx(0.125, rel=1e-15)
