"""Tests of lojasgd.onestep: exact one-step expectations against closed forms (chapter 3)."""

import itertools
import math

import pytest
import torch

from lojasgd.examples.valley import FlatValley
from lojasgd.examples.hyperbola import Hyperbola
from lojasgd.examples.linear import LinearRegression
from lojasgd.noise import BoundedNoise, MLNoise, MiniBatch
from lojasgd.sgd import direction_atoms, one_step

torch.set_default_dtype(torch.float64)
PTS = torch.tensor([[0.7, -0.2], [-1.3, 0.5], [0.05, 2.0]])


def test_flat_valley_fixed_direction_closed_forms():
    sigma, eta = 3.0, 0.3
    out = one_step(FlatValley(), MLNoise(sigma, [0.0, 1.0]), PTS, eta)
    x = PTS[:, 0]
    F = x**2 / 2
    torch.testing.assert_close(out.loss, F)
    torch.testing.assert_close(out.grad_sq, x**2)
    # noise only moves y, which F ignores: E F(θ − ηg) = (1 − η)^2 F
    torch.testing.assert_close(out.mean_next_loss, (1 - eta) ** 2 * F)
    torch.testing.assert_close(out.mean_next_sqrt_loss, (1 - eta) * x.abs() / math.sqrt(2))
    # |g| = |x| sqrt(1 + σ/2) surely
    torch.testing.assert_close(out.mean_norm, x.abs() * math.sqrt(1 + sigma / 2))
    torch.testing.assert_close(out.mean_sq_norm, x**2 * (1 + sigma / 2))
    torch.testing.assert_close(out.variance, sigma * F)
    assert float(out.bias.max()) < 1e-14


def test_flat_valley_rademacher_puts_half_the_noise_into_x():
    sigma, eta = 2.0, 0.4
    out = one_step(FlatValley(), MLNoise(sigma, "rademacher"), PTS, eta)
    F = PTS[:, 0] ** 2 / 2
    torch.testing.assert_close(out.mean_next_loss, (1 - eta) ** 2 * F + eta**2 * sigma * F / 4)


def test_lemma_3_2_is_an_equality_on_the_flat_valley_with_noise_along_x():
    # F quadratic with Hessian diag(1, 0) and all noise along x: the descent lemma is exact (L = 1)
    sigma, eta = 1.5, 0.35
    out = one_step(FlatValley(), MLNoise(sigma, [1.0, 0.0]), PTS, eta)
    rhs = out.loss - eta * (1 - eta / 2) * out.grad_sq + eta**2 * sigma * out.loss / 2
    torch.testing.assert_close(out.mean_next_loss, rhs)


def test_hyperbola_rademacher_matches_a_plain_enumeration():
    hyp, sigma, eta = Hyperbola(), 4.0, 0.1
    theta = torch.tensor([1.2, 0.9])
    out = one_step(hyp, MLNoise(sigma, "rademacher"), theta, eta)
    F = float(hyp.loss(theta))
    grad = hyp.grad(theta)
    vals, norms = [], []
    for s in itertools.product((1.0, -1.0), repeat=2):
        g = grad + math.sqrt(sigma * F) * torch.tensor(s) / math.sqrt(2)
        vals.append(float(hyp.loss(theta - eta * g)))
        norms.append(float(torch.linalg.vector_norm(g)))
    assert out.loss.shape == ()
    assert math.isclose(float(out.mean_next_loss), sum(vals) / 4, rel_tol=1e-13)
    assert math.isclose(float(out.mean_next_sqrt_loss), sum(math.sqrt(v) for v in vals) / 4, rel_tol=1e-13)
    assert math.isclose(float(out.mean_norm), sum(norms) / 4, rel_tol=1e-13)


def test_second_moment_identity_and_variance_match_the_noise_model():
    hyp = Hyperbola()
    for noise in (MLNoise(2.5, "rademacher"), MLNoise(0.7, [0.6, 0.8]), BoundedNoise(0.3, [0.0, 1.0])):
        out = one_step(hyp, noise, PTS, 0.05)
        torch.testing.assert_close(out.mean_sq_norm, out.grad_sq + out.variance)
        torch.testing.assert_close(out.variance, noise.variance(hyp, PTS))
        assert float(out.bias.max()) < 1e-12


def test_batched_and_single_points_agree():
    hyp, noise = Hyperbola(), MLNoise(1.0, "rademacher")
    batch = one_step(hyp, noise, PTS, 0.2)
    for i in range(PTS.shape[0]):
        single = one_step(hyp, noise, PTS[i], 0.2)
        assert math.isclose(float(single.mean_next_loss), float(batch.mean_next_loss[i]), rel_tol=1e-14)


def test_direction_atoms():
    atoms = direction_atoms(MLNoise(1.0, "rademacher"), 3)
    assert atoms.shape == (8, 3)
    torch.testing.assert_close(torch.linalg.vector_norm(atoms, dim=-1), torch.ones(8))
    torch.testing.assert_close(atoms.mean(0), torch.zeros(3))
    torch.testing.assert_close(atoms.T @ atoms / 8, torch.eye(3) / 3)  # E ξξᵀ = I/n
    fixed = direction_atoms(BoundedNoise(1.0, [0.0, 1.0]), 2)
    torch.testing.assert_close(fixed, torch.tensor([[0.0, 1.0], [0.0, -1.0]]))


def test_validation():
    fv = FlatValley()
    with pytest.raises(ValueError, match="continuous"):
        one_step(fv, MLNoise(1.0, "sphere"), PTS, 0.1)
    with pytest.raises(ValueError, match="continuous"):
        direction_atoms(MLNoise(1.0, "gaussian"), 2)
    with pytest.raises(TypeError, match="MLNoise or BoundedNoise"):
        direction_atoms(MiniBatch(1), 2)
    with pytest.raises(ValueError, match="dim=13"):
        direction_atoms(MLNoise(1.0), 13)
    with pytest.raises(ValueError, match="eta"):
        one_step(fv, MLNoise(1.0), PTS, 0.0)
    with pytest.raises(ValueError, match="scalar noise constant"):
        one_step(fv, MLNoise(torch.ones(3)), PTS, 0.1)
    with pytest.raises(ValueError, match="length 3"):
        direction_atoms(MLNoise(1.0, [0.0, 0.0, 1.0]), 2)
    with pytest.raises(ValueError, match="theta"):
        one_step(fv, MLNoise(1.0), torch.zeros(2, 2, 2), 0.1)
    with pytest.raises(TypeError, match="Landscape"):
        one_step(object(), MLNoise(1.0), PTS, 0.1)
    reg = LinearRegression(torch.eye(2), torch.ones(2))
    assert one_step(reg, MLNoise(1.0), torch.zeros(2), 0.1).loss.shape == ()
