r"""Mini-batch gradients of chapter 5's deep tanh network, one trajectory at a time (numba).

:func:`tanh_batch_grad` computes what :meth:`lojasgd.examples.tanh_network.TanhNetwork.batch_grad`
computes, :math:`\frac1b\sum_j(\hat y(x_{i_j};\theta_m) - y_{i_j})\nabla_\theta\hat y(x_{i_j};\theta_m)`
for every row m of θ, by explicit back-propagation in one compiled loop over the trajectories:
each trajectory's weights (a few KB) stay in L1 while its b samples go forward and back, and its
gradient is written once into its output row. Same layout of θ as the network: ``W_1`` (h×d),
``W_2, …, W_{D-1}`` (h×h), ``v`` (h), row-major. The value agrees with the torch program up to
the order of summation (≈1e-15 relative in float64).

Caching of the compiled code follows :mod:`lojasgd.kernels.cpu`: only when ``NUMBA_CACHE_DIR`` is
set, and ``LOJASGD_KERNEL_CACHE=0`` turns it off.
"""

from __future__ import annotations

import os

import numba as nb
import numpy as np

__all__ = ["tanh_batch_grad"]

_CACHE = "NUMBA_CACHE_DIR" in os.environ and os.environ.get("LOJASGD_KERNEL_CACHE", "1") != "0"


@nb.njit(fastmath=False, cache=_CACHE)
def _dense_tanh(th, off, K, h, zin, zout, zero):  # pragma: no cover - compiled
    """zout[i] = tanh(sum_k W[i, k] zin[k]) (k in order), W = th[off:off + h*K] as h×K; four rows at a time."""
    i = 0
    while i + 4 <= h:
        r0 = off + i * K
        w0 = th[r0:r0 + K]
        w1 = th[r0 + K:r0 + 2 * K]
        w2 = th[r0 + 2 * K:r0 + 3 * K]
        w3 = th[r0 + 3 * K:r0 + 4 * K]
        s0 = zero
        s1 = zero
        s2 = zero
        s3 = zero
        for k in range(K):
            zk = zin[k]
            s0 += w0[k] * zk
            s1 += w1[k] * zk
            s2 += w2[k] * zk
            s3 += w3[k] * zk
        zout[i] = np.tanh(s0)
        zout[i + 1] = np.tanh(s1)
        zout[i + 2] = np.tanh(s2)
        zout[i + 3] = np.tanh(s3)
        i += 4
    while i < h:
        w0 = th[off + i * K:off + (i + 1) * K]
        s0 = zero
        for k in range(K):
            s0 += w0[k] * zin[k]
        zout[i] = np.tanh(s0)
        i += 1


@nb.njit(fastmath=False, cache=_CACHE)
def _outer(g, off, K, h, du, zin, add):  # pragma: no cover - compiled
    """g[off + i*K + k] (+)= du[i] zin[k]."""
    for i in range(h):
        a = du[i]
        gi = g[off + i * K:off + (i + 1) * K]
        if add:
            for k in range(K):
                gi[k] += a * zin[k]
        else:
            for k in range(K):
                gi[k] = a * zin[k]


@nb.njit(fastmath=False, cache=_CACHE)
def _transposed(th, off, h, du, dz, zero):  # pragma: no cover - compiled
    """dz[k] = sum_i du[i] W[i, k] (i in order), W = th[off:off + h*h] as h×h."""
    for k in range(h):
        dz[k] = zero
    for i in range(h):
        a = du[i]
        wi = th[off + i * h:off + (i + 1) * h]
        for k in range(h):
            dz[k] += a * wi[k]


@nb.njit(parallel=False, fastmath=False, cache=_CACHE)
def _kernel(theta, X, y, idx, h, depth, zero, one, out):  # pragma: no cover - compiled
    M = theta.shape[0]
    b = idx.shape[1]
    d = X.shape[1]
    L = depth - 1  # hidden layers; layer l maps z_l (z_0 = x) to z_{l+1}
    bb = one * b
    off_v = h * d + (L - 1) * h * h
    kmax = max(h, d)
    # z_0 = x, z_1, ..., z_{D-1} of sample j in row l*b + j; dz and du of sample j in row j
    zs = np.empty(((L + 1) * b, kmax), dtype=theta.dtype)
    dz = np.empty((b, h), dtype=theta.dtype)
    du = np.empty((b, h), dtype=theta.dtype)
    dout = np.empty(b, dtype=theta.dtype)
    for m in range(M):
        th = theta[m]
        g = out[m]
        # forward
        for j in range(b):
            ij = idx[m, j]
            z0 = zs[j]
            for k in range(d):
                z0[k] = X[ij, k]
            for l in range(L):
                _dense_tanh(th, 0 if l == 0 else h * d + (l - 1) * h * h, d if l == 0 else h, h, zs[l * b + j],
                            zs[(l + 1) * b + j], zero)
            zl = zs[L * b + j]
            s = zero
            for i in range(h):
                s += zl[i] * th[off_v + i]
            dout[j] = (s - y[ij]) / bb
        # output layer: grad_v = sum_j dout_j z_{D-1,j}; dz_j = dout_j v
        for i in range(h):
            s = zero
            for j in range(b):
                s += dout[j] * zs[L * b + j, i]
            g[off_v + i] = s
        for j in range(b):
            dj = dout[j]
            dzj = dz[j]
            for i in range(h):
                dzj[i] = dj * th[off_v + i]
        # backward through the hidden layers: du_j = dz_j (1 - z_{l+1,j}^2), grad_W = sum_j du_j z_{l,j}^T,
        # dz_j = W^T du_j
        for l in range(L - 1, -1, -1):
            K = d if l == 0 else h
            off = 0 if l == 0 else h * d + (l - 1) * h * h
            for j in range(b):
                zo = zs[(l + 1) * b + j]
                duj = du[j]
                dzj = dz[j]
                for i in range(h):
                    duj[i] = dzj[i] * (one - zo[i] * zo[i])
            for j in range(b):
                _outer(g, off, K, h, du[j], zs[l * b + j], j > 0)
            if l > 0:
                for j in range(b):
                    _transposed(th, off, h, du[j], dz[j], zero)
    return out


def tanh_batch_grad(theta: np.ndarray, X: np.ndarray, y: np.ndarray, idx: np.ndarray, width: int, depth: int,
                    out: np.ndarray | None = None) -> np.ndarray:
    """Mini-batch gradients (M, n) of the tanh network for θ (M, n), data X (N, d), y (N,), indices idx (M, b).

    θ, X, y (and ``out``) share one dtype, float32 or float64, and are C-contiguous; idx is int64
    (M, b) with entries in [0, N) (not checked here: the caller validates them).
    """
    dt = theta.dtype
    if out is None:
        out = np.empty_like(theta)
    return _kernel(theta, X, y, idx, int(width), int(depth), dt.type(0), dt.type(1), out)
