"""lojasgd.examples.digits: the bundled digits subsets, the conflicting-label bound, the MLPs."""

import pytest
import torch

from lojasgd.examples import digits


def test_load_is_seeded_and_coded():
    X, y, labels = digits.load(64, seed=3)
    X2, y2, _ = digits.load(64, seed=3)
    assert X.shape == (64, 64) and y.shape == (64,) and X.dtype == torch.float64
    assert torch.equal(X, X2) and torch.equal(y, y2)
    assert float(X.min()) >= 0 and float(X.max()) <= 1
    assert torch.equal(y, torch.where(torch.as_tensor(labels) < 5, 1.0, -1.0).double())
    assert digits.load(digits.N_DIGITS)[0].shape[0] == 1797


def test_conflicts_bound_F_from_below():
    X, y, _ = digits.load(40)
    Xc, yc, bound = digits.with_conflicts(X, y, 0.25, seed=1)
    m = 10
    assert Xc.shape[0] == 50 and bound == pytest.approx(m / 50)
    land, theta = digits.regression(40, 8, 2, conflicts=0.25, data_seed=0)
    gen = torch.Generator().manual_seed(0)
    pts = theta + 3 * torch.randn(200, land.dim, generator=gen, dtype=torch.float64)
    assert float(land.loss(pts).min()) >= bound * (1 - 1e-12)


def test_mlp_shapes_and_init():
    net = digits.mlp(64, 32, 4, activation="gelu", init="he", seed=0)
    n = sum(p.numel() for p in net.parameters())
    assert n == 64 * 32 + 32 + 2 * (32 * 32 + 32) + 32 + 1
    assert all(float(m.bias.detach().abs().max()) == 0 for m in net if isinstance(m, torch.nn.Linear))
    w = net[0].weight.detach()
    assert abs(float(w.std()) / (2 / 64) ** 0.5 - 1) < 0.05           # He: std √(2/fan_in)
    g = digits.mlp(64, 512, 2, activation="tanh", init="glorot", seed=1)[0].weight.detach()
    expected = (5 / 3) * (2 / (64 + 512)) ** 0.5                      # Glorot with tanh's gain 5/3
    assert abs(float(g.std()) / expected - 1) < 0.02
    assert torch.equal(digits.mlp(8, 4, 3, seed=5)[0].weight, digits.mlp(8, 4, 3, seed=5)[0].weight)


def test_regression_wraps_a_module():
    land, theta = digits.regression(16, 8, 3, activation="softplus")
    assert land.n_samples == 16 and theta.shape == (land.dim,)
    assert float(land.loss(theta)) > 0


@pytest.mark.parametrize("call, match", [
    (lambda: digits.load(0), "n=0"),
    (lambda: digits.load(1798), "n=1798"),
    (lambda: digits.mlp(4, 4, 1), "depth=1"),
    (lambda: digits.mlp(4, 4, 2, activation="sigmoid"), "activation"),
    (lambda: digits.mlp(4, 4, 2, init="orthogonal"), "init"),
    (lambda: digits.with_conflicts(torch.zeros(4, 2), torch.zeros(4), 0.0), "fraction=0"),
])
def test_validation(call, match):
    with pytest.raises(ValueError, match=match):
        call()
