"""Proposition 3.8 (the fourth-moment exit bound) in lojasgd.theory: closed forms, the cases it
recovers, monotonicity, the one-step inequality exactly, a seeded Monte Carlo, bad input."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import sympy as sp

from lojasgd import stats, theory
from lojasgd.theory import path_rms_bound, second_moment_exit_bound

# The 1-d example used throughout: F(x) = x²/2, g(x; ξ) = x(1 + sξ), ξ = ±1 equally likely.
# Then ∇F = x, α = Λ = 2, L = 1 on U = R, E|g − ∇F|² = s²x² = 2s²F (σ = 2s²) and
# E|g|⁴ = x⁴(1 + 6s² + s⁴) = 4(1 + 6s² + s⁴)F² (μ₄ = 4(1 + 6s² + s⁴)).


def multiplicative(s: float) -> dict:
    return dict(alpha=2.0, L=1.0, sigma=2 * s**2, Lambda=2.0, mu4=4 * (1 + 6 * s**2 + s**4))


# ---------------------------------------------------------------- closed forms


def _qhat_sym(e, a, L, s, Lam, mu4, eps):
    def bracket(gam):
        D = gam * (1 - L * e / 2) - L * e * s / 2
        return 1 - 2 * e * D + (1 + eps) * e**2 * gam * (gam + s)

    return sp.Max(bracket(a), bracket(Lam)) + (1 + 1 / eps) * L**2 * e**4 * mu4 / 4


@pytest.mark.parametrize(
    "e,a,L,s,Lam,mu4,eps",
    [
        (sp.Rational(1, 100), 2, 1, 8, 2, 100, sp.Rational(1, 10)),
        (sp.Rational(1, 50), sp.Rational(5, 2), 4, 16, 6, 700, sp.Rational(1, 3)),
        (sp.Rational(1, 20), 1, 2, 0, 3, 9, 2),
    ],
)
def test_squared_loss_contraction_matches_sympy(e, a, L, s, Lam, mu4, eps):
    exact = _qhat_sym(e, a, L, s, Lam, mu4, eps)
    got = theory.squared_loss_contraction(*(float(v) for v in (e, a, L, s, Lam, mu4)), eps=float(eps))
    assert got == pytest.approx(float(exact), rel=1e-13)
    # the default ε is the best of its candidates, hence no worse than any fixed ε tried here
    best = theory.squared_loss_contraction(*(float(v) for v in (e, a, L, s, Lam, mu4)))
    for trial in (0.01, 0.1, 0.5, 1.0, 5.0):
        assert best <= theory.squared_loss_contraction(*(float(v) for v in (e, a, L, s, Lam, mu4)), eps=trial) + 1e-15


def test_path_moment_bound_closed_form_at_p3():
    e, a, L, s, Lam, mu4, F0 = sp.Rational(1, 100), 2, 1, 8, 2, 100, sp.Rational(1, 50)
    q = 1 - e * a + L * e**2 * (a + s) / 2
    qhat = sp.nsimplify(theory.squared_loss_contraction(0.01, 2.0, 1.0, 8.0, 2.0, 100.0))
    p = 3
    rho = (q ** (4 - p) * qhat ** (p - 2)) ** sp.Rational(1, 2 * p)
    M = ((Lam + s) ** sp.Rational(4 - p, 2) * mu4 ** sp.Rational(p - 2, 2)) ** sp.Rational(1, p)
    exact = e * M * sp.sqrt(F0) / (1 - rho)
    got = theory.path_moment_bound(0.02, 3.0, 0.01, 2.0, 1.0, 8.0, 2.0, 100.0)
    assert got == pytest.approx(float(exact), rel=1e-10)


def test_exit_bound_at_a_chosen_point_is_the_p4_term():
    # flat valley of chapter 6 (σ = 8, r = 1) at η = 0.01, F0 = 0.02: the minimum over p sits at p = 4
    args = dict(eta=0.01, alpha=2.0, L=1.0, sigma=8.0, Lambda=2.0, mu4=100.0)
    qhat = theory.squared_loss_contraction(**args)
    expected = (0.01 * 100.0**0.25 * math.sqrt(0.02) / (1 - qhat**0.25)) ** 4
    assert theory.fourth_moment_exit_bound(0.02, 1.0, **args) == pytest.approx(expected, rel=1e-12)
    assert expected < 0.06 < 0.45 < theory.markov_exit_bound(0.02, 1.0, 0.01, 2.0, 1.0, 8.0)


# ---------------------------------------------------------------- what it recovers


def test_p2_is_proposition_3_7():
    for F0, eta, alpha, L, sigma, Lam in [(0.02, 0.01, 2.0, 1.0, 8.0, 2.0), (1e-3, 0.02, 2.5, 3.6, 16.0, 6.0)]:
        mu4 = (Lam + sigma) ** 2 + 2 * sigma * Lam
        assert theory.path_moment_bound(F0, 2.0, eta, alpha, L, sigma, Lam, mu4) == pytest.approx(
            path_rms_bound(F0, eta, alpha, L, sigma, Lam), rel=1e-13
        )


def test_markov_and_chebyshev_recovered_where_better():
    # chapter 3's valley step η* = 0.2: q̂ > 1, so no p > 2 helps and the result is min(Thm 3.1(2), Prop 3.7)
    eta = theory.optimal_step(2.0, 1.0, 8.0)
    assert theory.squared_loss_contraction(eta, 2.0, 1.0, 8.0, 2.0, 100.0) > 1
    F0 = np.geomspace(1e-4, 0.5, 30)
    got = theory.fourth_moment_exit_bound(F0, 1.0, eta, 2.0, 1.0, 8.0, 2.0, 100.0)
    markov = theory.markov_exit_bound(F0, 1.0, eta, 2.0, 1.0, 8.0)
    cheb = second_moment_exit_bound(F0, 1.0, eta, 2.0, 1.0, 8.0, 2.0)
    np.testing.assert_allclose(got, np.minimum(markov, cheb), rtol=1e-12)
    # and where Theorem 3.1(2) is the smallest (large F0 with Λ ≫ α), it is returned exactly
    F0, r, eta, alpha, L, sigma, Lam = 0.05, 1.0, 0.02, 1.0, 1.0, 0.0, 30.0
    mu4 = Lam**2
    assert theory.fourth_moment_exit_bound(F0, r, eta, alpha, L, sigma, Lam, mu4) == pytest.approx(
        theory.markov_exit_bound(F0, r, eta, alpha, L, sigma), rel=1e-14
    )


@pytest.mark.parametrize("s,eta", [(1.0, 0.05), (2.0, 0.02), (3.0, 0.05)])
def test_never_above_the_older_bounds(s, eta):
    c = multiplicative(s)
    F0 = np.geomspace(1e-6, 1.0, 40)
    for r in (0.1, 1.0, 3.0):
        new = theory.fourth_moment_exit_bound(F0, r, eta, **c)
        old = np.minimum(
            theory.markov_exit_bound(F0, r, eta, c["alpha"], c["L"], c["sigma"]),
            second_moment_exit_bound(F0, r, eta, c["alpha"], c["L"], c["sigma"], c["Lambda"]),
        )
        assert np.all(new <= old * (1 + 1e-12)) and np.all((0 <= new) & (new <= 1))


def test_order_F0_squared_as_F0_to_0():
    c = multiplicative(2.0)
    eta = 0.02
    assert theory.squared_loss_contraction(eta, **c) < 1
    b1, b2 = (theory.fourth_moment_exit_bound(F, 1.0, eta, **c) for F in (1e-6, 1e-8))
    assert b1 / b2 == pytest.approx(1e4, rel=1e-9)  # exactly the p = 4 term: (·)^4 ∝ F0²


def test_monotone_in_F0_r_and_eta():
    c = multiplicative(2.0)
    F0 = np.geomspace(1e-6, 1.0, 60)
    b = theory.fourth_moment_exit_bound(F0, 1.0, 0.02, **c)
    assert np.all(np.diff(b) >= -1e-15)
    r = np.geomspace(0.01, 10, 60)
    b = theory.fourth_moment_exit_bound(1e-3, r, 0.02, **c)
    assert np.all(np.diff(b) <= 1e-15)
    etas = np.linspace(0.001, 0.15, 60)
    pm = theory.path_moment_bound(1e-3, 4.0, etas, **c)
    finite = np.isfinite(pm)
    assert finite[:20].all() and np.all(np.diff(pm[finite]) >= 0)  # larger steps, longer guaranteed path


def test_zero_loss_and_vectorised():
    c = multiplicative(1.0)
    assert theory.path_moment_bound(0.0, 3.0, 0.02, **c) == 0.0
    assert theory.fourth_moment_exit_bound(0.0, 1.0, 0.02, **c) == 0.0
    F0 = np.array([1e-4, 1e-3, 1e-2])
    vec = theory.fourth_moment_exit_bound(F0, 1.0, 0.02, **c)
    assert vec.shape == (3,)
    for v, f in zip(vec, F0):
        assert v == pytest.approx(theory.fourth_moment_exit_bound(float(f), 1.0, 0.02, **c), rel=1e-14)


# ---------------------------------------------------------------- the one-step inequality, exactly


@pytest.mark.parametrize("s", [0.0, 0.5, 1.0, 2.0, 3.0])
def test_one_step_fourth_moment_inequality_exactly(s):
    # E F(x − ηg)² / F(x)² = E(1 − η − ηsξ)⁴ for ξ = ±1, the same at every x ≠ 0
    c = multiplicative(s)
    eta_max = theory.step_size_limit(c["alpha"], c["L"], c["sigma"])
    for eta in np.linspace(0.01, 0.99, 25) * eta_max:
        exact = 0.5 * ((1 - eta - eta * s) ** 4 + (1 - eta + eta * s) ** 4)
        assert exact <= theory.squared_loss_contraction(eta, **c) * (1 + 1e-12)


def test_one_step_inequality_on_a_two_dimensional_quadratic():
    # F(x, y) = (x² + 4y²)/2: ∇F = (x, 4y), L = 4, |∇F|²/F between α = 2 and Λ = 8;
    # noise √(σF) ξ with ξ = (±1, ±1)/√2: E|g|⁴ = F²((γ+σ)² + 2σγ) when E ξξᵀ = I/2
    sigma, L = 3.0, 4.0
    rng = np.random.default_rng(5)
    pts = rng.normal(size=(400, 2))
    F = (pts[:, 0] ** 2 + 4 * pts[:, 1] ** 2) / 2
    grad = pts * np.array([1.0, 4.0])
    gam = (grad**2).sum(1) / F
    mu4 = float(((8 + sigma) ** 2 + 2 * sigma * 8))
    dirs = np.array(list(itertools.product([-1.0, 1.0], repeat=2))) / math.sqrt(2)
    for eta in np.linspace(0.01, 0.99, 12) * theory.step_size_limit(2.0, L, sigma):
        nxt = pts[:, None, :] - eta * (grad[:, None, :] + np.sqrt(sigma * F)[:, None, None] * dirs[None])
        Fn = (nxt[..., 0] ** 2 + 4 * nxt[..., 1] ** 2) / 2
        g = grad[:, None, :] + np.sqrt(sigma * F)[:, None, None] * dirs[None]
        assert np.all(((g**2).sum(-1) ** 2).mean(1) <= F**2 * ((gam + sigma) ** 2 + 2 * sigma * gam) * (1 + 1e-12))
        ratio = (Fn**2).mean(1) / F**2
        assert np.all(ratio <= theory.squared_loss_contraction(eta, 2.0, L, sigma, 8.0, mu4) * (1 + 1e-12))


# ---------------------------------------------------------------- seeded Monte Carlo


def _simulate(x0, r, eta, s, n, steps, seed):
    rng = np.random.default_rng(seed)
    x = np.full(n, x0)
    left = np.zeros(n, bool)
    path = np.zeros(n)
    for _ in range(steps):
        nxt = x * (1 - eta - eta * s * rng.choice([-1.0, 1.0], n))
        path += np.where(left, 0.0, np.abs(nxt - x))
        left |= np.abs(nxt - x0) > r
        x = np.where(left, x, nxt)
    return left, path


@pytest.mark.parametrize("s,eta,x0,r", [(3.0, 0.05, 0.1, 0.5), (2.5, 0.04, 0.1, 0.4), (3.0, 0.08, 0.1, 0.6)])
def test_monte_carlo_never_contradicts_the_bound(s, eta, x0, r):
    c = multiplicative(s)
    F0 = x0**2 / 2
    n = 20_000
    left, path = _simulate(x0, r, eta, s, n, steps=800, seed=3)
    bound = theory.fourth_moment_exit_bound(F0, r, eta, **c)
    assert bound < 1
    assert stats.clopper_pearson(int(left.sum()), n, level=0.999).low <= bound
    moment = theory.path_moment_bound(F0, 4.0, eta, **c)
    if np.isfinite(moment):  # the fourth moment of the path itself, 3 standard errors above its mean
        p4 = path**4
        assert p4.mean() - 3 * p4.std() / math.sqrt(n) <= moment**4


# ---------------------------------------------------------------- bad input


GOOD = dict(F0=0.01, r=1.0, eta=0.02, alpha=2.0, L=1.0, sigma=8.0, Lambda=2.0, mu4=100.0)


@pytest.mark.parametrize(
    "name,value,exc,match",
    [
        ("F0", -1e-3, ValueError, "F0=.*>= 0"),
        ("F0", float("nan"), ValueError, "F0=nan must be finite"),
        ("r", 0.0, ValueError, "r=0 must be > 0"),
        ("r", math.inf, ValueError, "r=inf must be finite"),
        ("eta", True, TypeError, "eta=True must be a real number, not a bool"),
        ("eta", 0.5, ValueError, "eta=0.5 must be below eta_max"),
        ("eta", -0.01, ValueError, "eta=-0.01 must be > 0"),
        ("alpha", 0.0, ValueError, "alpha=0 must be > 0"),
        ("sigma", -1.0, ValueError, "sigma=-1 must be >= 0"),
        ("Lambda", 1.0, ValueError, "Lambda=1 must be >= alpha=2"),
        ("mu4", 3.0, ValueError, r"mu4=3 must be >= Lambda\^2=4"),
        ("mu4", "100", TypeError, "mu4='100' must be a real number, not a string"),
    ],
)
def test_bad_input_refused(name, value, exc, match):
    kwargs = dict(GOOD, **{name: value})
    with pytest.raises(exc, match=match):
        theory.fourth_moment_exit_bound(**kwargs)


def test_bad_p_eps_and_grid_refused():
    kw = {k: v for k, v in GOOD.items() if k != "r"}
    with pytest.raises(ValueError, match=r"p=1\.5 must satisfy 2 <= p <= 4"):
        theory.path_moment_bound(p=1.5, **kw)
    with pytest.raises(ValueError, match=r"p=5 must satisfy 2 <= p <= 4"):
        theory.path_moment_bound(p=5.0, **kw)
    with pytest.raises(TypeError, match="p=False must be a real number, not a bool"):
        theory.path_moment_bound(p=False, **kw)
    kq = {k: v for k, v in kw.items() if k != "F0"}
    with pytest.raises(ValueError, match="eps=0 must be > 0"):
        theory.squared_loss_contraction(eps=0.0, **kq)
    with pytest.raises(ValueError, match="n_grid=1 must be an integer >= 2"):
        theory.fourth_moment_exit_bound(n_grid=1, **GOOD)
    with pytest.raises(TypeError, match="n_grid=True must be an integer, not a bool"):
        theory.fourth_moment_exit_bound(n_grid=True, **GOOD)
