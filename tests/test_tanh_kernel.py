"""The numba kernel behind TanhNetwork.batch_grad: same value as the torch program and the vmap reference; dispatch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lojasgd.examples.tanh_network import TanhNetwork
from lojasgd.kernels.tanh import tanh_batch_grad
from lojasgd.landscapes import FiniteSum
from lojasgd.noise import MiniBatch
from lojasgd.sgd import simulate


def _net(width, depth, dtype=torch.float64, n=6, d=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d, generator=g, dtype=torch.float64)
    y = torch.randn(n, generator=g, dtype=torch.float64)
    return TanhNetwork(X.to(dtype), y.to(dtype), width=width, depth=depth)


def _point(net, M, dtype, seed=1):
    return (0.7 * torch.randn(M, net.dim, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)).to(dtype)


def _idx(M, b, N, seed=2):
    idx = torch.randint(0, N, (M, b), generator=torch.Generator().manual_seed(seed))
    if b > 1:
        idx[0] = idx[0, 0]  # a row of repeated indices
        idx[1, -1] = idx[1, 0]
    return idx


@pytest.mark.parametrize("dtype,rtol", [(torch.float64, 1e-12), (torch.float32, 1e-4)])
@pytest.mark.parametrize("depth", [2, 3, 4])
@pytest.mark.parametrize("width", [1, 5, 32])
@pytest.mark.parametrize("b", [1, 3, 8])
def test_kernel_equals_torch_and_vmap(depth, width, b, dtype, rtol):
    net = _net(width, depth, dtype)
    M = 9
    theta, idx = _point(net, M, dtype), _idx(M, b, net.n_samples)
    got = torch.from_numpy(tanh_batch_grad(theta.numpy(), net.X.numpy(), net.y.numpy(), idx.numpy(), width, depth))
    assert got.dtype == dtype and got.shape == (M, net.dim)
    if dtype == torch.float64 or b <= 2:  # the dispatch runs the kernel
        torch.testing.assert_close(net.batch_grad(theta, idx), got, rtol=0, atol=0)
    else:  # float32 with b > 2: torch's program
        torch.testing.assert_close(net.batch_grad(theta, idx), net.batch_grad_torch(theta, idx), rtol=0, atol=0)
    ref = net.batch_grad_torch(theta, idx)
    atol = rtol * float(ref.abs().max())
    torch.testing.assert_close(got, ref, rtol=rtol, atol=atol)
    torch.testing.assert_close(got, FiniteSum.batch_grad(net, theta, idx), rtol=rtol, atol=atol)


def test_kernel_float64_to_about_1e13():
    net = _net(32, 3, n=16, d=16)
    theta, idx = _point(net, 200, torch.float64), _idx(200, 4, 16)
    got, ref = net.batch_grad(theta, idx), net.batch_grad_torch(theta, idx)
    assert float((got - ref).abs().max() / ref.abs().max()) < 1e-13


def test_dispatch_keeps_autograd_and_other_inputs_on_torch(monkeypatch):
    import lojasgd.kernels.tanh as K

    calls = []
    real = K.tanh_batch_grad
    monkeypatch.setattr(K, "tanh_batch_grad", lambda *a, **k: calls.append(1) or real(*a, **k))
    net = _net(5, 3)
    theta = _point(net, 4, torch.float64).requires_grad_(True)
    idx = _idx(4, 3, net.n_samples)
    out = net.batch_grad(theta, idx)
    assert calls == [] and out.requires_grad
    (g,) = torch.autograd.grad(out.sum(), theta)  # the gradient flows through the torch program
    assert torch.isfinite(g).all() and g.abs().sum() > 0
    with torch.no_grad():
        net.batch_grad(theta, idx)
    assert calls == [1]
    net.batch_grad(theta.detach(), idx)
    assert calls == [1, 1]
    # non-contiguous θ: same value as the torch program
    wide = torch.randn(4, 2 * net.dim, dtype=torch.float64)[:, ::2]
    torch.testing.assert_close(net.batch_grad(wide, idx), net.batch_grad_torch(wide, idx), rtol=1e-12, atol=1e-14)
    # negative indices wrap as torch indexing does
    torch.testing.assert_close(net.batch_grad(theta.detach(), idx - net.n_samples),
                               net.batch_grad_torch(theta.detach(), idx), rtol=1e-12, atol=1e-14)
    # an out-of-range index is refused as before (by torch)
    with pytest.raises(IndexError):
        net.batch_grad(theta.detach(), idx + net.n_samples)
    # a float index tensor is not the kernel's
    n = len(calls)
    with pytest.raises(IndexError):
        net.batch_grad(theta.detach(), idx.to(torch.float64))
    assert len(calls) == n


@pytest.mark.parametrize("b,r", [(1, 1.0), (3, 0.8)])
def test_simulate_same_exits_as_torch_path(monkeypatch, b, r):
    g = torch.Generator().manual_seed(0)
    X = torch.randn(8, 6, generator=g, dtype=torch.float64)
    X = X / X.norm(dim=1, keepdim=True)
    net = TanhNetwork(X, torch.randn(8, generator=g, dtype=torch.float64), width=7, depth=3)
    theta0 = net.chatterjee_init(4.0, generator=torch.Generator().manual_seed(0))
    kw = dict(eta=0.05, r=r, steps=60, n_traj=64, seed=3, backend="tensor", rng="counter")
    fast = simulate(net, MiniBatch(b), theta0, **kw)
    monkeypatch.setattr(TanhNetwork, "batch_grad", TanhNetwork.batch_grad_torch)
    slow = simulate(net, MiniBatch(b), theta0, **kw)
    left = fast.exit_step >= 0
    assert left.any() and (~left).any(), "the case should have trajectories that leave and that stay"
    np.testing.assert_array_equal(fast.exit_step, slow.exit_step)
    np.testing.assert_allclose(fast.path_length, slow.path_length, rtol=1e-10, atol=0)
    np.testing.assert_allclose(fast.theta_final, slow.theta_final, rtol=1e-10, atol=1e-12)
