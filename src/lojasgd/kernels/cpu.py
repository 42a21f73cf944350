r"""Fused multi-step SGD kernels on the CPU (numba, parallel over blocks of trajectories).

:func:`fused_sgd` runs M independent copies of

.. math:: \theta_{k+1} = \theta_k - \eta_{m,k}\, g(\theta_k; \xi_{m,k}),\qquad k = 0, \dots, T-1,

for the closed-form landscapes of the book, with all T steps inside one compiled kernel per
block of trajectories (state in L1), and the noise drawn from the counter-based stream of
:mod:`lojasgd.kernels.stream`, so trajectory m's path depends only on (seed, m).

Landscapes (``landscape=``): ``"hyperbola"`` :math:`F(a,b) = (ab-1)^2/2`, n = 2;
``"flat_valley"`` :math:`F = \theta_1^2/2`, n ≥ 2; ``"plateau_valley"``
:math:`F = x^2/2 + h\,S((|y|-c)/w)`, n = 2, ``params=dict(height=h, edge=c, width=w)``;
``"linear_regression"`` :math:`F = \frac1{2N}\sum_i(x_i\cdot\theta - y_i)^2`, n = d,
``params=dict(X=X, y=y)``.

Noise (``noise=``): ``"ml"`` :math:`g = \nabla F + \sqrt{\sigma\max(F,0)}\,\xi` (Assumption 4,
``scale`` = σ) and ``"bounded"`` :math:`g = \nabla F + s\,\xi` (Theorem 4.1, ``scale`` = s); ξ
of any kind of :func:`lojasgd.kernels.stream.directions`, from the words j = 0, 1, … of step k.

Exit from the closed ball :math:`\bar B(\theta_0, r)`: step k+1 leaves when
:math:`|\theta_{k+1}-\theta_0|^2 > r^2`. Two deliberate departures from
``lojasgd.sgd.simulate`` as it stood: a trajectory whose iterate or loss becomes non-finite is
*diverged* (``diverged`` is True, it counts as exited at that step if it was inside, and it is
frozen there, its ``max_distance`` is +inf), and a frozen trajectory keeps its exit point
exactly (no ``θ − 0·g``, so no inf·0 = NaN).

Records are exact: the number of trajectories inside and the exactly rounded sum of
:math:`F(\theta_k)\mathbf 1\{\tau > k\}` are kept as integers (a fixed-point accumulator of
``NLIMB`` 32-bit limbs covering every float64), so they do not depend on the order of
summation; results are the same bits for any number of threads, any block size and any split
into shards (:func:`merge`).
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numba as nb
import numpy as np

from . import _validate as V
from . import stream as S

__all__ = ["LANDSCAPES", "NOISES", "KernelResult", "fused_sgd", "merge", "shard_slice", "exact_sum", "save_result",
           "load_result"]

LANDSCAPES = ("hyperbola", "flat_valley", "plateau_valley", "linear_regression")
NOISES = ("ml", "bounded")
HYP, FLAT, PLATEAU, LINREG = range(4)
ML, BOUNDED = range(2)

#: limbs of 32 bits of the exact accumulator; value = Σ limb_i 2^(32 i − OFFSET)
NLIMB = 70
OFFSET = 1152
_BIG = 1.7976931348623157e308  # largest finite float64
_MAX_TRAJ = 1 << 30  # bound that keeps the int64 limbs of one call from overflowing
#: compiled kernels are cached on disk only where the user chose a place for numba's cache
#: (NUMBA_CACHE_DIR), never next to the sources; LOJASGD_KERNEL_CACHE=0 turns caching off
_CACHE = "NUMBA_CACHE_DIR" in os.environ and os.environ.get("LOJASGD_KERNEL_CACHE", "1") != "0"
#: a digest of this file and of stream.py, part of every kernel's closure: numba keys its disk
#: cache on the closure's contents, so editing the inlined helpers of stream.py invalidates it
_HERE = Path(__file__).resolve().parent
_SOURCE_TAG = int(hashlib.sha256(b"".join((_HERE / f).read_bytes() for f in ("cpu.py", "stream.py"))).hexdigest()[:15], 16)


# ============================================================== exact accumulation
@nb.njit(inline="always", cache=False)
def _acc_add(acc, x):
    """Add a finite x > 0 exactly to the limbs ``acc`` (int64, length NLIMB)."""
    f, e = math.frexp(x)
    mant = np.int64(f * 9007199254740992.0)  # f·2⁵³, an exact integer < 2⁵³
    pos = e - 53 + OFFSET
    limb = pos >> 5
    sh = pos & 31
    v = (mant & 0xFFFFFFFF) << sh
    acc[limb] += v & 0xFFFFFFFF
    acc[limb + 1] += v >> 32
    v = (mant >> 32) << sh
    acc[limb + 1] += v & 0xFFFFFFFF
    acc[limb + 2] += v >> 32


def _limbs_to_int(limbs: np.ndarray) -> int:
    return sum(int(v) << (32 * i) for i, v in enumerate(limbs.tolist()))


def _int_to_limbs(total: int) -> np.ndarray:
    out = np.zeros(NLIMB, dtype=np.int64)
    for i in range(NLIMB - 1):
        out[i] = total & 0xFFFFFFFF
        total >>= 32
    out[NLIMB - 1] = total
    return out


def _limbs_to_float(limbs: np.ndarray) -> float:
    """The accumulated value, correctly rounded to float64 (Python's int / int is)."""
    return _limbs_to_int(limbs) / (1 << OFFSET)


def exact_sum(values: Sequence[float] | np.ndarray) -> float:
    """The exactly rounded sum of finite values ≥ 0 through the kernels' accumulator (for tests and merging)."""
    vals = V.real("values", values, nonneg=True).ravel()
    acc = np.zeros(NLIMB, dtype=np.int64)
    _acc_many(vals, acc)
    return _limbs_to_float(acc)


@nb.njit(cache=False)
def _acc_many(vals, acc):
    for v in vals:
        if v > 0.0:
            _acc_add(acc, v)


# ============================================================== landscapes (scalar, n = 2)
@nb.njit(inline="always", cache=False)
def _land2(LAND, x, y, P):
    """(F, ∂F/∂θ₁, ∂F/∂θ₂) at (x, y) for the 2-d landscapes (LAND is a compile-time constant)."""
    if LAND == HYP:
        res = x * y - 1.0
        return 0.5 * (res * res), res * y, res * x
    elif LAND == FLAT:
        return 0.5 * (x * x), x, 0.0
    else:  # PLATEAU: P = (h, c, w)
        h, c, w = P[0], P[1], P[2]
        t = (abs(y) - c) / w
        t = 0.0 if t < 0.0 else (1.0 if t > 1.0 else t)  # selects, not min/max calls: keeps the loop vectorised
        s = t * t * t * (10.0 - 15.0 * t + 6.0 * (t * t))
        ds = 30.0 * (t * t) * ((1.0 - t) * (1.0 - t))
        sg = 1.0 if y > 0.0 else (-1.0 if y < 0.0 else 0.0)
        return 0.5 * (x * x) + h * s, x, h * ds * sg / w


# ============================================================== per-trajectory helpers (inlined)

@nb.njit(inline="always", cache=False)
def _land_nd(LAND, st, b, n, X, yv):
    """F at θ = st[:n, b]; writes ∇F into st[2n:3n, b] (flat valley, linear regression)."""
    g = 2 * n
    if LAND == FLAT:
        x = st[0, b]
        st[g, b] = x
        for q in range(1, n):
            st[g + q, b] = 0.0
        return 0.5 * (x * x)
    N = X.shape[0]
    for q in range(n):
        st[g + q, b] = 0.0
    F = 0.0
    for i in range(N):
        r = -yv[i]
        for q in range(n):
            r += X[i, q] * st[q, b]
        F += r * r
        c = r / N
        for q in range(n):
            st[g + q, b] += c * X[i, q]
    return 0.5 * F / N

@nb.njit(inline="always", cache=False)
def _loss_of(TWO_D, LAND, st, b, n, o, P):
    """F(θ) of trajectory b: recomputed in the 2-d kernels, read from its row otherwise."""
    if TWO_D:
        return _land2(LAND, st[0, b], st[1, b], P)[0]
    return st[o - 1, b]

@nb.njit(inline="always", cache=False)
def _book(st, o, b, k, d2, Fn, length, act, stop_on_exit, r2b):
    """Exit, divergence and path bookkeeping of trajectory b after step k (selects only)."""
    bad = not ((d2 <= _BIG) & (abs(Fn) <= _BIG))
    al = st[o + 3, b] > 0.5
    st[o, b] += length if al else 0.0
    st[o + 1, b] += length if act else 0.0
    m2 = st[o + 2, b]
    m2 = d2 if (act & (d2 > m2)) else m2
    st[o + 2, b] = np.inf if (act & bad) else m2
    leaving = al & ((d2 > r2b) | bad)
    st[o + 5, b] = (k + 1.0) if leaving else st[o + 5, b]
    still = al & (not leaving)
    st[o + 3, b] = 1.0 if still else 0.0
    st[o + 4, b] = (1.0 if still else 0.0) if stop_on_exit else (1.0 if (act & (not bad)) else 0.0)


@nb.njit(inline="always", cache=False)
def _book_stop(st, o, b, k, d2, Fn, length, r2b):
    """:func:`_book` when trajectories freeze on exit: active = alive and total = path, so neither row is touched."""
    bad = not ((d2 <= _BIG) & (abs(Fn) <= _BIG))
    al = st[o + 3, b] > 0.5
    st[o, b] += length if al else 0.0
    m2 = st[o + 2, b]
    m2 = d2 if (al & (d2 > m2)) else m2
    st[o + 2, b] = np.inf if (al & bad) else m2
    leaving = al & ((d2 > r2b) | bad)
    st[o + 5, b] = (k + 1.0) if leaving else st[o + 5, b]
    st[o + 3, b] = 1.0 if (al & (not leaving)) else 0.0


@nb.njit(inline="always", cache=False)
def _observe(TWO_D, LAND, k, tid, lo, nbk, n, st, o, P, rec_slot, rec_n, rec_acc, rec_loss, tr_slot, loss_tr,
             theta_tr):
    """Record (count inside, exact Σ F·1{inside}, losses) and trace the block's state after step k."""
    slot = rec_slot[k]
    if slot >= 0:
        cnt = 0
        for b in range(nbk):
            Fb = _loss_of(TWO_D, LAND, st, b, n, o, P)
            inside = st[o + 3, b] > 0.5
            if inside:
                cnt += 1
                if Fb > 0.0:
                    _acc_add(rec_acc[tid, slot], Fb)
            if rec_loss.shape[1] > 0:
                rec_loss[slot, lo + b] = Fb if inside else np.nan
        rec_n[tid, slot] += cnt
    ts = tr_slot[k]
    if ts >= 0:
        for b in range(nbk):
            loss_tr[lo + b, ts] = _loss_of(TWO_D, LAND, st, b, n, o, P)
        if theta_tr.shape[2] > 0:
            for b in range(nbk):
                for q in range(n):
                    theta_tr[lo + b, ts, q] = st[q, b]


# ============================================================== kernel factory
_KERNELS: dict = {}


def _kernel(land: int, noise: int, kind: int, two_d: bool, block: int, shared: bool, stop: bool):
    """The compiled kernel for one (landscape, noise, direction kind, block size, sharing, freezing), memoised."""
    key = (land, noise, kind, two_d, block, shared, stop)
    if key not in _KERNELS:
        _KERNELS[key] = _make_kernel(land, noise, kind, two_d, block, shared, stop)
    return _KERNELS[key]


def _make_kernel(LAND: int, NOISE: int, KIND: int, TWO_D: bool, BLOCK: int, SHARED: bool, STOP: bool):  # noqa
    """Build the kernel with LAND, NOISE, KIND, TWO_D, BLOCK, SHARED and STOP frozen as compile-time constants.

    STOP (2-d kernels): ``stop_on_exit`` is known to be True, so the rows "active" and "total"
    (equal to "alive" and "path") are neither read nor written in the step loop.

    SHARED (2-d kernels): θ₀, η_m, the noise scale and r are the same for every trajectory, so
    the step loop reads them as scalars instead of from their rows (fewer loads per step; the
    same values, so the same bits).

    A block's state lives in one float64 array ``st`` of shape (rows, BLOCK) and one uint64
    array of trajectory keys. Rows: θ (n), θ₀ (n), then (n-d kernels only) ∇F(θ) (n) and F,
    then path, total, max d², alive, active, exit step, η_m, scale, r². The 2-d kernels
    recompute F and ∇F from θ (cheaper than carrying them through memory). The row stride is
    the constant BLOCK, so LLVM sees that rows never overlap and vectorises the step loop over
    the block without runtime alias checks (and the loop calls no ``min``/``max``: LLVM does
    not vectorise those calls).
    """
    RAD, FIX, SPH = S.RADEMACHER, S.FIXED, S.SPHERE
    TWO_PI = 2.0 * math.pi
    SOURCE_TAG = _SOURCE_TAG

    @nb.njit(parallel=True, fastmath=False, cache=_CACHE)
    def kernel(TH, T0, FF, GG, ALIVE, ACTIVE, EXIT, PATH, TOTAL, MAXD2,
               eta_traj, eta_steps, scale, r2, e, P, X, yv,
               a_key, b_key, traj_offset, k0, k1, init, observe_k0, stop_on_exit,
               rec_slot, rec_n, rec_acc, rec_loss, tr_slot, loss_tr, theta_tr):
        _ = SOURCE_TAG  # in the closure, hence in the disk cache's key (see _SOURCE_TAG)
        M, n = TH.shape
        J = S.words_per_step_nb(KIND, n)
        inv = 1.0 / math.sqrt(n)
        o = 4 if TWO_D else 3 * n + 1  # first bookkeeping row (path); F is row o − 1 in n-d kernels
        nblocks = (M + BLOCK - 1) // BLOCK
        for blk in nb.prange(nblocks):
            tid = nb.get_thread_id()
            lo = blk * BLOCK
            nbk = min(M, lo + BLOCK) - lo
            st = np.empty((o + 9, BLOCK))
            A = np.empty(BLOCK, dtype=np.uint64)
            xi = np.empty((n, BLOCK))
            amp = np.empty(BLOCK)
            ck = np.empty(max(J, 2), dtype=np.uint64)
            for b in range(nbk):
                m = lo + b
                for q in range(n):
                    st[q, b] = TH[m, q]
                    st[n + q, b] = T0[m, q]
                if not TWO_D:
                    for q in range(n):
                        st[2 * n + q, b] = GG[m, q]
                    st[o - 1, b] = FF[m]
                st[o, b] = PATH[m]
                st[o + 1, b] = TOTAL[m]
                st[o + 2, b] = MAXD2[m]
                st[o + 3, b] = 1.0 if ALIVE[m] else 0.0
                st[o + 4, b] = 1.0 if ACTIVE[m] else 0.0
                st[o + 5, b] = np.float64(EXIT[m])
                st[o + 6, b] = eta_traj[m]
                st[o + 7, b] = scale[m]
                st[o + 8, b] = r2[m]
                A[b] = S.traj_key(a_key, traj_offset + m)
            if init and not TWO_D:
                for b in range(nbk):
                    st[o - 1, b] = _land_nd(LAND, st, b, n, X, yv)
            if observe_k0:
                _observe(TWO_D, LAND, k0, tid, lo, nbk, n, st, o, P, rec_slot, rec_n, rec_acc, rec_loss, tr_slot,
                         loss_tr, theta_tr)
            for k in range(k0, k1):
                # ---- step k: θ_{k+1} = θ_k − η_{m,k} g(θ_k; ξ_{m,k})
                S.step_keys(b_key, k, ck[:J])
                c0 = ck[0]
                c1 = ck[1] if J > 1 else ck[0]
                eta_k = eta_steps[k]
                if TWO_D:
                    e0 = e[0]
                    e1 = e[1]
                    s_t0x, s_t0y = st[2, 0], st[3, 0]
                    s_eta, s_sc, s_r2 = st[o + 6, 0], st[o + 7, 0], st[o + 8, 0]
                    for b in range(nbk):
                        x = st[0, b]
                        y = st[1, b]
                        Fb, gx, gy = _land2(LAND, x, y, P)
                        if KIND == RAD:
                            w = S.mix(A[b] ^ c0)
                            xi0 = (2.0 * np.float64(w & np.uint64(1)) - 1.0) * inv
                            xi1 = (2.0 * np.float64((w >> np.uint64(1)) & np.uint64(1)) - 1.0) * inv
                        elif KIND == FIX:
                            w = S.mix(A[b] ^ c0)
                            sg = 2.0 * np.float64(w & np.uint64(1)) - 1.0
                            xi0 = sg * e0
                            xi1 = sg * e1
                        else:
                            u1 = S.to_uniform(S.mix(A[b] ^ c0))
                            u2 = S.to_uniform(S.mix(A[b] ^ c1))
                            rad = math.sqrt(-2.0 * math.log(u1))
                            ang = TWO_PI * u2
                            z0 = rad * math.cos(ang)
                            z1 = rad * math.sin(ang)
                            if KIND == SPH:
                                nrm = math.sqrt(z0 * z0 + z1 * z1)
                                xi0 = z0 / nrm
                                xi1 = z1 / nrm
                            else:
                                xi0 = z0 * inv
                                xi1 = z1 * inv
                        scb = s_sc if SHARED else st[o + 7, b]
                        if NOISE == ML:
                            a = math.sqrt(scb * (Fb if Fb > 0.0 else 0.0))
                        else:
                            a = scb
                        g0 = gx + a * xi0
                        g1 = gy + a * xi1
                        eta = (s_eta if SHARED else st[o + 6, b]) * eta_k
                        act = st[o + (3 if STOP else 4), b] > 0.5
                        nx = x - eta * g0 if act else x
                        ny = y - eta * g1 if act else y
                        length = math.sqrt(g0 * g0 + g1 * g1) * eta
                        d0 = nx - (s_t0x if SHARED else st[2, b])
                        d1 = ny - (s_t0y if SHARED else st[3, b])
                        d2 = d0 * d0 + d1 * d1
                        Fn = _land2(LAND, nx, ny, P)[0]
                        st[0, b] = nx
                        st[1, b] = ny
                        r2b = s_r2 if SHARED else st[o + 8, b]
                        if STOP:
                            _book_stop(st, o, b, k, d2, Fn, length, r2b)
                        else:
                            _book(st, o, b, k, d2, Fn, length, act, stop_on_exit, r2b)
                else:
                    # -- directions ξ into xi (n, BLOCK), noise amplitudes into amp
                    for b in range(nbk):
                        if KIND == RAD:
                            for q in range(n):
                                w = S.mix(A[b] ^ ck[q // 64])
                                xi[q, b] = (2.0 * np.float64((w >> np.uint64(q % 64)) & np.uint64(1)) - 1.0) * inv
                        elif KIND == FIX:
                            w = S.mix(A[b] ^ c0)
                            sg = 2.0 * np.float64(w & np.uint64(1)) - 1.0
                            for q in range(n):
                                xi[q, b] = sg * e[q]
                        else:
                            for p in range((n + 1) // 2):
                                u1 = S.to_uniform(S.mix(A[b] ^ ck[2 * p]))
                                u2 = S.to_uniform(S.mix(A[b] ^ ck[2 * p + 1]))
                                rad = math.sqrt(-2.0 * math.log(u1))
                                ang = TWO_PI * u2
                                xi[2 * p, b] = rad * math.cos(ang)
                                if 2 * p + 1 < n:
                                    xi[2 * p + 1, b] = rad * math.sin(ang)
                            if KIND == SPH:
                                s2 = 0.0
                                for q in range(n):
                                    s2 += xi[q, b] * xi[q, b]
                                nrm = math.sqrt(s2)
                                for q in range(n):
                                    xi[q, b] = xi[q, b] / nrm
                            else:
                                for q in range(n):
                                    xi[q, b] = xi[q, b] * inv
                        Fb = st[o - 1, b]
                        if NOISE == ML:
                            amp[b] = math.sqrt(st[o + 7, b] * (Fb if Fb > 0.0 else 0.0))
                        else:
                            amp[b] = st[o + 7, b]
                    for b in range(nbk):
                        eta = st[o + 6, b] * eta_k
                        act = st[o + 4, b] > 0.5
                        gl2 = 0.0
                        d2 = 0.0
                        for q in range(n):
                            g = st[2 * n + q, b] + amp[b] * xi[q, b]
                            gl2 += g * g
                            v = st[q, b] - eta * g if act else st[q, b]
                            st[q, b] = v
                            d = v - st[n + q, b]
                            d2 += d * d
                        length = math.sqrt(gl2) * eta
                        Fn = _land_nd(LAND, st, b, n, X, yv)
                        st[o - 1, b] = Fn
                        _book(st, o, b, k, d2, Fn, length, act, stop_on_exit, st[o + 8, b])
                _observe(TWO_D, LAND, k + 1, tid, lo, nbk, n, st, o, P, rec_slot, rec_n, rec_acc, rec_loss, tr_slot,
                         loss_tr, theta_tr)
            for b in range(nbk):
                m = lo + b
                for q in range(n):
                    TH[m, q] = st[q, b]
                if TWO_D:
                    Fb, gx, gy = _land2(LAND, st[0, b], st[1, b], P)
                    FF[m] = Fb
                    GG[m, 0] = gx
                    GG[m, 1] = gy
                else:
                    for q in range(n):
                        GG[m, q] = st[2 * n + q, b]
                    FF[m] = st[o - 1, b]
                PATH[m] = st[o, b]
                TOTAL[m] = st[o, b] if STOP else st[o + 1, b]
                MAXD2[m] = st[o + 2, b]
                ALIVE[m] = st[o + 3, b] > 0.5
                ACTIVE[m] = st[o + 3, b] > 0.5 if STOP else st[o + 4, b] > 0.5
                EXIT[m] = np.int64(st[o + 5, b])

    return kernel


# ============================================================== results
@dataclass
class KernelResult:
    r"""Per-trajectory outcome of :func:`fused_sgd` for the trajectories ``traj_offset … traj_offset + M − 1``.

    Attributes:
        exit_step: τ = the first k with :math:`|\theta_k-\theta_0|^2 > r^2` or a non-finite θ_k or
            F(θ_k), if k ≤ ``steps_run``, else −1; int64 (M,).
        diverged: True where θ or F became non-finite (then frozen there); bool (M,).
        path_length: :math:`\sum_{k<\min(\tau,T)}\eta_{m,k}|g(\theta_k;\xi_k)|`, including the step that
            leaves; float64 (M,).
        total_path_length: the same sum over every step run (over the steps before freezing when
            ``stop_on_exit``, where it equals ``path_length``); float64 (M,).
        max_distance: :math:`\max_{k\le T}|\theta_k-\theta_0|` over the steps run (+inf if diverged).
        theta_final: θ at the end (the exit point if frozen); float64 (M, n).
        loss_final: F(θ_final); float64 (M,).
        steps_run: T, fewer than asked after an early stop (``stop_tol``).
        traj_offset: the global index of the first trajectory.
        record_steps: the recorded k (0, s, 2s, …, and the last step run), int64 (R,), or None.
        record_inside: number of trajectories with τ > k at each recorded k, int64 (R,).
        record_limbs: exact accumulators of :math:`\sum_m F(\theta_{m,k})\mathbf 1\{\tau_m > k\}`,
            int64 (R, NLIMB), normalised (limbs < 2³² but the last); add them to merge shards.
        record_losses: F(θ_k) of the inside trajectories at each recorded k, NaN for the others,
            float64 (R, M), if ``record_losses`` was asked (quantiles), else None.
        trace_steps: the traced k, int64 (Rt,), or None.
        loss_trace: F(θ_k) of every trajectory at the traced k, (M, Rt), or None.
        theta_trace: θ_k of every trajectory at the traced k, (M, Rt, n), or None.
        meta: the arguments that identify the run (landscape, noise, seed, …).
    """

    exit_step: np.ndarray
    diverged: np.ndarray
    path_length: np.ndarray
    total_path_length: np.ndarray
    max_distance: np.ndarray
    theta_final: np.ndarray
    loss_final: np.ndarray
    steps_run: int
    traj_offset: int
    record_steps: np.ndarray | None = None
    record_inside: np.ndarray | None = None
    record_limbs: np.ndarray | None = None
    record_losses: np.ndarray | None = None
    trace_steps: np.ndarray | None = None
    loss_trace: np.ndarray | None = None
    theta_trace: np.ndarray | None = None
    meta: dict = field(default_factory=dict)

    @property
    def n_traj(self) -> int:
        """M, the number of trajectories in this result."""
        return int(self.exit_step.shape[0])

    @property
    def record_loss_sum(self) -> np.ndarray | None:
        r"""The exactly rounded :math:`\sum_m F(\theta_{m,k})\mathbf 1\{\tau_m>k\}` at each recorded k, (R,)."""
        if self.record_limbs is None:
            return None
        return np.array([_limbs_to_float(row) for row in self.record_limbs])

    @property
    def frac_inside(self) -> np.ndarray | None:
        """Fraction of the M trajectories with τ > k, (R,) (StepRecord.frac_inside)."""
        return None if self.record_inside is None else self.record_inside / self.n_traj

    @property
    def mean_loss_inside(self) -> np.ndarray | None:
        r""":math:`\frac1M\sum_m F(\theta_{m,k})\mathbf 1\{\tau_m>k\}`, (R,) (StepRecord.mean_loss_inside)."""
        s = self.record_loss_sum
        return None if s is None else s / self.n_traj

    @property
    def mean_loss(self) -> np.ndarray | None:
        """Mean of F(θ_k) over the inside trajectories (NaN if none), (R,) (StepRecord.mean_loss)."""
        s = self.record_loss_sum
        if s is None:
            return None
        n = self.record_inside
        return np.where(n > 0, s / np.maximum(n, 1), np.nan)


def _normalise(limbs: np.ndarray) -> np.ndarray:
    return np.stack([_int_to_limbs(_limbs_to_int(row)) for row in limbs]) if len(limbs) else limbs


def merge(results: Sequence[KernelResult]) -> KernelResult:
    """Shards of one run (consecutive ``traj_offset`` ranges, any order given) combined into one result.

    Per-trajectory arrays are concatenated in trajectory order; record counts and exact
    accumulators are added, so the merged result has exactly the bits of one run over all the
    trajectories. Raises ValueError if the shards do not tile a range or differ in their run.
    """
    if isinstance(results, KernelResult) or not results:
        raise ValueError("results must be a non-empty sequence of KernelResult")
    for i, r in enumerate(results):
        if not isinstance(r, KernelResult):
            raise TypeError(f"results[{i}] must be a KernelResult, got {type(r).__name__}")
    parts = sorted(results, key=lambda r: r.traj_offset)
    first = parts[0]
    pos = first.traj_offset
    for r in parts:
        if r.traj_offset != pos:
            raise ValueError(f"shards must tile consecutive trajectories: expected traj_offset={pos}, got {r.traj_offset}")
        pos += r.n_traj
        if r.steps_run != first.steps_run:
            raise ValueError(f"shards ran different numbers of steps ({r.steps_run} vs {first.steps_run}): "
                             "early stopping (stop_tol) depends on all trajectories and cannot be sharded")
        same_meta = {k: v for k, v in r.meta.items() if k not in ("traj_offset", "threads", "block")}
        if same_meta != {k: v for k, v in first.meta.items() if k not in ("traj_offset", "threads", "block")}:
            raise ValueError("shards come from different runs (their meta differ)")
        for name in ("record_steps", "trace_steps"):
            a, b = getattr(r, name), getattr(first, name)
            if (a is None) != (b is None) or (a is not None and not np.array_equal(a, b)):
                raise ValueError(f"shards differ in {name}")

    def cat(name: str, axis: int = 0):
        vals = [getattr(r, name) for r in parts]
        return None if vals[0] is None else np.concatenate(vals, axis=axis)

    limbs = None
    if first.record_limbs is not None:
        tot = [sum(_limbs_to_int(r.record_limbs[i]) for r in parts) for i in range(len(first.record_steps))]
        limbs = np.stack([_int_to_limbs(t) for t in tot]) if tot else first.record_limbs
    return replace(
        first,
        exit_step=cat("exit_step"), diverged=cat("diverged"), path_length=cat("path_length"),
        total_path_length=cat("total_path_length"), max_distance=cat("max_distance"),
        theta_final=cat("theta_final"), loss_final=cat("loss_final"),
        record_inside=None if first.record_inside is None else sum(r.record_inside for r in parts),
        record_limbs=limbs, record_losses=cat("record_losses", axis=1),
        loss_trace=cat("loss_trace"), theta_trace=cat("theta_trace"),
        meta={**first.meta, "traj_offset": first.traj_offset},
    )


_ARRAYS = ("exit_step", "diverged", "path_length", "total_path_length", "max_distance", "theta_final", "loss_final",
           "record_steps", "record_inside", "record_limbs", "record_losses", "trace_steps", "loss_trace", "theta_trace")


def save_result(result: KernelResult, path) -> None:
    """Write a result (one shard of a sweep, say) to an ``.npz`` file, bit for bit; :func:`load_result` reads it."""
    import json

    if not isinstance(result, KernelResult):
        raise TypeError(f"result must be a KernelResult, got {type(result).__name__}")
    arrays = {k: getattr(result, k) for k in _ARRAYS if getattr(result, k) is not None}
    head = {"steps_run": result.steps_run, "traj_offset": result.traj_offset, "meta": result.meta}
    np.savez(path, __head__=np.array(json.dumps(head)), **arrays)


def load_result(path) -> KernelResult:
    """The :class:`KernelResult` written by :func:`save_result` (ValueError if the file is not one)."""
    import json

    with np.load(path, allow_pickle=False) as f:
        if "__head__" not in f.files:
            raise ValueError(f"path={str(path)!r} is not a file written by save_result")
        head = json.loads(str(f["__head__"]))
        arrays = {k: (f[k] if k in f.files else None) for k in _ARRAYS}
    meta = head["meta"]
    if isinstance(meta.get("direction"), list):
        meta["direction"] = tuple(meta["direction"])
    return KernelResult(steps_run=int(head["steps_run"]), traj_offset=int(head["traj_offset"]), meta=meta, **arrays)


def shard_slice(n_traj: int, shard: int, n_shards: int) -> slice:
    """Trajectories of shard ``shard`` of ``n_shards`` (``--shard i/n``): a contiguous, balanced slice of range(M)."""
    n_traj = V.integer("n_traj", n_traj, 1)
    n_shards = V.integer("n_shards", n_shards, 1, n_traj + 1)
    shard = V.integer("shard", shard, 0, n_shards)
    return slice(shard * n_traj // n_shards, (shard + 1) * n_traj // n_shards)


# ============================================================== entry point
def _landscape(landscape: str, n: int, params: dict | None) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
    if not isinstance(landscape, str) or landscape not in LANDSCAPES:
        raise ValueError(f"landscape={landscape!r} must be one of {LANDSCAPES}")
    land = LANDSCAPES.index(landscape)
    params = {} if params is None else params
    if not isinstance(params, dict):
        raise TypeError(f"params={params!r} must be a dict or None")
    allowed = {PLATEAU: {"height", "edge", "width"}, LINREG: {"X", "y"}}.get(land, set())
    extra = set(params) - allowed
    if extra:
        raise ValueError(f"params has keys {sorted(extra)} that landscape={landscape!r} does not take "
                         f"(allowed: {sorted(allowed)})")
    P = np.zeros(3)
    X, y = np.zeros((1, 1)), np.zeros(1)
    if land in (HYP, PLATEAU) and n != 2:
        raise ValueError(f"theta0 must have n = 2 coordinates for landscape={landscape!r}, got n = {n}")
    if land == FLAT and n < 2:
        raise ValueError(f"theta0 must have n >= 2 coordinates for the flat valley, got n = {n}")
    if land == PLATEAU:
        P = np.array([float(V.real(f"params['{k}']", params.get(k, d), shape=(), positive=True))
                      for k, d in (("height", 0.5), ("edge", 1.0), ("width", 0.5))])
    if land == LINREG:
        if "X" not in params or "y" not in params:
            raise ValueError("landscape='linear_regression' needs params=dict(X=..., y=...)")
        X = np.ascontiguousarray(V.real("params['X']", params["X"]))
        if X.ndim != 2 or X.shape[0] == 0:
            raise ValueError(f"params['X'] must have shape (N, d) with N >= 1, got {X.shape}")
        y = np.ascontiguousarray(V.real("params['y']", params["y"], shape=(X.shape[0],)))
        if X.shape[1] != n:
            raise ValueError(f"params['X'] has d = {X.shape[1]} columns but theta0 has n = {n} coordinates")
    return land, P, X, y


def _slots(steps: int, every: int | None) -> tuple[np.ndarray, int]:
    """Slot of each k = 0..T in a record or trace taken every ``every`` steps (−1: none), and the slot count.

    The count has one slot more than the multiples of ``every``, for the last step run when it is not one.
    """
    slot = np.full(steps + 1, -1, dtype=np.int64)
    if every is None:
        return slot, 0
    ks = np.arange(0, steps + 1, every)
    slot[ks] = np.arange(len(ks))
    return slot, len(ks) + 1


def fused_sgd(
    landscape: str,
    theta0,
    *,
    noise: str,
    scale,
    direction="rademacher",
    eta=1.0,
    eta_steps=None,
    r,
    steps: int,
    n_traj: int | None = None,
    seed: int = 0,
    traj_offset: int = 0,
    params: dict | None = None,
    stop_on_exit: bool = True,
    stop_tol: float | None = None,
    check_every: int = 50,
    record_every: int | None = None,
    record_losses: bool = False,
    trace_every: int | None = None,
    trace_theta: bool = False,
    threads: int | None = None,
    block: int = 256,
    progress: bool = False,
) -> KernelResult:
    r"""Run M SGD trajectories :math:`\theta_{k+1} = \theta_k - \eta_{m,k}\,g(\theta_k;\xi_{m,k})` in one fused CPU kernel.

    The step size is :math:`\eta_{m,k} = \eta_m\cdot\eta_k` with ``eta`` the per-trajectory
    factor :math:`\eta_m` and ``eta_steps`` the schedule :math:`(\eta_k)_{k<T}`; for a schedule
    pass ``eta=1.0`` and ``eta_steps=schedule.values(T)``, for per-trajectory constants pass
    ``eta`` alone (a product with 1.0 is exact, so both give the step of ``simulate``).

    Args:
        landscape: ``"hyperbola"``, ``"flat_valley"``, ``"plateau_valley"`` or ``"linear_regression"``.
        theta0: θ₀, shape (n,) shared or (M, n) one per trajectory; also each ball's centre.
        noise: ``"ml"`` (:math:`g = \nabla F + \sqrt{\sigma F}\xi`) or ``"bounded"`` (:math:`g = \nabla F + s\xi`).
        scale: σ ≥ 0 (ML) or s ≥ 0 (bounded): a number or an (M,) array.
        direction: ``"rademacher"``, ``"sphere"``, ``"gaussian"`` or a unit vector e (ξ = ±e).
        eta: :math:`\eta_m > 0`, a number or an (M,) array.
        eta_steps: :math:`\eta_k > 0`, an array of length ≥ ``steps``, or None (all 1).
        r: r > 0 of :math:`\bar B(\theta_0, r)`, a number or an (M,) array.
        steps: T ≥ 1.
        n_traj: M when ``theta0`` has shape (n,).
        seed: seed of the counter-based stream, in [0, 2⁶⁴).
        traj_offset: global index of the first trajectory (≥ 0): a shard m₀…m₁ passes m₀ and
            draws exactly the numbers it would draw in one run over all trajectories.
        params: landscape parameters (``height``, ``edge``, ``width`` for the plateau valley;
            ``X`` (N, d) and ``y`` (N,) for linear regression).
        stop_on_exit: freeze each trajectory at its first point outside the ball (default);
            with False trajectories continue (diverged ones are frozen in any case).
        stop_tol: stop early, at a multiple of ``check_every``, once every trajectory is frozen
            (exited with ``stop_on_exit``, or diverged) or has F ≤ ``stop_tol``. Only for ML
            noise (it vanishes at the minimum). The stopping step depends on all M trajectories.
        check_every: how often (in steps) the early-stop condition is tested.
        record_every: record (at k = 0, s, 2s, … and at the last step run) the number inside
            and the exact sum of F·1{inside}.
        record_losses: also keep F(θ_k) of the inside trajectories at those k (for quantiles).
        trace_every: keep F(θ_k) (and θ_k if ``trace_theta``) of every trajectory every so many
            steps and at the last step.
        trace_theta: also trace θ (needs ``trace_every``).
        threads: numba threads for this call (default: numba's current setting).
        block: trajectories per block (work unit of a thread), ≥ 1; no effect on the results.
        progress: show a tqdm bar over chunks of steps.

    Returns:
        A :class:`KernelResult`.
    """
    # ---------------- validation
    if not isinstance(noise, str) or noise not in NOISES:
        raise ValueError(f"noise={noise!r} must be one of {NOISES}")
    th0 = V.real("theta0", theta0)
    if th0.ndim == 1:
        if n_traj is None:
            raise ValueError("n_traj is required when theta0 has shape (n,)")
        M = V.integer("n_traj", n_traj, 1, _MAX_TRAJ)
        th0 = np.broadcast_to(th0, (M, th0.shape[0]))
    elif th0.ndim == 2:
        M = th0.shape[0]
        if n_traj is not None and V.integer("n_traj", n_traj, 1) != M:
            raise ValueError(f"n_traj={n_traj} does not match theta0 with {M} rows")
        if M == 0 or M >= _MAX_TRAJ:
            raise ValueError(f"theta0 has {M} rows; there must be between 1 and 2**30 - 1 trajectories")
    else:
        raise ValueError(f"theta0 must have shape (n,) or (M, n), got {th0.shape}")
    n = th0.shape[1]
    land, P, X, yv = _landscape(landscape, n, params)
    kind, e = S.check_direction(direction)
    if kind == S.FIXED and e.size != n:
        raise ValueError(f"direction has length {e.size} but theta0 has n = {n} coordinates")
    e = e if kind == S.FIXED else np.zeros(n)
    steps = V.integer("steps", steps, 1)
    sc = V.per_traj("scale", scale, M, nonneg=True)
    et = V.per_traj("eta", eta, M, positive=True)
    if eta_steps is None:
        es = np.ones(steps)
    else:
        es = V.real("eta_steps", eta_steps, positive=True)
        if es.ndim != 1 or es.shape[0] < steps:
            raise ValueError(f"eta_steps must be a 1-d array of length >= steps={steps}, got shape {es.shape}")
        es = np.ascontiguousarray(es[:steps])
    r = V.per_traj("r", r, M, positive=True)
    seed = S.check_seed(seed)
    traj_offset = V.integer("traj_offset", traj_offset, 0, 1 << 62)
    stop_on_exit = V.flag("stop_on_exit", stop_on_exit)
    stop_tol = V.tolerance("stop_tol", stop_tol)
    if stop_tol is not None and noise != "ml":
        raise ValueError(f"stop_tol={stop_tol} needs noise that vanishes at the minimum; noise={noise!r} does not")
    check_every = V.integer("check_every", check_every, 1)
    record_every = V.optional_integer("record_every", record_every, 1)
    record_losses = V.flag("record_losses", record_losses)
    if record_losses and record_every is None:
        raise ValueError("record_losses=True needs record_every")
    trace_every = V.optional_integer("trace_every", trace_every, 1)
    trace_theta = V.flag("trace_theta", trace_theta)
    if trace_theta and trace_every is None:
        raise ValueError("trace_theta=True needs trace_every")
    threads = V.optional_integer("threads", threads, 1)
    if threads is not None and threads > nb.config.NUMBA_NUM_THREADS:
        raise ValueError(f"threads={threads} must be <= {nb.config.NUMBA_NUM_THREADS} (NUMBA_NUM_THREADS)")
    block = V.integer("block", block, 1)
    progress = V.flag("progress", progress)

    # ---------------- state (global arrays, kept between chunks of steps)
    TH = np.ascontiguousarray(th0, dtype=np.float64).copy()
    T0 = TH.copy()
    FF = np.zeros(M)
    GG = np.zeros((M, n))
    ALIVE = np.ones(M, dtype=np.bool_)
    ACTIVE = np.ones(M, dtype=np.bool_)
    EXIT = np.full(M, -1, dtype=np.int64)
    PATH = np.zeros(M)
    TOTAL = np.zeros(M)
    MAXD2 = np.zeros(M)
    with np.errstate(over="ignore"):
        r2 = r * r  # r > 1.3e154 gives r² = inf: no exit by distance, as for |θ − θ₀| > r

    # record and trace slots for k = 0..T (the last step run is added at the end if needed)
    rec_slot, R = _slots(steps, record_every)
    tr_slot, Rt = _slots(steps, trace_every)
    n_thr = nb.config.NUMBA_NUM_THREADS
    rec_n = np.zeros((n_thr, max(R, 1)), dtype=np.int64)
    rec_acc = np.zeros((n_thr, max(R, 1), NLIMB), dtype=np.int64)
    rec_loss = np.full((R, M) if record_losses else (0, 0), np.nan)
    loss_tr = np.zeros((M, Rt))
    theta_tr = np.zeros((M, Rt, n) if trace_theta else (0, 0, 0))

    two_d = land in (HYP, PLATEAU) or (land == FLAT and n == 2)
    shared = two_d and all(bool(np.all(a == a[:1])) for a in (T0, et, sc, r2))
    kern = _kernel(land, ML if noise == "ml" else BOUNDED, kind, two_d, block, shared, two_d and stop_on_exit)
    a_key, b_key = (np.uint64(v) for v in S.seed_keys(seed))
    args_tail = (et, es, sc, r2, e, P, X, yv, a_key, b_key, traj_offset)

    def call(k0: int, k1: int, init: bool, observe_k0: bool, rs: np.ndarray, ts: np.ndarray) -> None:
        kern(TH, T0, FF, GG, ALIVE, ACTIVE, EXIT, PATH, TOTAL, MAXD2, *args_tail, k0, k1, init, observe_k0,
             stop_on_exit, rs, rec_n, rec_acc, rec_loss, ts, loss_tr, theta_tr)

    old_threads = nb.get_num_threads()
    if threads is not None:
        nb.set_num_threads(threads)
    try:
        chunk = check_every if stop_tol is not None else (max(1, steps // 100) if progress else steps)
        bounds = list(range(0, steps, chunk)) + [steps]
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=steps, desc="fused SGD", unit="step")
        k_done = 0
        call(0, 0, True, True, rec_slot, tr_slot)  # F, ∇F at θ₀ and the k = 0 record/trace
        for k0, k1 in zip(bounds[:-1], bounds[1:]):
            call(k0, k1, False, False, rec_slot, tr_slot)
            k_done = k1
            if bar is not None:
                bar.update(k1 - k0)
            if stop_tol is not None and k1 % check_every == 0 and k1 < steps:
                done = np.isinf(MAXD2) | (FF <= stop_tol)  # diverged ⇔ max d² = +inf
                if stop_on_exit:
                    done |= ~ALIVE
                if bool(done.all()):
                    break
        if bar is not None:
            bar.close()
        # the last step run is always recorded / traced (once): observe it alone if no stride did
        fin_r = np.full(steps + 1, -1, dtype=np.int64)
        fin_t = np.full(steps + 1, -1, dtype=np.int64)
        if record_every is not None and rec_slot[k_done] < 0:
            fin_r[k_done] = rec_slot[k_done] = R - 1
        if trace_every is not None and tr_slot[k_done] < 0:
            fin_t[k_done] = tr_slot[k_done] = Rt - 1
        if (fin_r >= 0).any() or (fin_t >= 0).any():
            call(k_done, k_done, False, True, fin_r, fin_t)
    finally:
        if threads is not None:
            nb.set_num_threads(old_threads)

    record_steps = record_inside = limbs = losses = None
    if record_every is not None:
        used = np.flatnonzero(rec_slot[: k_done + 1] >= 0)
        slots = rec_slot[used]
        record_steps = used.astype(np.int64)
        record_inside = rec_n.sum(axis=0)[slots]
        limbs = _normalise(rec_acc.sum(axis=0)[slots])  # int64 sums stay < 2^63 for M < 2^30
        losses = rec_loss[slots] if record_losses else None
    trace_steps = loss_trace = theta_trace = None
    if trace_every is not None:
        used = np.flatnonzero(tr_slot[: k_done + 1] >= 0)
        trace_steps = used.astype(np.int64)
        loss_trace = loss_tr[:, tr_slot[used]]
        theta_trace = theta_tr[:, tr_slot[used]] if trace_theta else None
    return KernelResult(
        exit_step=EXIT, diverged=np.isinf(MAXD2), path_length=PATH, total_path_length=TOTAL,
        max_distance=np.sqrt(MAXD2), theta_final=TH, loss_final=FF, steps_run=k_done, traj_offset=traj_offset,
        record_steps=record_steps, record_inside=record_inside, record_limbs=limbs, record_losses=losses,
        trace_steps=trace_steps, loss_trace=loss_trace, theta_trace=theta_trace,
        meta={"landscape": landscape, "noise": noise, "direction": direction if isinstance(direction, str)
              else tuple(e.tolist()), "seed": seed, "steps": steps, "stop_on_exit": stop_on_exit,
              "stop_tol": stop_tol, "traj_offset": traj_offset, "threads": threads or old_threads, "block": block,
              "backend": "numba-cpu"},
    )
