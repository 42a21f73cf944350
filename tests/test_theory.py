"""lojasgd.theory against its formulas, sympy, and its own error contract."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from lojasgd import theory
from lojasgd.examples import valley

# ---------------------------------------------------------------- symbolic reference
a, Ls, s, e, F0s, rs = sp.symbols("alpha L sigma eta F0 r", positive=True)
Q = 1 - e * a + Ls * e**2 / 2 * (a + s)
K = 2 * sp.sqrt(a + s) / (a - Ls * e * (a + s) / 2)
ETA_MAX = 2 * a / (Ls * (a + s))

POINTS = [
    (sp.Rational(1), sp.Rational(1), sp.Rational(0)),
    (sp.Rational(2), sp.Rational(3), sp.Rational(1, 2)),
    (sp.Rational(1, 5), sp.Rational(7), sp.Rational(4)),
    (sp.Rational(9), sp.Rational(2), sp.Rational(30)),
]


@pytest.mark.parametrize("alpha,L,sigma", POINTS)
def test_constants_match_sympy(alpha, L, sigma):
    sub = {a: alpha, Ls: L, s: sigma}
    eta_max = ETA_MAX.subs(sub)
    assert theory.step_size_limit(float(alpha), float(L), float(sigma)) == pytest.approx(float(eta_max), rel=1e-14)
    eta_star = sp.solve(sp.diff(Q.subs(sub), e), e)[0]
    assert theory.optimal_step(float(alpha), float(L), float(sigma)) == pytest.approx(float(eta_star), rel=1e-14)
    for frac in (sp.Rational(1, 7), sp.Rational(1, 2), sp.Rational(9, 10)):
        eta = frac * eta_max
        assert theory.contraction_factor(float(eta), float(alpha), float(L), float(sigma)) == pytest.approx(
            float(Q.subs(sub).subs(e, eta)), rel=1e-13
        )
        assert theory.path_constant(float(eta), float(alpha), float(L), float(sigma)) == pytest.approx(
            float(K.subs(sub).subs(e, eta)), rel=1e-13
        )


def test_closed_forms_at_optimal_step_symbolically():
    eta_star = a / (Ls * (a + s))
    assert sp.simplify(Q.subs(e, eta_star) - (1 - a**2 / (2 * Ls * (a + s)))) == 0
    assert sp.simplify(K.subs(e, eta_star) - 4 * sp.sqrt(a + s) / a) == 0
    assert sp.simplify(sp.limit(K, e, 0) - 2 * sp.sqrt(a + s) / a) == 0
    # q(η) < 1  ⇔  η < η_max: q − 1 = η(Lη(α+σ)/2 − α) vanishes exactly at 0 and η_max
    assert set(sp.solve(sp.Eq(Q, 1), e)) == {sp.simplify(ETA_MAX)}


@pytest.mark.parametrize("alpha,L,sigma", [(1.0, 1.0, 0.0), (2.0, 3.0, 0.5), (0.2, 7.0, 4.0)])
def test_optimal_step_closed_forms_numerically(alpha, L, sigma):
    eta = theory.optimal_step(alpha, L, sigma)
    assert eta == pytest.approx(theory.step_size_limit(alpha, L, sigma) / 2, rel=1e-15)
    assert theory.contraction_factor(eta, alpha, L, sigma) == pytest.approx(1 - alpha**2 / (2 * L * (alpha + sigma)))
    assert theory.path_constant(eta, alpha, L, sigma) == pytest.approx(4 * math.sqrt(alpha + sigma) / alpha)


def test_exit_bound_is_capped_and_vectorised():
    alpha, L, sigma, r = 2.0, 1.0, 1.0, 0.5
    eta = 0.1
    Kv = theory.path_constant(eta, alpha, L, sigma)
    F0 = np.array([0.0, 1e-4, 1e-2, 10.0])
    got = theory.markov_exit_bound(F0, r, eta, alpha, L, sigma)
    np.testing.assert_allclose(got, np.minimum(1, Kv * np.sqrt(F0) / r), rtol=1e-14)
    assert got[0] == 0.0 and got[-1] == 1.0
    assert isinstance(theory.markov_exit_bound(1e-4, r, eta, alpha, L, sigma), float)


def test_chatterjee_and_gd_conditions():
    assert theory.chatterjee_condition(0.1, 1.0, 0.5)  # 0.4 < 0.5
    assert not theory.chatterjee_condition(0.125, 1.0, 0.5)  # equality is not enough
    assert theory.chatterjee_condition(5.0, 1.0, math.inf)
    # Corollary 3.5: with σ = 0, K(η)√F0 < r ⇔ 4F0 < (1 − Lη/2)² r² α
    for F0, r, eta, alpha, L in [(0.01, 0.5, 0.3, 1.0, 2.0), (0.2, 0.5, 0.3, 1.0, 2.0), (1e-3, 0.1, 0.05, 3.0, 10.0)]:
        lhs = theory.path_constant(eta, alpha, L, 0.0) * math.sqrt(F0) < r
        assert lhs == theory.gd_condition(F0, r, eta, alpha, L)


def test_gd_condition_symbolic_equivalence():
    # K(η)√F0 < r with σ = 0  ⇔  4F0 < (1 − Lη/2)² r² α   (both sides positive)
    K0 = K.subs(s, 0)
    expr = sp.simplify(rs**2 / K0**2 - (1 - Ls * e / 2) ** 2 * rs**2 * a / 4)
    assert expr == 0


def test_bounded_noise_bound_formula_and_fourth_moment():
    etas = np.array([0.5, 0.3, 0.2, 0.1])
    s_ = 0.7
    # exact fourth moment of Σ s η_j ξ_j by enumerating all sign patterns
    w = s_ * etas
    sums = np.array([np.dot(w, sg) for sg in itertools.product([-1, 1], repeat=len(w))])
    v = float(np.mean(sums**2))
    m4 = float(np.mean(sums**4))
    assert v == pytest.approx(valley.bounded_noise_variance(s_, etas), rel=1e-13)
    assert m4 == pytest.approx(3 * v**2 - 2 * s_**4 * np.sum(etas**4), rel=1e-13)
    r = 0.2
    expected = (1 - r**2 / v) ** 2 * v**2 / m4
    assert valley.paley_zygmund_exit_bound(r, s_, etas) == pytest.approx(expected, rel=1e-13)
    assert expected >= (1 - r**2 / v) ** 2 / 3
    # and it is a true lower bound for P(|S| > r) here
    assert np.mean(np.abs(sums) > r) >= expected
    assert valley.paley_zygmund_exit_bound(math.sqrt(v) * (1 + 1e-12), s_, etas) == 0.0
    assert valley.paley_zygmund_exit_bound(10.0, s_, etas) == 0.0


# ---------------------------------------------------------------- error contract
@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: theory.step_size_limit(0.0, 1.0, 1.0), "alpha=0 must be > 0"),
        (lambda: theory.step_size_limit(-1.0, 1.0, 1.0), "alpha"),
        (lambda: theory.step_size_limit(1.0, 0.0, 1.0), "L=0 must be > 0"),
        (lambda: theory.step_size_limit(1.0, 1.0, -0.1), "sigma=-0.1 must be >= 0"),
        (lambda: theory.step_size_limit(math.nan, 1.0, 1.0), "alpha=nan must be finite"),
        (lambda: theory.step_size_limit(1.0, math.inf, 1.0), "L=inf must be finite"),
        (lambda: theory.contraction_factor(0.0, 1.0, 1.0, 1.0), "eta=0 must be > 0"),
        (lambda: theory.contraction_factor(1.0, 1.0, 1.0, 1.0), r"eta=1 must be below eta_max=1 = 2\*alpha/\(L\*\(alpha\+sigma\)\)"),
        (lambda: theory.path_constant(0.3, 1.0, 1.0, 10.0), "must be below eta_max=0.181818"),
        (lambda: theory.markov_exit_bound(-1.0, 1.0, 0.1, 1.0, 1.0, 1.0), "F0=-1 must be >= 0"),
        (lambda: theory.markov_exit_bound(1.0, 0.0, 0.1, 1.0, 1.0, 1.0), "r=0 must be > 0"),
        (lambda: theory.chatterjee_condition(1.0, -1.0, 1.0), "r=-1 must be > 0"),
        (lambda: valley.paley_zygmund_exit_bound(1.0, 0.0, [0.1]), "s=0 must be > 0"),
        (lambda: valley.paley_zygmund_exit_bound(1.0, 1.0, []), "etas must not be empty"),
        (lambda: valley.paley_zygmund_exit_bound(1.0, 1.0, [0.1, -0.1]), "etas=.* must be > 0"),
        (lambda: valley.paley_zygmund_exit_bound(1.0, 1.0, [0.1, math.nan]), "etas=.* must be finite"),
    ],
)
def test_errors_name_the_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_type_errors():
    with pytest.raises(TypeError, match="alpha"):
        theory.step_size_limit("1", 1.0, 1.0)
    with pytest.raises(TypeError, match="must be a real number, not a bool"):
        theory.step_size_limit(True, 1.0, 1.0)


# ---------------------------------------------------------------- properties
positive = st.floats(min_value=1e-3, max_value=1e3, allow_nan=False, allow_infinity=False)
nonneg = st.floats(min_value=0.0, max_value=1e3, allow_nan=False, allow_infinity=False)
fraction = st.floats(min_value=1e-3, max_value=0.999)


@settings(max_examples=200, deadline=None)
@given(positive, positive, nonneg, fraction, fraction)
def test_K_increases_and_q_is_below_one(alpha, L, sigma, f1, f2):
    eta_max = theory.step_size_limit(alpha, L, sigma)
    lo, hi = sorted((f1 * eta_max, f2 * eta_max))
    if hi <= lo * (1 + 1e-9):
        return
    assert theory.path_constant(lo, alpha, L, sigma) <= theory.path_constant(hi, alpha, L, sigma)
    assert theory.path_constant(lo, alpha, L, sigma) >= 2 * math.sqrt(alpha + sigma) / alpha * (1 - 1e-12)
    q = theory.contraction_factor(lo, alpha, L, sigma)
    assert q < 1
    assert q >= theory.contraction_factor(theory.optimal_step(alpha, L, sigma), alpha, L, sigma) - 1e-12


@settings(max_examples=200, deadline=None)
@given(positive, positive, nonneg, nonneg)
def test_eta_max_decreases_in_sigma_and_L(alpha, L, s1, s2):
    lo, hi = sorted((s1, s2))
    assert theory.step_size_limit(alpha, L, hi) <= theory.step_size_limit(alpha, L, lo)
    assert theory.step_size_limit(alpha, 2 * L, lo) == pytest.approx(theory.step_size_limit(alpha, L, lo) / 2)


@settings(max_examples=200, deadline=None)
@given(positive, positive, st.floats(min_value=1e-4, max_value=1e2), st.floats(min_value=1e-3, max_value=10))
def test_small_noise_small_step_limit_is_chatterjee(alpha, L, F0, r):
    """As σ → 0 and η → 0, K(η)√F0/r < 1 becomes 4F0 < r²α (away from the boundary case)."""
    margin = 4 * F0 / (r**2 * alpha)
    if abs(margin - 1) < 1e-2:
        return
    sigma = 1e-12 * alpha
    eta = 1e-10 * theory.step_size_limit(alpha, L, sigma)
    K = theory.path_constant(eta, alpha, L, sigma)
    assert (K * math.sqrt(F0) / r < 1) == theory.chatterjee_condition(F0, r, alpha)
    assert K == pytest.approx(2 / math.sqrt(alpha), rel=1e-6)
