r"""A counter-based random stream: the draws of trajectory m at step k depend only on (seed, m, k, j).

Every random number of a simulation is a function of four integers: the ``seed``, the global
trajectory index m ≥ 0, the step k ≥ 0 and the index j ≥ 0 of the 64-bit word within the
step. Nothing depends on how many trajectories run together, on the block size, the number
of threads, the device or the shard, so a sweep can be split over processes and merged into
exactly the numbers of one run.

The word is built from the SplitMix64 finaliser :math:`\mu` (Stafford's "Mix13", a bijection
of :math:`\{0,\dots,2^{64}-1\}`), with all arithmetic modulo :math:`2^{64}`,
:math:`\gamma = \lfloor 2^{64}/\varphi\rfloor` the golden-ratio increment:

.. math::

    a = \mu(\mathrm{seed} \oplus c_A),\quad b = \mu(\mathrm{seed} \oplus c_B),\qquad
    A_m = \mu(a + m\gamma),\quad C_{k,j} = \mu\bigl(\mu(b + k\gamma) + j\gamma\bigr),

    w(\mathrm{seed}, m, k, j) = \mu(A_m \oplus C_{k,j}).

:math:`A_m` is computed once per trajectory and :math:`C_{k,j}` once per step for all
trajectories, so a kernel pays one :math:`\mu` (two multiplications) per word.

It is implemented twice, bit for bit the same: in numba on ``uint64`` (:func:`words` and the
scalar helpers the fused kernels inline) and in torch on ``int64`` tensors with wrap-around
arithmetic, logical shifts written as an arithmetic shift and a mask, and constants above
:math:`2^{63}` written as signed (:func:`torch_words` and the other ``torch_*`` functions),
vectorised over a tensor of trajectory indices m for one step k.

Transforms of the words (the same in both implementations):

* Rademacher signs: coordinate i uses bit ``i % 64`` of word ``j0 + i // 64``; bit 1 → +1, 0 → −1.
* Uniforms in (0, 1) with 53 bits: :math:`u = (\lfloor w/2^{11}\rfloor + \tfrac12)\,2^{-53}`, exact in float64.
* Standard normals by Box–Muller: coordinates 2p and 2p+1 use the words ``j0 + 2p`` (u₁) and
  ``j0 + 2p + 1`` (u₂): :math:`\sqrt{-2\log u_1}\,(\cos 2\pi u_2, \sin 2\pi u_2)`. The integer and
  uniform parts are identical in both implementations; ``log``, ``cos`` and ``sin`` come from
  the platform's libm in numba and from torch's vectorised (SLEEF) kernels, so the normals agree
  to a few units in the last place, not always bit for bit.
* Integers in [0, N) with replacement: draw i uses word ``j0 + i``:
  :math:`\lfloor\lfloor w/2^{32}\rfloor N/2^{32}\rfloor` (N < 2³¹; each value has probability
  within N·2⁻³² relative of 1/N).
* Without replacement: the b indices with the smallest keys ``w >> 1`` among words
  ``j0, …, j0 + N − 1`` (ties, of probability about N²2⁻⁶⁴, broken by the smaller index),
  in increasing order of key: a uniformly random ordered b-subset.

Directions ξ of the noise models (``lojasgd.noise.draw_directions``), shape (M, n), from the
words ``j0, j0 + 1, …`` of the step: ``"rademacher"`` (signs/√n), ``"sphere"`` (``z/‖z‖`` with z
standard normal), ``"gaussian"`` (z/√n) and a fixed unit vector e (ξ = ±e, the sign from bit 0
of word ``j0``).
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np
import torch
from torch import Tensor

__all__ = [
    "KINDS",
    "words",
    "rademacher",
    "uniforms",
    "normals",
    "integers",
    "without_replacement",
    "directions",
    "words_per_step",
    "torch_words",
    "torch_rademacher",
    "torch_uniforms",
    "torch_normals",
    "torch_integers",
    "torch_without_replacement",
    "torch_directions",
    "TorchStream",
]

# ------------------------------------------------------------------ constants (Python ints)
_MASK64 = (1 << 64) - 1
GAMMA = 0x9E3779B97F4A7C15  # floor(2^64 / golden ratio)
MIX1 = 0xBF58476D1CE4E5B9
MIX2 = 0x94D049BB133111EB
C_A = 0x243F6A8885A308D3  # hex digits of pi
C_B = 0x13198A2E03707344

#: kinds of direction besides a fixed unit vector
KINDS = ("rademacher", "sphere", "gaussian")
RADEMACHER, SPHERE, GAUSSIAN, FIXED = 0, 1, 2, 3
_TWO_PI = 2.0 * math.pi
_INV53 = 2.0**-53


def _signed(x: int) -> int:
    """An unsigned 64-bit value as the int64 with the same bits."""
    x &= _MASK64
    return x - (1 << 64) if x >= 1 << 63 else x


def py_mix(z: int) -> int:
    r"""The SplitMix64 finaliser μ on a Python int (mod 2⁶⁴): the reference for both implementations."""
    z &= _MASK64
    z = ((z ^ (z >> 30)) * MIX1) & _MASK64
    z = ((z ^ (z >> 27)) * MIX2) & _MASK64
    return z ^ (z >> 31)


def seed_keys(seed: int) -> tuple[int, int]:
    """The two keys (a, b) of a seed, as unsigned Python ints."""
    seed = check_seed(seed)
    return py_mix(seed ^ C_A), py_mix(seed ^ C_B)


def step_key(b_key: int, k: int, j: int) -> int:
    r""":math:`C_{k,j} = \mu(\mu(b + k\gamma) + j\gamma)` as an unsigned Python int."""
    return py_mix(py_mix(b_key + k * GAMMA) + j * GAMMA)


# ------------------------------------------------------------------ validation
def check_seed(seed) -> int:
    """``seed`` as an int in [0, 2⁶⁴); TypeError for bools and non-integers, ValueError out of range."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed={seed!r} must be an integer in [0, 2**64), not {type(seed).__name__}")
    seed = int(seed)
    if not 0 <= seed < 1 << 64:
        raise ValueError(f"seed={seed} must lie in [0, 2**64)")
    return seed


def check_int(name: str, value, low: int, high: int | None = None) -> int:
    """An integer ``low <= value (< high)``; bools and non-integers refused with the argument's name."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name}={value!r} must be an integer, not {type(value).__name__}")
    value = int(value)
    if value < low or (high is not None and value >= high):
        cond = f">= {low}" if high is None else f"in [{low}, {high})"
        raise ValueError(f"{name}={value} must be an integer {cond}")
    return value


def _indices_np(m) -> np.ndarray:
    if isinstance(m, bool) or isinstance(m, Tensor):
        raise TypeError(f"m={m!r} must be a 1-d integer numpy array (or a sequence of ints)")
    arr = np.asarray(m)
    if arr.ndim != 1 or not (np.issubdtype(arr.dtype, np.integer) or arr.size == 0) or arr.dtype == np.bool_:
        raise TypeError(f"m must be a 1-d array of integers, got dtype {arr.dtype} and shape {arr.shape}")
    if arr.size and (arr.min() < 0 or arr.max() >= 1 << 62):
        raise ValueError(f"m=array(min={arr.min()}, max={arr.max()}) must lie in [0, 2**62)")
    return arr.astype(np.int64)


def _indices_torch(m) -> Tensor:
    if not isinstance(m, Tensor) or m.ndim != 1 or m.dtype not in (torch.int64, torch.int32):
        raise TypeError(f"m must be a 1-d int64 tensor of trajectory indices, got {m!r:.80}")
    if m.numel() and (int(m.min()) < 0 or int(m.max()) >= 1 << 62):
        raise ValueError(f"m=tensor(min={int(m.min())}, max={int(m.max())}) must lie in [0, 2**62)")
    return m.to(torch.int64)


def check_direction(direction) -> tuple[int, np.ndarray]:
    """A direction kind or a unit vector as (kind code, e); e is empty unless the kind is fixed."""
    if isinstance(direction, str):
        if direction not in KINDS:
            raise ValueError(f"direction={direction!r} must be one of {KINDS} or a unit vector")
        return KINDS.index(direction), np.zeros(0)
    if isinstance(direction, bool):
        raise TypeError(f"direction={direction!r} must be a kind name or a unit vector")
    e = np.asarray(direction.detach().cpu() if isinstance(direction, Tensor) else direction, dtype=np.float64)
    if e.ndim != 1 or e.size == 0:
        raise ValueError(f"direction must be a 1-d unit vector, got shape {e.shape}")
    if not np.all(np.isfinite(e)) or abs(float(np.linalg.norm(e)) - 1) > 1e-9:
        raise ValueError(f"direction={e.tolist()} must be a finite unit vector (|e| = 1)")
    return FIXED, e


def words_per_step(kind: int, n: int) -> int:
    """How many words j = 0, 1, … a direction of this kind in ℝⁿ uses per step."""
    if kind == RADEMACHER:
        return (n + 63) // 64
    if kind == FIXED:
        return 1
    return 2 * ((n + 1) // 2)


# ------------------------------------------------------------------ numba: scalar helpers
_U30, _U27, _U31 = np.uint64(30), np.uint64(27), np.uint64(31)
_UMIX1, _UMIX2, _UGAMMA = np.uint64(MIX1), np.uint64(MIX2), np.uint64(GAMMA)
_U11, _U32, _U1 = np.uint64(11), np.uint64(32), np.uint64(1)


@nb.njit(inline="always", cache=False)
def mix(z):
    """μ on a uint64 (numba)."""
    z = (z ^ (z >> _U30)) * _UMIX1
    z = (z ^ (z >> _U27)) * _UMIX2
    return z ^ (z >> _U31)


@nb.njit(inline="always", cache=False)
def traj_key(a_key, m):
    r""":math:`A_m = \mu(a + m\gamma)` for a uint64 key a and an int64 m (numba)."""
    return mix(a_key + np.uint64(m) * _UGAMMA)


@nb.njit(inline="always", cache=False)
def step_keys(b_key, k, out):
    r"""Fill ``out[j]`` with :math:`C_{k,j}` for j < len(out) (numba)."""
    s = mix(b_key + np.uint64(k) * _UGAMMA)
    for j in range(out.shape[0]):
        out[j] = mix(s + np.uint64(j) * _UGAMMA)


@nb.njit(inline="always", cache=False)
def to_uniform(w):
    """A word as a uniform in (0, 1) with 53 bits (numba)."""
    return (np.float64(w >> _U11) + 0.5) * _INV53


@nb.njit(inline="always", cache=False)
def to_index(w, N):
    """A word as an integer in [0, N), N < 2³¹ (numba)."""
    return np.int64(((w >> _U32) * np.uint64(N)) >> _U32)


@nb.njit(cache=False)
def _fill_words(a_key, b_key, m, k, j0, J, out):
    c = np.empty(j0 + J, dtype=np.uint64)
    step_keys(b_key, k, c)
    for i in range(m.shape[0]):
        A = traj_key(a_key, m[i])
        for j in range(J):
            out[i, j] = mix(A ^ c[j0 + j])


@nb.njit(cache=False)
def _directions_nb(kind, a_key, b_key, m, k, j0, n, e, raw, out):
    J = words_per_step_nb(kind, n)
    c = np.empty(j0 + J, dtype=np.uint64)
    step_keys(b_key, k, c)
    inv = 1.0 if raw else 1.0 / math.sqrt(n)
    for i in range(m.shape[0]):
        A = traj_key(a_key, m[i])
        if kind == RADEMACHER:
            for q in range(n):
                w = mix(A ^ c[j0 + q // 64])
                bit = (w >> np.uint64(q % 64)) & _U1
                out[i, q] = (2.0 * np.float64(bit) - 1.0) * inv
        elif kind == FIXED:
            w = mix(A ^ c[j0])
            s = 2.0 * np.float64(w & _U1) - 1.0
            for q in range(n):
                out[i, q] = s * e[q]
        else:
            for p in range((n + 1) // 2):
                u1 = to_uniform(mix(A ^ c[j0 + 2 * p]))
                u2 = to_uniform(mix(A ^ c[j0 + 2 * p + 1]))
                rad = math.sqrt(-2.0 * math.log(u1))
                ang = _TWO_PI * u2
                out[i, 2 * p] = rad * math.cos(ang)
                if 2 * p + 1 < n:
                    out[i, 2 * p + 1] = rad * math.sin(ang)
            if kind == SPHERE:
                s2 = 0.0
                for q in range(n):
                    s2 += out[i, q] * out[i, q]
                nrm = math.sqrt(s2)
                for q in range(n):
                    out[i, q] = out[i, q] / nrm
            else:
                for q in range(n):
                    out[i, q] = out[i, q] * inv


@nb.njit(inline="always", cache=False)
def words_per_step_nb(kind, n):
    if kind == RADEMACHER:
        return (n + 63) // 64
    if kind == FIXED:
        return 1
    return 2 * ((n + 1) // 2)


@nb.njit(cache=False)
def _without_nb(a_key, b_key, m, k, j0, b, N, out):
    c = np.empty(j0 + N, dtype=np.uint64)
    step_keys(b_key, k, c)
    keys = np.empty(N, dtype=np.uint64)
    for i in range(m.shape[0]):
        A = traj_key(a_key, m[i])
        for j in range(N):
            keys[j] = mix(A ^ c[j0 + j]) >> _U1
        order = np.argsort(keys, kind="mergesort")
        for q in range(b):
            out[i, q] = order[q]


# ------------------------------------------------------------------ numpy-facing (numba) API
def _common(seed, m, k, j0):
    a, b = seed_keys(seed)
    m = _indices_np(m)
    k = check_int("k", k, 0, 1 << 62)
    j0 = check_int("j0", j0, 0, 1 << 40)
    return np.uint64(a), np.uint64(b), m, k, j0


def words(seed: int, m, k: int, count: int = 1, j0: int = 0) -> np.ndarray:
    r"""The words :math:`w(\mathrm{seed}, m, k, j)` for j = j0, …, j0 + count − 1 (numba).

    Args:
        seed: integer in [0, 2⁶⁴).
        m: 1-d integer array of global trajectory indices (M,).
        k: step index ≥ 0.
        count: how many words per trajectory (≥ 1).
        j0: index of the first word.

    Returns:
        uint64 array of shape (M, count).
    """
    a, b, m, k, j0 = _common(seed, m, k, j0)
    count = check_int("count", count, 1, 1 << 30)
    out = np.empty((m.shape[0], count), dtype=np.uint64)
    _fill_words(a, b, m, k, j0, count, out)
    return out


def rademacher(seed: int, m, k: int, n: int, j0: int = 0) -> np.ndarray:
    """Fair signs ±1, shape (M, n): coordinate i is bit ``i % 64`` of word ``j0 + i // 64`` (numba)."""
    n = check_int("n", n, 1)
    return _directions(RADEMACHER, np.zeros(n), seed, m, k, n, j0, raw=True)


def uniforms(seed: int, m, k: int, n: int, j0: int = 0) -> np.ndarray:
    r"""Uniforms :math:`u = (\lfloor w/2^{11}\rfloor + 1/2)2^{-53} \in (0, 1)`, shape (M, n), word j0 + i (numba)."""
    n = check_int("n", n, 1)
    w = words(seed, m, k, n, j0)
    return ((w >> np.uint64(11)).astype(np.float64) + 0.5) * _INV53


def normals(seed: int, m, k: int, n: int, j0: int = 0) -> np.ndarray:
    r"""Standard normals by Box–Muller, shape (M, n): :math:`\sqrt{-2\log u_1}(\cos 2\pi u_2, \sin 2\pi u_2)` (numba)."""
    n = check_int("n", n, 1)
    return _directions(GAUSSIAN, np.zeros(n), seed, m, k, n, j0, raw=True)


def integers(seed: int, m, k: int, b: int, N: int, j0: int = 0) -> np.ndarray:
    r"""b i.i.d. indices in [0, N) per trajectory, :math:`\lfloor\lfloor w/2^{32}\rfloor N/2^{32}\rfloor`, shape (M, b) (numba)."""
    b = check_int("b", b, 1)
    N = check_int("N", N, 1, 1 << 31)
    w = words(seed, m, k, b, j0)
    return (((w >> np.uint64(32)) * np.uint64(N)) >> np.uint64(32)).astype(np.int64)


def without_replacement(seed: int, m, k: int, b: int, N: int, j0: int = 0) -> np.ndarray:
    """b distinct indices in [0, N) per trajectory (the b smallest keys ``w >> 1`` of words j0…j0+N−1), shape (M, b)."""
    N = check_int("N", N, 1, 1 << 31)
    b = check_int("b", b, 1, N + 1)
    a, bk, m, k, j0 = _common(seed, m, k, j0)
    out = np.empty((m.shape[0], b), dtype=np.int64)
    _without_nb(a, bk, m, k, j0, b, N, out)
    return out


def directions(direction, seed: int, m, k: int, n: int, j0: int = 0) -> np.ndarray:
    r"""Noise directions ξ with :math:`\mathbb E\xi = 0`, :math:`\mathbb E|\xi|^2 = 1`, shape (M, n) (numba).

    ``direction`` is ``"rademacher"`` (±1/√n), ``"sphere"`` (``z/‖z‖``), ``"gaussian"`` (z/√n), or a
    unit vector e of length n (ξ = ±e). See the module docstring for which words are used.
    """
    kind, e = check_direction(direction)
    n = check_int("n", n, 1)
    if kind == FIXED and e.size != n:
        raise ValueError(f"direction has length {e.size} but n={n}")
    return _directions(kind, e if kind == FIXED else np.zeros(n), seed, m, k, n, j0, raw=False)


def _directions(kind: int, e: np.ndarray, seed, m, k, n: int, j0, *, raw: bool) -> np.ndarray:
    a, b, m, k, j0 = _common(seed, m, k, j0)
    out = np.empty((m.shape[0], n), dtype=np.float64)
    _directions_nb(kind, a, b, m, k, j0, n, e, raw, out)
    return out


# ------------------------------------------------------------------ torch implementation
_T_MIX1, _T_MIX2, _T_GAMMA = _signed(MIX1), _signed(MIX2), _signed(GAMMA)


def _srl(z: Tensor, s: int) -> Tensor:
    """Logical right shift of int64 bits: arithmetic shift, then mask the sign copies away."""
    return (z >> s) & ((1 << (64 - s)) - 1)


def _t_mix(z: Tensor) -> Tensor:
    z = (z ^ _srl(z, 30)) * _T_MIX1
    z = (z ^ _srl(z, 27)) * _T_MIX2
    return z ^ _srl(z, 31)


def _t_traj(seed: int, m) -> tuple[Tensor, int]:
    a, b = seed_keys(seed)
    m = _indices_torch(m)
    return _t_mix(m * _T_GAMMA + _signed(a)), b


def _t_step(b_key: int, k: int, j0: int, count: int, device) -> Tensor:
    r""":math:`C_{k,j}` for j = j0 … j0 + count − 1 as an int64 tensor (one tensor op, any count)."""
    k = check_int("k", k, 0, 1 << 62)
    j0 = check_int("j0", j0, 0, 1 << 40)
    s = _signed(py_mix(b_key + k * GAMMA))
    j = torch.arange(j0, j0 + count, dtype=torch.int64, device=device)
    return _t_mix(j * _T_GAMMA + s)


def torch_words(seed: int, m: Tensor, k: int, count: int = 1, j0: int = 0) -> Tensor:
    """The words of :func:`words` as an int64 tensor (M, count) with the same bits (torch, on m's device)."""
    count = check_int("count", count, 1, 1 << 30)
    A, b = _t_traj(seed, m)
    C = _t_step(b, k, j0, count, A.device)
    return _t_mix(A.unsqueeze(-1) ^ C)


def _t_uniform(w: Tensor, dtype) -> Tensor:
    return ((_srl(w, 11).to(torch.float64) + 0.5) * _INV53).to(dtype)


def torch_uniforms(seed: int, m: Tensor, k: int, n: int, j0: int = 0, dtype=torch.float64) -> Tensor:
    """The uniforms of :func:`uniforms` (torch); bit-identical in float64."""
    n = check_int("n", n, 1)
    return _t_uniform(torch_words(seed, m, k, n, j0), dtype)


def torch_rademacher(seed: int, m: Tensor, k: int, n: int, j0: int = 0, dtype=torch.float64) -> Tensor:
    """The signs of :func:`rademacher` (torch), shape (M, n)."""
    n = check_int("n", n, 1)
    w = torch_words(seed, m, k, (n + 63) // 64, j0)  # (M, J)
    q = torch.arange(n, device=w.device)
    bits = (w[:, q // 64] >> (q % 64)) & 1
    return (2 * bits - 1).to(dtype)


def torch_normals(seed: int, m: Tensor, k: int, n: int, j0: int = 0, dtype=torch.float64) -> Tensor:
    """The Box–Muller normals of :func:`normals` (torch, computed in float64), shape (M, n)."""
    n = check_int("n", n, 1)
    P = (n + 1) // 2
    u = _t_uniform(torch_words(seed, m, k, 2 * P, j0), torch.float64).reshape(-1, P, 2)
    rad = torch.sqrt(-2.0 * torch.log(u[..., 0]))
    ang = _TWO_PI * u[..., 1]
    z = torch.stack([rad * torch.cos(ang), rad * torch.sin(ang)], dim=-1).reshape(-1, 2 * P)[:, :n]
    return z.to(dtype)


def torch_integers(seed: int, m: Tensor, k: int, b: int, N: int, j0: int = 0) -> Tensor:
    """The indices of :func:`integers` (torch), int64 (M, b)."""
    b = check_int("b", b, 1)
    N = check_int("N", N, 1, 1 << 31)
    return (_srl(torch_words(seed, m, k, b, j0), 32) * N) >> 32


def torch_without_replacement(seed: int, m: Tensor, k: int, b: int, N: int, j0: int = 0) -> Tensor:
    """The indices of :func:`without_replacement` (torch), int64 (M, b)."""
    N = check_int("N", N, 1, 1 << 31)
    b = check_int("b", b, 1, N + 1)
    keys = _srl(torch_words(seed, m, k, N, j0), 1)
    return torch.sort(keys, dim=-1, stable=True).indices[:, :b]


def torch_directions(direction, seed: int, m: Tensor, k: int, n: int, j0: int = 0,
                     dtype=torch.float64) -> Tensor:
    """The directions ξ of :func:`directions` (torch), shape (M, n), computed in float64 then cast."""
    kind, e = check_direction(direction)
    n = check_int("n", n, 1)
    if kind == FIXED and e.size != n:
        raise ValueError(f"direction has length {e.size} but n={n}")
    if kind == RADEMACHER:
        xi = torch_rademacher(seed, m, k, n, j0) * (1.0 / math.sqrt(n))
    elif kind == FIXED:
        w = torch_words(seed, m, k, 1, j0)
        xi = (2 * (w & 1) - 1).to(torch.float64) * torch.as_tensor(e, device=w.device)
    else:
        z = torch_normals(seed, m, k, n, j0)
        if kind == SPHERE:
            xi = z / torch.sqrt((z * z).sum(-1, keepdim=True))
        else:
            xi = z * (1.0 / math.sqrt(n))
    return xi.to(dtype)


class TorchStream:
    r"""The stream for a fixed tensor of trajectory indices, with the keys :math:`A_m` computed once.

    The tensor path's per-step entry point: ``TorchStream(seed, m)`` once per run (m = the global
    indices ``traj_offset + arange(M)`` on the run's device), then per step k
    ``directions(direction, k, n)``, ``integers(k, b, N)``, ``without_replacement(k, b, N)`` or
    ``words(k, count)``: the same bits as the functions :func:`torch_directions` etc. (and as the
    numba kernels), at one μ per word.

    Args:
        seed: integer in [0, 2⁶⁴).
        m: 1-d int64 tensor of global trajectory indices (M,).
    """

    def __init__(self, seed: int, m: Tensor) -> None:
        self.seed = check_seed(seed)
        self.A, self._b = _t_traj(self.seed, m)

    def at(self, k: int) -> "StepStream":
        """The draws of step k (what :func:`lojasgd.sgd.simulate` hands to the noise model)."""
        return StepStream(self, k)

    def words(self, k: int, count: int = 1, j0: int = 0) -> Tensor:
        """int64 (M, count): the words j0 … j0 + count − 1 of step k."""
        count = check_int("count", count, 1, 1 << 30)
        if count == 1:
            return _t_mix(self.A ^ int(_t_step(self._b, k, j0, 1, "cpu")[0])).unsqueeze(-1)
        return _t_mix(self.A.unsqueeze(-1) ^ _t_step(self._b, k, j0, count, self.A.device))

    def directions(self, direction, k: int, n: int, j0: int = 0, dtype=torch.float64) -> Tensor:
        """ξ of step k, shape (M, n), as :func:`torch_directions`."""
        kind, e = check_direction(direction)
        n = check_int("n", n, 1)
        if kind == FIXED and e.size != n:
            raise ValueError(f"direction has length {e.size} but n={n}")
        if kind == RADEMACHER and n <= 64:
            w = self.words(k, 1, j0)  # (M, 1)
            q = torch.arange(n, device=w.device)
            s = ((w >> q) & 1).to(torch.float64).mul_(2.0).sub_(1.0)
            return s.mul_(1.0 / math.sqrt(n)).to(dtype)
        if kind == FIXED:
            w = self.words(k, 1, j0)
            return ((w & 1).to(torch.float64).mul_(2.0).sub_(1.0) * torch.as_tensor(e, device=w.device)).to(dtype)
        if kind == RADEMACHER:
            w = self.words(k, (n + 63) // 64, j0)
            q = torch.arange(n, device=w.device)
            s = ((w[:, q // 64] >> (q % 64)) & 1).to(torch.float64).mul_(2.0).sub_(1.0)
            return s.mul_(1.0 / math.sqrt(n)).to(dtype)
        P = (n + 1) // 2
        u = _t_uniform(self.words(k, 2 * P, j0), torch.float64).reshape(-1, P, 2)
        rad = torch.sqrt(-2.0 * torch.log(u[..., 0]))
        ang = _TWO_PI * u[..., 1]
        z = torch.stack([rad * torch.cos(ang), rad * torch.sin(ang)], dim=-1).reshape(-1, 2 * P)[:, :n]
        if kind == SPHERE:
            z = z / torch.sqrt((z * z).sum(-1, keepdim=True))
        else:
            z = z * (1.0 / math.sqrt(n))
        return z.to(dtype)

    def integers(self, k: int, b: int, N: int, j0: int = 0) -> Tensor:
        """b indices in [0, N) with replacement, int64 (M, b), as :func:`torch_integers`."""
        b = check_int("b", b, 1)
        N = check_int("N", N, 1, 1 << 31)
        return (_srl(self.words(k, b, j0), 32) * N) >> 32

    def without_replacement(self, k: int, b: int, N: int, j0: int = 0) -> Tensor:
        """b distinct indices in [0, N), int64 (M, b), as :func:`torch_without_replacement`."""
        N = check_int("N", N, 1, 1 << 31)
        b = check_int("b", b, 1, N + 1)
        return torch.sort(_srl(self.words(k, N, j0), 1), dim=-1, stable=True).indices[:, :b]


class StepStream:
    """The draws of one step k of a :class:`TorchStream`, in the form the noise models ask for.

    ``lojasgd.noise`` models accept it wherever they take a ``torch.Generator``: the
    directions use the words j0, j0 + 1, … of step k, mini-batch indices the first b (or N)
    words and injected noise the words after them.
    """

    def __init__(self, stream: "TorchStream", k: int) -> None:
        self.stream, self.k = stream, int(k)

    def directions(self, direction, n: int, dtype=torch.float64, j0: int = 0) -> Tensor:
        return self.stream.directions(direction, self.k, n, j0=j0, dtype=dtype)

    def integers(self, b: int, N: int, j0: int = 0) -> Tensor:
        return self.stream.integers(self.k, b, N, j0)

    def without_replacement(self, b: int, N: int, j0: int = 0) -> Tensor:
        return self.stream.without_replacement(self.k, b, N, j0)
