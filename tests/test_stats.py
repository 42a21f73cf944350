"""Binomial intervals against their closed forms."""

from __future__ import annotations

import math

import pytest
from scipy import stats as sps

from lojasgd.stats import clopper_pearson, consistent_with_lower_bound, consistent_with_upper_bound, wilson


@pytest.mark.parametrize("k,n", [(0, 10), (3, 10), (10, 10), (57, 10_000), (5000, 10_000)])
def test_wilson_matches_the_score_formula(k, n):
    z = sps.norm.ppf(0.975)
    p = k / n
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z / (1 + z**2 / n) * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    iv = wilson(k, n)
    assert iv.low == pytest.approx(max(0.0, centre - half), abs=1e-12)
    assert iv.high == pytest.approx(min(1.0, centre + half), abs=1e-12)
    assert iv.low <= iv.estimate <= iv.high and iv.estimate == p


@pytest.mark.parametrize("k,n", [(1, 10), (3, 10), (57, 10_000)])
def test_clopper_pearson_matches_beta_quantiles(k, n):
    iv = clopper_pearson(k, n, level=0.9)
    assert iv.low == pytest.approx(sps.beta.ppf(0.05, k, n - k + 1), rel=1e-9)
    assert iv.high == pytest.approx(sps.beta.ppf(0.95, k + 1, n - k), rel=1e-9)


def test_exact_interval_is_wider_and_edges():
    w, cp = wilson(3, 40), clopper_pearson(3, 40)
    assert cp.low <= w.low and cp.high >= w.high
    assert clopper_pearson(0, 40).low == 0.0 and clopper_pearson(40, 40).high == 1.0
    assert 0.5 in wilson(50, 100) and wilson(50, 100).half_width == pytest.approx((wilson(50, 100).high - wilson(50, 100).low) / 2)
    assert "3/40" in str(w)


def test_consistency_helpers():
    iv = wilson(10, 100)  # about [0.055, 0.174]
    assert consistent_with_upper_bound(iv, 0.06) and not consistent_with_upper_bound(iv, 0.05)
    assert consistent_with_lower_bound(iv, 0.17) and not consistent_with_lower_bound(iv, 0.2)


@pytest.mark.parametrize(
    "args,exc,match",
    [
        ((5, 0), ValueError, "n=0 must be an integer >= 1"),
        ((11, 10), ValueError, "k=11 must satisfy 0 <= k <= n=10"),
        ((-1, 10), ValueError, "k=-1"),
        ((1.5, 10), TypeError, "k=1.5 must be an integer"),
        ((1, 10, 1.0), ValueError, r"level=1 must lie in \(0, 1\)"),
    ],
)
def test_errors(args, exc, match):
    with pytest.raises(exc, match=match):
        wilson(*args)
