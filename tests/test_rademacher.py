"""Tests of lojasgd.rademacher against exact enumeration and closed forms."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from lojasgd import rademacher as rd
from lojasgd import sgd
from lojasgd.examples import valley

RNG = np.random.default_rng(0)


def _irwin_hall_cdf(x: float, n: int = 4) -> float:
    """CDF of the sum of n independent uniforms on [0, 1]."""
    return sum((-1) ** k * math.comb(n, k) * (x - k) ** n for k in range(int(math.floor(x)) + 1)) / math.factorial(n)


# ----------------------------------------------------------------------------- moments
@pytest.mark.parametrize("n", [1, 2, 5, 10])
def test_moments_match_enumeration(n):
    a = RNG.normal(size=n)
    values, probs = rd.enumerate_law(a)
    assert probs.sum() == pytest.approx(1.0, abs=1e-14)
    assert np.sum(probs * values**2) == pytest.approx(rd.second_moment(a), rel=1e-12)
    assert np.sum(probs * values**4) == pytest.approx(rd.fourth_moment(a), rel=1e-12)
    assert rd.fourth_moment(a) <= 3 * rd.second_moment(a) ** 2


def test_fourth_moment_of_equal_weights_is_binomial():
    # S = sum of n signs: E S^4 = 3n^2 - 2n
    for n in (1, 3, 8):
        assert rd.fourth_moment(np.ones(n)) == 3 * n**2 - 2 * n


@pytest.mark.parametrize("t", [0.0, 0.3, 1.0, 1.9])
def test_paley_zygmund_is_below_exact_tail(t):
    a = np.abs(RNG.normal(size=12)) + 0.05
    values, probs = rd.enumerate_law(a)
    exact = probs[np.abs(values) > t].sum()
    pz = rd.paley_zygmund(t * math.sqrt(rd.second_moment(a)) / 2, a)
    assert pz <= exact + 1e-15
    assert rd.paley_zygmund(0.0, a) == pytest.approx(rd.second_moment(a) ** 2 / rd.fourth_moment(a))


def test_paley_zygmund_matches_theory_module_and_vanishes_beyond_v():
    etas = sgd.robbins_monro(0.5, 1.0).values(300)
    for r in (0.2, 1.0, 1.2):
        assert rd.paley_zygmund(r, 2.0 * etas) == pytest.approx(valley.paley_zygmund_exit_bound(r, 2.0, etas), rel=1e-12)
    v = rd.second_moment(2.0 * etas)
    assert rd.paley_zygmund(math.sqrt(v) * 1.000001, 2.0 * etas) == 0.0
    assert rd.paley_zygmund(math.sqrt(v) * 0.999, 2.0 * etas) > 0.0


# ----------------------------------------------------------------------------- atoms
@pytest.mark.parametrize("n", [1, 2, 3, 7, 10, 15])
def test_equal_weights_attain_the_sperner_bound(n):
    assert rd.largest_atom(np.ones(n)) == pytest.approx(math.comb(n, n // 2) / 2**n, rel=1e-14)
    assert rd.atom_bound(n) == pytest.approx(math.comb(n, n // 2) / 2**n, rel=1e-12)


@pytest.mark.parametrize("n", [4, 9, 14])
def test_atoms_of_unequal_weights_are_below_the_bound(n):
    a = RNG.uniform(-2, 2, size=n)
    a[a == 0] = 1.0
    assert rd.largest_atom(a) <= rd.atom_bound(n) + 1e-15
    # integer weights 1..n collide often, but still obey the bound
    assert rd.largest_atom(np.arange(1, n + 1)) <= rd.atom_bound(n) + 1e-15


def test_atom_bound_central_binomial_inequality():
    # C(n, floor(n/2)) / 2^n <= 1/sqrt(2 floor(n/2) + 1), exactly in rationals
    for n in range(0, 80):
        c = Fraction(math.comb(n, n // 2), 2**n)
        assert c * c <= Fraction(1, 2 * (n // 2) + 1)
        assert rd.atom_bound(n) == pytest.approx(float(c), rel=1e-12)
    assert rd.atom_bound(10**6) < 1e-3


def test_enumerate_law_merges_equal_sums():
    values, probs = rd.enumerate_law([1.0, 1.0])
    np.testing.assert_allclose(values, [-2.0, 0.0, 2.0])
    np.testing.assert_allclose(probs, [0.25, 0.5, 0.25])


# ----------------------------------------------------------------------------- characteristic function
def test_characteristic_function_matches_enumeration():
    a = RNG.normal(size=9)
    values, probs = rd.enumerate_law(a)
    u = np.linspace(-7, 7, 31)
    exact = (probs[None, :] * np.cos(np.outer(u, values))).sum(1)
    np.testing.assert_allclose(rd.characteristic_function(u, a, chunk=4), exact, atol=1e-13)


def test_characteristic_function_of_binary_digits_is_sinc():
    # sum_{j>=1} xi_j 2^{-j} is uniform on [-1, 1]: phi(u) = sin(u)/u (Viete)
    a = 2.0 ** -np.arange(1, 60)
    u = np.array([0.3, 1.0, 5.0, 17.0])
    np.testing.assert_allclose(rd.characteristic_function(u, a), np.sin(u) / u, atol=1e-14)


# ----------------------------------------------------------------------------- inversion
def test_inversion_is_exact_for_a_sum_of_four_uniforms():
    # four copies of the binary digits: S = U1+U2+U3+U4 with U_i uniform on [-1, 1]
    a = np.tile(2.0 ** -np.arange(1, 41), 4)
    t = np.array([0.3, 1.0, 2.5, 3.9])
    exact = np.array([1 - (_irwin_hall_cdf(2 + x / 2) - _irwin_hall_cdf(2 - x / 2)) for x in t])
    np.testing.assert_allclose(rd.abs_tail(t, a, cutoff=3000.0), exact, atol=1e-12)
    assert rd.density(0.0, a, cutoff=3000.0) == pytest.approx(1 / 3, abs=1e-10)
    assert rd.abs_tail(4.0 + 1e-9, a, cutoff=3000.0) == 0.0


def test_random_harmonic_series_density():
    # Schmuland (2003): the density of sum_n xi_n / n is 1/4 at 0 and 1/8 at 2 (to ~1e-40);
    # the sum truncated at N differs by a smoothing of variance ~1/N.
    a = 1.0 / np.arange(1, 20_001)
    x = np.linspace(-1.5, 2.0, 3501)
    fx = rd.density(x, a)
    np.testing.assert_allclose(fx[[1500, 3500]], [0.25, 0.125], atol=1e-4)
    # the density integrates to the tail probabilities
    fx, x = fx[:3001], x[:3001]
    inside = np.sum((fx[1:] + fx[:-1]) / 2 * np.diff(x))
    assert 1 - inside == pytest.approx(rd.abs_tail(1.5, a), abs=1e-6)


def test_abs_tail_is_monotone_and_at_most_one():
    a = 0.5 / np.arange(1, 401)
    t = np.linspace(0, 4, 41)
    tail = rd.abs_tail(t, a)
    assert np.all(np.diff(tail) <= 1e-12) and tail[0] == pytest.approx(1.0, abs=1e-9)
    assert np.all((0 <= tail) & (tail <= 1))


def test_inversion_refuses_lattice_laws():
    with pytest.raises(ValueError, match="too close to a lattice law"):
        rd.abs_tail(1.0, np.ones(5))


# ----------------------------------------------------------------------------- the flat valley
def test_ml_weights_have_the_closed_form_variance():
    # constant step: sum_k eta^2 (sigma/2) x0^2 (1-eta)^{2k} = eta sigma x0^2 / (2 (2-eta))
    eta, sigma, x0 = 0.3, 2.5, 0.7
    w = valley.series_weights(np.full(400, eta), sigma=sigma, x0=x0)
    assert rd.second_moment(w) == pytest.approx(eta * sigma * x0**2 / (2 * (2 - eta)), rel=1e-12)
    np.testing.assert_allclose(w[:3], eta * math.sqrt(sigma / 2) * x0 * (1 - eta) ** np.arange(3))


def test_ml_weights_general_steps_variance_below_telescoping_bound():
    etas = sgd.robbins_monro(0.5, 1.0).values(5000)
    sigma, x0 = 2.0, 1.0
    w = valley.series_weights(etas, sigma=sigma, x0=x0)
    eta_bar = etas.max()
    assert rd.second_moment(w) <= sigma / 2 * x0**2 * eta_bar / (2 - eta_bar)
    # every path has length |x0| sqrt(1 + sigma/2) (1 - prod(1 - eta_j)) -> |x0| sqrt(1 + sigma/2)
    lengths = w * math.sqrt(1 + 2 / sigma)
    assert lengths.sum() == pytest.approx(abs(x0) * math.sqrt(1 + sigma / 2) * (1 - np.prod(1 - etas)), rel=1e-12)


def test_bounded_weights_and_exit_bounds():
    etas = sgd.robbins_monro(0.5, 1.0).values(400)
    w = valley.series_weights(etas, s=2.0)
    np.testing.assert_allclose(w, 2.0 * etas)
    lo, hi = valley.law_exit_bounds(1.1, 0.0, w, etas)
    assert lo == pytest.approx(rd.abs_tail(1.1, w)) and hi == pytest.approx(min(1.0, 2 * lo))
    lo2, hi2 = valley.law_exit_bounds(1.1, 0.5, w, etas)
    assert lo2 == pytest.approx(lo) and hi2 >= hi
    # machine-learning noise from x0 with |x0| sqrt(1 + sigma/2) <= r never moves far enough
    wm = valley.series_weights(etas, sigma=2.0, x0=0.3)
    assert valley.law_exit_bounds(1.1, 0.3, wm, etas) == (0.0, 0.0)


def test_validation():
    with pytest.raises(ValueError, match="must not be empty"):
        rd.second_moment([])
    with pytest.raises(ValueError, match="finite"):
        rd.fourth_moment([1.0, np.nan])
    with pytest.raises(TypeError):
        rd.second_moment("abc")
    with pytest.raises(ValueError, match="t="):
        rd.paley_zygmund(-1.0, [1.0])
    with pytest.raises(ValueError, match="all be zero"):
        rd.paley_zygmund(0.1, [0.0, 0.0])
    with pytest.raises(ValueError, match="n="):
        rd.atom_bound(-1)
    with pytest.raises(ValueError, match="<= 24"):
        rd.enumerate_law(np.ones(25))
    with pytest.raises(ValueError, match="exactly one"):
        valley.series_weights([0.1], s=1.0, sigma=1.0)
    with pytest.raises(ValueError, match="s="):
        valley.series_weights([0.1], s=-1.0)
    with pytest.raises(ValueError, match="etas=.* must be > 0"):
        valley.series_weights([0.1, 0.0], s=1.0)
    with pytest.raises(ValueError, match=r"\|x0\| < r"):
        valley.law_exit_bounds(1.0, 1.0, [0.1], [0.1])
    with pytest.raises(ValueError, match=r"\(0, 1\]"):
        valley.law_exit_bounds(1.0, 0.0, [0.1], [1.5])
    with pytest.raises(ValueError, match="tol="):
        rd.inversion_cutoff([1.0, 0.5], tol=2.0)
    with pytest.raises(ValueError, match="cutoff="):
        rd.abs_tail(0.1, [1.0, 0.5], cutoff=-1.0)


def test_inversion_fails_fast_when_the_bound_stalls():
    """Geometric weights 0.9^j: |φ|'s bound tends to exp(−π²/(8·0.19)) ≈ 1.5e-3 and never reaches tol."""
    import time

    weights = 0.9 ** np.arange(1500)
    t = time.perf_counter()
    with pytest.raises(ValueError, match="at most max_points=2000000 grid points"):
        rd.abs_tail(0.5, weights)
    assert time.perf_counter() - t < 30
