"""The counter-based stream: numba and torch give the same bits, draws depend only on (seed, m, k, j), laws."""

from __future__ import annotations

import math
import os
import tempfile

os.environ.setdefault("NUMBA_CACHE_DIR", os.path.join(tempfile.gettempdir(), "lojasgd-numba-cache"))

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from scipy import stats as sps  # noqa: E402

from lojasgd.kernels import stream as S  # noqa: E402

SEED = 20260  # every check below uses fixed seeds: the statistical ones can fail, but reproducibly
P_FLOOR = 1e-6  # a p-value below this fails a statistical check (a true stream fails one in a million)


def _m(M: int, start: int = 0) -> np.ndarray:
    return np.arange(start, start + M, dtype=np.int64)


# ---------------------------------------------------------------------------- the same bits
def test_words_match_an_independent_python_implementation():
    """w = μ(A_m ⊕ C_{k,j}) computed with Python ints equals the numba and torch words."""
    a, b = S.seed_keys(SEED)
    m, k = _m(5, 1000), 123
    got = S.words(SEED, m, k, count=3, j0=2)
    got_t = S.torch_words(SEED, torch.from_numpy(m), k, count=3, j0=2).numpy()
    for i, mi in enumerate(m):
        A = S.py_mix(a + int(mi) * S.GAMMA)
        for j in range(3):
            want = S.py_mix(A ^ S.step_key(b, k, 2 + j))
            assert int(got[i, j]) == want
            assert int(got_t[i, j]) & (2**64 - 1) == want


@pytest.mark.parametrize("k", [0, 1, 7, 2**40 + 3])
def test_numba_and_torch_give_the_same_bits(k):
    m = _m(300, 5)
    mt = torch.from_numpy(m)
    np.testing.assert_array_equal(S.words(SEED, m, k, 4).view(np.int64), S.torch_words(SEED, mt, k, 4).numpy())
    np.testing.assert_array_equal(S.rademacher(SEED, m, k, 130), S.torch_rademacher(SEED, mt, k, 130).numpy())
    np.testing.assert_array_equal(S.uniforms(SEED, m, k, 9), S.torch_uniforms(SEED, mt, k, 9).numpy())
    np.testing.assert_array_equal(S.integers(SEED, m, k, 6, 17), S.torch_integers(SEED, mt, k, 6, 17).numpy())
    np.testing.assert_array_equal(S.without_replacement(SEED, m, k, 5, 12),
                                  S.torch_without_replacement(SEED, mt, k, 5, 12).numpy())
    for d in ("rademacher", [0.6, 0.0, 0.8]):
        np.testing.assert_array_equal(S.directions(d, SEED, m, k, 3), S.torch_directions(d, SEED, mt, k, 3).numpy())
    # normals go through log/cos/sin of two different libraries: equal to a few ulps
    for d in ("sphere", "gaussian"):
        np.testing.assert_allclose(S.directions(d, SEED, m, k, 5), S.torch_directions(d, SEED, mt, k, 5).numpy(),
                                   rtol=4e-16 * 8, atol=1e-300)
    z, zt = S.normals(SEED, m, k, 5), S.torch_normals(SEED, mt, k, 5).numpy()
    assert np.max(np.abs(z - zt) / np.spacing(np.abs(z))) <= 8


@pytest.mark.parametrize("n", [2, 70])
def test_torch_stream_object_gives_the_same_bits(n):
    m = _m(200, 17)
    ts = S.TorchStream(SEED, torch.from_numpy(m))
    for k in (0, 5):
        for d in ("rademacher", "sphere", "gaussian", np.eye(n)[1]):
            np.testing.assert_array_equal(ts.directions(d, k, n).numpy(),
                                          S.torch_directions(d, SEED, torch.from_numpy(m), k, n).numpy())
        np.testing.assert_array_equal(ts.directions("rademacher", k, n).numpy(), S.directions("rademacher", SEED, m, k, n))
        np.testing.assert_array_equal(ts.words(k, 3, j0=4).numpy(), S.words(SEED, m, k, 3, j0=4).view(np.int64))
        np.testing.assert_array_equal(ts.words(k).numpy(), S.words(SEED, m, k).view(np.int64))
        np.testing.assert_array_equal(ts.integers(k, 4, 9).numpy(), S.integers(SEED, m, k, 4, 9))
        np.testing.assert_array_equal(ts.without_replacement(k, 3, 9).numpy(), S.without_replacement(SEED, m, k, 3, 9))


def test_draws_do_not_depend_on_M_or_on_the_slice():
    """Trajectory m's draws are the same in a run of 10, of 1000, and alone in any slice."""
    k = 41
    full = S.words(SEED, _m(1000), k, 3)
    np.testing.assert_array_equal(S.words(SEED, _m(10), k, 3), full[:10])
    pick = np.array([999, 3, 500], dtype=np.int64)
    np.testing.assert_array_equal(S.words(SEED, pick, k, 3), full[pick])
    t = S.torch_directions("gaussian", SEED, torch.tensor([500, 3]), k, 4)
    np.testing.assert_array_equal(t.numpy(), S.torch_directions("gaussian", SEED, torch.arange(1000), k, 4)[[500, 3]])
    # other seeds, steps and word indices give other words
    assert not np.array_equal(S.words(SEED + 1, _m(10), k, 3), full[:10])
    assert not np.array_equal(S.words(SEED, _m(10), k + 1, 3), full[:10])
    np.testing.assert_array_equal(S.words(SEED, _m(10), k, 2, j0=1), full[:10, 1:])


def test_uniform_and_index_transforms_are_exact():
    w = S.words(SEED, _m(1000), 3, 8)
    u = S.uniforms(SEED, _m(1000), 3, 8)
    np.testing.assert_array_equal(u, ((w >> np.uint64(11)).astype(np.float64) + 0.5) * 2.0**-53)
    assert u.min() > 0 and u.max() < 1
    idx = S.integers(SEED, _m(1000), 3, 8, 10)
    np.testing.assert_array_equal(idx, np.array([[int(x) >> 32 for x in row] for row in w]) * 10 >> 32)


# ---------------------------------------------------------------------------- laws
def test_bits_are_fair_and_independent_across_positions():
    """Each of the 64 bit positions of 20 000 words: Σ z² ~ χ²₆₄ (fails with probability 1e-6)."""
    w = S.words(SEED, _m(20_000), 5, 1)[:, 0]
    counts = np.array([int(((w >> np.uint64(i)) & np.uint64(1)).sum()) for i in range(64)])
    N = w.size
    chi2 = float((((counts - N / 2) ** 2) / (N / 4)).sum())
    assert chi2 < sps.chi2.ppf(1 - P_FLOOR, df=64)


def test_signs_of_neighbouring_trajectories_and_steps_are_uncorrelated():
    """E[s_{m,k} s_{m+1,k}] = E[s_{m,k} s_{m,k+1}] = 0: both within 5 standard errors over 2·10⁵ pairs."""
    s = np.stack([S.rademacher(SEED, _m(2001), k, 1)[:, 0] for k in range(101)])  # (k, m)
    for prod in (s[:, :-1] * s[:, 1:], s[:-1] * s[1:]):
        assert abs(prod.mean()) < 5 / math.sqrt(prod.size)


def test_uniform_moments_and_bins():
    u = S.uniforms(SEED, _m(50_000), 2, 2).ravel()
    n = u.size
    assert abs(u.mean() - 0.5) < 5 * math.sqrt(1 / 12 / n)
    assert abs(((u - 0.5) ** 2).mean() - 1 / 12) < 5 * math.sqrt((1 / 80 - 1 / 144) / n)
    counts = np.histogram(u, bins=20, range=(0, 1))[0]
    assert sps.chisquare(counts).pvalue > P_FLOOR


def test_normals_have_the_standard_normal_law():
    z = S.normals(SEED, _m(40_000), 9, 3).ravel()  # odd n: the last coordinate uses only the cosine
    n = z.size
    assert abs(z.mean()) < 5 / math.sqrt(n)
    assert abs((z**2).mean() - 1) < 5 * math.sqrt(2 / n)
    assert abs((z**4).mean() - 3) < 5 * math.sqrt(96 / n)  # Var z⁴ = 105 − 9
    assert sps.kstest(z, "norm").pvalue > P_FLOOR
    c = S.normals(SEED, _m(40_000), 9, 2)
    assert abs(np.corrcoef(c[:, 0], c[:, 1])[0, 1]) < 5 / math.sqrt(40_000)


def test_indices_with_and_without_replacement():
    N = 7
    idx = S.integers(SEED, _m(30_000), 4, 3, N)
    assert idx.min() >= 0 and idx.max() < N
    assert sps.chisquare(np.bincount(idx.ravel(), minlength=N)).pvalue > P_FLOOR
    sub = S.without_replacement(SEED, _m(30_000), 4, 3, N)
    assert all(len(set(row)) == 3 for row in sub.tolist())
    # each index is in the subset with probability b/N, and the first pick is uniform
    assert sps.chisquare(np.bincount(sub.ravel(), minlength=N)).pvalue > P_FLOOR
    assert sps.chisquare(np.bincount(sub[:, 0], minlength=N)).pvalue > P_FLOOR
    full = S.without_replacement(SEED, _m(20), 4, N, N)
    np.testing.assert_array_equal(np.sort(full, axis=1), np.tile(np.arange(N), (20, 1)))


@pytest.mark.parametrize("direction", ["rademacher", "sphere", "gaussian", [0.0, 1.0, 0.0]])
def test_directions_have_mean_zero_and_unit_second_moment(direction):
    n, M = 3, 40_000
    xi = S.directions(direction, SEED, _m(M), 11, n)
    sq = (xi**2).sum(-1)
    if direction == "gaussian":  # |ξ|² = χ²₃/3: mean 1, variance 2/3
        assert abs(sq.mean() - 1) < 5 * math.sqrt(2 / 3 / M)
    else:
        np.testing.assert_allclose(sq, 1.0, rtol=1e-15)
    assert np.all(np.abs(xi.mean(0)) < 5 / math.sqrt(M))  # each coordinate has variance ≤ 1
    if direction == "rademacher":
        np.testing.assert_array_equal(np.abs(xi), 1 / math.sqrt(n))
    if isinstance(direction, list):
        np.testing.assert_array_equal(xi[:, [0, 2]], 0.0)
        assert set(np.unique(xi[:, 1])) == {-1.0, 1.0}


# ---------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "call,exc,match",
    [
        (lambda: S.words(True, _m(3), 0), TypeError, "seed=True must be an integer"),
        (lambda: S.words(-1, _m(3), 0), ValueError, r"seed=-1 must lie in \[0, 2\*\*64\)"),
        (lambda: S.words(2**64, _m(3), 0), ValueError, "seed=18446744073709551616 must lie in"),
        (lambda: S.words(1, np.array([0.5, 1.0]), 0), TypeError, "m must be a 1-d array of integers"),
        (lambda: S.words(1, np.zeros((2, 2), dtype=np.int64), 0), TypeError, r"shape \(2, 2\)"),
        (lambda: S.words(1, np.array([-1, 2]), 0), ValueError, r"m=array\(min=-1, max=2\) must lie in"),
        (lambda: S.words(1, _m(3), -2), ValueError, r"k=-2 must be an integer in \[0,"),
        (lambda: S.words(1, _m(3), 1.5), TypeError, "k=1.5 must be an integer"),
        (lambda: S.words(1, _m(3), 0, count=0), ValueError, "count=0 must be an integer in"),
        (lambda: S.integers(1, _m(3), 0, 2, 2**31), ValueError, r"N=2147483648 must be an integer in \[1,"),
        (lambda: S.without_replacement(1, _m(3), 0, 5, 4), ValueError, r"b=5 must be an integer in \[1, 5\)"),
        (lambda: S.directions("uniform", 1, _m(3), 0, 2), ValueError, "direction='uniform' must be one of"),
        (lambda: S.directions([1.0, 1.0], 1, _m(3), 0, 2), ValueError, r"must be a finite unit vector"),
        (lambda: S.directions([1.0, 0.0], 1, _m(3), 0, 3), ValueError, "direction has length 2 but n=3"),
        (lambda: S.torch_words(1, torch.tensor([0.0, 1.0]), 0), TypeError, "m must be a 1-d int64 tensor"),
        (lambda: S.torch_words(1, torch.tensor([-3]), 0), ValueError, r"m=tensor\(min=-3, max=-3\) must lie in"),
    ],
)
def test_bad_input_is_refused_by_name(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
