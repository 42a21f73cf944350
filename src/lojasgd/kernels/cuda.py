r"""The fused SGD kernel on a CUDA GPU (numba.cuda): one thread per trajectory, all T steps inside.

:func:`fused_sgd_cuda` runs the same M independent copies as :func:`lojasgd.kernels.cpu.fused_sgd`,

.. math:: \theta_{k+1} = \theta_k - \eta_{m,k}\, g(\theta_k; \xi_{m,k}),\qquad
          \eta_{m,k} = \eta_m\,\eta_k,\qquad k = 0, \dots, T-1,

with the same landscapes (``"hyperbola"`` :math:`F(a,b) = (ab-1)^2/2`; ``"flat_valley"``
:math:`F = \theta_1^2/2`, n ≥ 2; ``"plateau_valley"`` :math:`F = x^2/2 + h\,S((|y|-c)/w)`, n = 2;
``"linear_regression"`` :math:`F = \frac1{2N}\sum_i (x_i\cdot\theta - y_i)^2`), the same noise
(``"ml"``: :math:`g = \nabla F + \sqrt{\sigma\max(F, 0)}\,\xi`; ``"bounded"``:
:math:`g = \nabla F + s\,\xi`), every direction kind of :mod:`lojasgd.kernels.stream`, the same
exit rule (step k+1 leaves when :math:`|\theta_{k+1}-\theta_0|^2 > r^2`), the same divergence rule
and the same counter-based stream: trajectory m (global index ``traj_offset + m``) at step k uses
the words :math:`w = \mu(A_m \oplus C_{k,j})`, all integer arithmetic in uint64 in both float
dtypes. The step keys :math:`C_{k,j}` are computed on the host (they are the same for every
trajectory), for up to 2²⁰ steps per launch, and read by all threads from one small array.

Layout: the 2-d landscapes (hyperbola, plateau valley, flat valley with n = 2) keep θ and all
the bookkeeping of a trajectory in registers for all steps; the n-d ones (flat valley with
n > 2, linear regression) keep θ, ∇F and ξ in global arrays of shape (n, M) (coalesced: thread m
reads column m). A frozen trajectory (exited with ``stop_on_exit``, or diverged) leaves the
step loop, since no later step changes any of its numbers.

Agreement with the CPU kernel: under numba's CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``) the
float64 kernel executes the same IEEE operations in the same order, so exit steps are equal and
paths and θ agree to rounding (the tests ask for 1e-12). On a real GPU NVVM contracts
``a*b + c`` into fused multiply-adds and libdevice's ``log``/``cos``/``sin`` differ from libm
by a few units in the last place, so float64 results agree to rounding accumulated over the
run, and an exit step can differ only for a trajectory within rounding of the sphere.
float32 (the speed target) uses the same words, with uniforms formed in float64 and then
rounded to float32.

Not supported here (ValueError naming the argument): ``record_every``, ``record_losses``,
``trace_every``, ``trace_theta``. ``stop_tol`` is supported (the run is split into launches of
``check_every`` steps and the condition is tested between them).

``numba.cuda`` is imported only when a kernel is built or run, so importing this module costs
nothing on a machine without CUDA.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import torch
from torch import Tensor

from . import _validate as V
from . import stream as S
from .cpu import BOUNDED, FLAT, HYP, ML, NOISES, PLATEAU, KernelResult, _landscape

__all__ = ["fused_sgd_cuda", "cuda_available", "DTYPES"]

#: float dtypes of the CUDA kernel (the stream's integers stay uint64 in both)
DTYPES = ("float32", "float64")
_MAX_TRAJ = 1 << 31
_THREADS = 128
#: steps per launch without stop_tol: bounds the host and device memory of the step keys (J words a step)
_KEY_CHUNK = 1 << 20


#: the ``numba.cuda`` module once imported (a module global: the simulator swaps it in the kernels' globals)
cuda = None


def _cuda():
    global cuda
    if cuda is None:
        from numba import cuda as _module

        cuda = _module
    return cuda


def cuda_available() -> bool:
    """Whether numba.cuda can run kernels here (a GPU and driver, or the simulator ``NUMBA_ENABLE_CUDASIM=1``)."""
    try:
        return bool(_cuda().is_available())
    except Exception:  # noqa: BLE001 - no driver, no toolkit: not available
        return False


def _simulated() -> bool:
    import numba

    return bool(numba.config.ENABLE_CUDASIM)


# ============================================================== kernels
_KERNELS: dict = {}


def _kernel(land: int, noise: int, kind: int, two_d: bool, f32: bool):
    """The compiled kernel for one (landscape, noise, direction kind, layout, dtype), memoised."""
    key = (land, noise, kind, two_d, f32)
    if key not in _KERNELS:
        _KERNELS[key] = _make_kernel(land, noise, kind, two_d, f32)
    return _KERNELS[key]


def _make_kernel(LAND: int, NOISE: int, KIND: int, TWO_D: bool, F32: bool):  # noqa: C901 - one kernel, all cases
    """Build the kernel with LAND, NOISE, KIND, TWO_D and the float type frozen as compile-time constants.

    Every float literal is a constant of the kernel's float type (F), so float32 kernels never
    promote to float64 (except the uniforms, formed in float64 from 53 bits and then rounded).
    """
    _cuda()  # sets the module global ``cuda`` that the kernels name
    F = np.float32 if F32 else np.float64
    RAD, FIX, SPH = S.RADEMACHER, S.FIXED, S.SPHERE
    ZERO, HALF, ONE, TWO = F(0.0), F(0.5), F(1.0), F(2.0)
    SIX, TEN, FIFTEEN, THIRTY = F(6.0), F(10.0), F(15.0), F(30.0)
    TWO_PI = F(2.0 * math.pi)
    BIG = F(np.finfo(F).max)
    INF = F(np.inf)
    U1, U11, U27, U30, U31 = (np.uint64(v) for v in (1, 11, 27, 30, 31))
    UMIX1, UMIX2, UGAMMA = np.uint64(S.MIX1), np.uint64(S.MIX2), np.uint64(S.GAMMA)
    INV53 = np.float64(2.0**-53)
    HALF64 = np.float64(0.5)

    @cuda.jit(device=True)
    def mix(z):
        z = (z ^ (z >> U30)) * UMIX1
        z = (z ^ (z >> U27)) * UMIX2
        return z ^ (z >> U31)

    @cuda.jit(device=True)
    def uniform(w):
        return F((np.float64(w >> U11) + HALF64) * INV53)

    @cuda.jit(device=True)
    def sign(w, bit):
        return TWO * F((w >> np.uint64(bit)) & U1) - ONE

    @cuda.jit(device=True)
    def book(d2, Fn, length, k, r2b, stop_on_exit, alive, path, total, m2, ex):
        """One step's bookkeeping, as cpu._book with act = True: path, total, m2, exit step, alive, active."""
        bad = not ((d2 <= BIG) and (abs(Fn) <= BIG))
        if alive:
            path += length
        total += length
        if d2 > m2:
            m2 = d2
        if bad:
            m2 = INF
        leaving = alive and ((d2 > r2b) or bad)
        if leaving:
            ex = k + 1
        alive = alive and not leaving
        active = alive if stop_on_exit else not bad
        return path, total, m2, ex, alive, active

    @cuda.jit(device=True)
    def land2(x, y, P):
        if LAND == HYP:
            res = x * y - ONE
            return HALF * (res * res), res * y, res * x
        elif LAND == FLAT:
            return HALF * (x * x), x, ZERO
        else:  # PLATEAU: P = (h, c, w)
            h, c, w = P[0], P[1], P[2]
            t = (abs(y) - c) / w
            t = ZERO if t < ZERO else (ONE if t > ONE else t)
            s = t * t * t * (TEN - FIFTEEN * t + SIX * (t * t))
            ds = THIRTY * (t * t) * ((ONE - t) * (ONE - t))
            sg = ONE if y > ZERO else (-ONE if y < ZERO else ZERO)
            return HALF * (x * x) + h * s, x, h * ds * sg / w

    @cuda.jit(device=True)
    def land_nd(TH, GG, m, n, X, yv):
        """F at θ = TH[:, m]; writes ∇F into GG[:, m]."""
        if LAND == FLAT:
            x = TH[0, m]
            GG[0, m] = x
            for q in range(1, n):
                GG[q, m] = ZERO
            return HALF * (x * x)
        N = X.shape[0]
        for q in range(n):
            GG[q, m] = ZERO
        Fs = ZERO
        for i in range(N):
            r = -yv[i]
            for q in range(n):
                r += X[i, q] * TH[q, m]
            Fs += r * r
            c = r / F(N)
            for q in range(n):
                GG[q, m] += c * X[i, q]
        return HALF * Fs / F(N)

    if TWO_D:
        @cuda.jit
        def kernel(TH, T0, FF, ALIVE, ACTIVE, EXIT, PATH, TOTAL, MAXD2, eta, eta_steps, scale, r2, e, P, ck,
                   a_key, traj_offset, k0, k1, inv, stop_on_exit, finish):
            m = cuda.grid(1)
            if m >= TH.shape[1]:
                return
            x = TH[0, m]
            y = TH[1, m]
            active = ACTIVE[m] != 0
            if active and k1 > k0:
                t0x = T0[0, m]
                t0y = T0[1, m]
                alive = ALIVE[m] != 0
                path = PATH[m]
                total = TOTAL[m]
                m2 = MAXD2[m]
                ex = EXIT[m]
                etam = eta[m]
                sc = scale[m]
                r2b = r2[m]
                e0 = e[0]
                e1 = e[1]
                A = mix(a_key + np.uint64(traj_offset + m) * UGAMMA)
                for k in range(k0, k1):
                    if not active:
                        break
                    c0 = ck[k - k0, 0]
                    Fb, gx, gy = land2(x, y, P)
                    if KIND == RAD:
                        w = mix(A ^ c0)
                        xi0 = sign(w, 0) * inv
                        xi1 = sign(w, 1) * inv
                    elif KIND == FIX:
                        sg = sign(mix(A ^ c0), 0)
                        xi0 = sg * e0
                        xi1 = sg * e1
                    else:
                        u1 = uniform(mix(A ^ c0))
                        u2 = uniform(mix(A ^ ck[k - k0, 1]))
                        rad = math.sqrt(-TWO * math.log(u1))
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
                    if NOISE == ML:
                        a = math.sqrt(sc * (Fb if Fb > ZERO else ZERO))
                    else:
                        a = sc
                    g0 = gx + a * xi0
                    g1 = gy + a * xi1
                    et = etam * eta_steps[k]
                    # active here: a frozen trajectory has left the loop
                    nx = x - et * g0
                    ny = y - et * g1
                    length = math.sqrt(g0 * g0 + g1 * g1) * et
                    d0 = nx - t0x
                    d1 = ny - t0y
                    d2 = d0 * d0 + d1 * d1
                    Fn = land2(nx, ny, P)[0]
                    x = nx
                    y = ny
                    path, total, m2, ex, alive, active = book(d2, Fn, length, k, r2b, stop_on_exit, alive, path,
                                                              total, m2, ex)
                TH[0, m] = x
                TH[1, m] = y
                ALIVE[m] = 1 if alive else 0
                ACTIVE[m] = 1 if active else 0
                EXIT[m] = ex
                PATH[m] = path
                TOTAL[m] = total
                MAXD2[m] = m2
            if finish:
                FF[m] = land2(x, y, P)[0]

        return kernel

    @cuda.jit
    def kernel_nd(TH, T0, GG, XI, FF, ALIVE, ACTIVE, EXIT, PATH, TOTAL, MAXD2, eta, eta_steps, scale, r2, e, X, yv,
                  ck, a_key, traj_offset, k0, k1, inv, stop_on_exit, init):
        m = cuda.grid(1)
        n = TH.shape[0]
        if m >= TH.shape[1]:
            return
        if init:
            FF[m] = land_nd(TH, GG, m, n, X, yv)
            return
        active = ACTIVE[m] != 0
        if not active or k1 <= k0:
            return
        alive = ALIVE[m] != 0
        path = PATH[m]
        total = TOTAL[m]
        m2 = MAXD2[m]
        ex = EXIT[m]
        etam = eta[m]
        sc = scale[m]
        r2b = r2[m]
        Fb = FF[m]
        A = mix(a_key + np.uint64(traj_offset + m) * UGAMMA)
        for k in range(k0, k1):
            if not active:
                break
            # -- ξ into XI[:, m]
            if KIND == RAD:
                for q in range(n):
                    XI[q, m] = sign(mix(A ^ ck[k - k0, q // 64]), q % 64) * inv
            elif KIND == FIX:
                sg = sign(mix(A ^ ck[k - k0, 0]), 0)
                for q in range(n):
                    XI[q, m] = sg * e[q]
            else:
                for p in range((n + 1) // 2):
                    u1 = uniform(mix(A ^ ck[k - k0, 2 * p]))
                    u2 = uniform(mix(A ^ ck[k - k0, 2 * p + 1]))
                    rad = math.sqrt(-TWO * math.log(u1))
                    ang = TWO_PI * u2
                    XI[2 * p, m] = rad * math.cos(ang)
                    if 2 * p + 1 < n:
                        XI[2 * p + 1, m] = rad * math.sin(ang)
                if KIND == SPH:
                    s2 = ZERO
                    for q in range(n):
                        s2 += XI[q, m] * XI[q, m]
                    nrm = math.sqrt(s2)
                    for q in range(n):
                        XI[q, m] = XI[q, m] / nrm
                else:
                    for q in range(n):
                        XI[q, m] = XI[q, m] * inv
            if NOISE == ML:
                amp = math.sqrt(sc * (Fb if Fb > ZERO else ZERO))
            else:
                amp = sc
            et = etam * eta_steps[k]
            gl2 = ZERO
            d2 = ZERO
            for q in range(n):
                g = GG[q, m] + amp * XI[q, m]
                gl2 += g * g
                v = TH[q, m] - et * g
                TH[q, m] = v
                d = v - T0[q, m]
                d2 += d * d
            length = math.sqrt(gl2) * et
            Fn = land_nd(TH, GG, m, n, X, yv)
            Fb = Fn
            path, total, m2, ex, alive, active = book(d2, Fn, length, k, r2b, stop_on_exit, alive, path, total, m2,
                                                      ex)
        FF[m] = Fb
        ALIVE[m] = 1 if alive else 0
        ACTIVE[m] = 1 if active else 0
        EXIT[m] = ex
        PATH[m] = path
        TOTAL[m] = total
        MAXD2[m] = m2

    return kernel_nd


# ============================================================== host side
def _step_keys(b_key: int, k0: int, k1: int, J: int) -> np.ndarray:
    r""":math:`C_{k,j}` for k0 ≤ k < k1, j < J as a uint64 array (k1 − k0, J), row k − k0 (numba, on the host)."""
    return _step_keys_nb(np.uint64(b_key), k0, k1, J)


def _make_step_keys_nb():
    import numba as nb

    @nb.njit(cache=False)
    def f(b_key, k0, k1, J):
        out = np.empty((k1 - k0, J), dtype=np.uint64)
        for k in range(k0, k1):
            S.step_keys(b_key, k, out[k - k0])
        return out

    return f


_step_keys_nb = _make_step_keys_nb()


def _dtype(dtype) -> tuple[np.dtype, torch.dtype]:
    names = {np.float32: "float32", np.float64: "float64", torch.float32: "float32", torch.float64: "float64",
             "float32": "float32", "float64": "float64"}
    try:
        key = names.get(dtype) or names.get(np.dtype(dtype).type)
    except TypeError:  # unhashable, or not a dtype numpy knows (torch.bfloat16, ...)
        key = None
    if key is None:
        raise ValueError(f"dtype={dtype!r} must be one of {DTYPES} (numpy, torch or a name)")
    return np.dtype(key), getattr(torch, key)


def _is_cuda_tensor(v) -> bool:
    return isinstance(v, Tensor) and v.device.type == "cuda"


def _per_traj(cuda, name: str, value, M: int, ndt: np.dtype, tdt: torch.dtype, *, positive=False, nonneg=False):
    """A number or an (M,) array/tensor as a device array of the kernel's dtype (CUDA tensors stay on the GPU)."""
    from .. import validation

    if _is_cuda_tensor(value):
        t = validation.per_trajectory(name, value, M, device=value.device, dtype=tdt, positive=positive,
                                      nonnegative=nonneg).contiguous()
        return cuda.as_cuda_array(t), t
    arr = V.per_traj(name, value, M, positive=positive, nonneg=nonneg).astype(ndt)
    return cuda.to_device(arr), arr


def fused_sgd_cuda(
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
    dtype="float64",
    device: int | None = None,
    threads_per_block: int = _THREADS,
    record_every: int | None = None,
    record_losses: bool = False,
    trace_every: int | None = None,
    trace_theta: bool = False,
) -> KernelResult:
    r"""Run M SGD trajectories :math:`\theta_{k+1} = \theta_k - \eta_m\eta_k\,g(\theta_k;\xi_{m,k})` in one CUDA kernel.

    The arguments and the results mean what they mean for :func:`lojasgd.kernels.cpu.fused_sgd`
    (see there); the differences:

    Args:
        theta0, eta, scale, r, eta_steps: numpy arrays, numbers, or torch tensors; torch CUDA
            tensors are used on the GPU without a copy to the host (``numba.cuda.as_cuda_array``).
        dtype: ``"float32"`` or ``"float64"`` (or the numpy/torch dtype) of θ and all float state;
            the stream's integer arithmetic is uint64 in both.
        device: CUDA device index (default: numba's current device).
        threads_per_block: CUDA block size (no effect on the results).
        record_every, record_losses, trace_every, trace_theta: not supported on CUDA; anything but
            the defaults raises ValueError naming the argument.

    Returns:
        A :class:`~lojasgd.kernels.cpu.KernelResult` with numpy arrays on the host (θ, F, paths and
        distances in ``dtype``), no records and no traces; ``meta["backend"] == "numba-cuda"``.
    """
    # ---------------- refused arguments
    for name, value, default in (("record_every", record_every, None), ("record_losses", record_losses, False),
                                 ("trace_every", trace_every, None), ("trace_theta", trace_theta, False)):
        if value is not default and value != default:
            raise ValueError(f"{name}={value!r} is not supported by the CUDA kernel (no records or traces on CUDA); "
                             "use the CPU kernel fused_sgd or simulate(backend='tensor')")
    ndt, tdt = _dtype(dtype)
    if not isinstance(noise, str) or noise not in NOISES:
        raise ValueError(f"noise={noise!r} must be one of {NOISES}")
    threads_per_block = V.integer("threads_per_block", threads_per_block, 1, 1025)
    if device is not None:
        device = V.integer("device", device, 0)
    cuda = _cuda()
    if not cuda.is_available():
        raise RuntimeError("numba.cuda finds no CUDA GPU (set NUMBA_ENABLE_CUDASIM=1 for the simulator)")
    if device is not None and not _simulated():
        with cuda.gpus[device]:
            return _run(cuda, landscape, theta0, noise, scale, direction, eta, eta_steps, r, steps, n_traj, seed,
                        traj_offset, params, stop_on_exit, stop_tol, check_every, ndt, tdt, threads_per_block)
    return _run(cuda, landscape, theta0, noise, scale, direction, eta, eta_steps, r, steps, n_traj, seed,
                traj_offset, params, stop_on_exit, stop_tol, check_every, ndt, tdt, threads_per_block)


def _theta(cuda, theta0, n_traj, tdt):
    """θ₀ as an (M, n) tensor of dtype tdt (on the GPU if it came as a CUDA tensor, else on the host)."""
    if isinstance(theta0, Tensor):
        if theta0.is_complex() or not (theta0.is_floating_point() or theta0.dtype in (torch.int32, torch.int64)):
            raise TypeError(f"theta0 must be a real tensor, got dtype {theta0.dtype}")
        th = theta0.detach().to(tdt)
        if not bool(torch.isfinite(th).all()):
            raise ValueError("theta0 must be finite")
    else:
        th = torch.from_numpy(V.real("theta0", theta0)).to(tdt)
    if th.ndim == 1:
        if n_traj is None:
            raise ValueError("n_traj is required when theta0 has shape (n,)")
        M = V.integer("n_traj", n_traj, 1, _MAX_TRAJ)
        th = th.expand(M, th.shape[0])
    elif th.ndim == 2:
        M = th.shape[0]
        if n_traj is not None and V.integer("n_traj", n_traj, 1) != M:
            raise ValueError(f"n_traj={n_traj} does not match theta0 with {M} rows")
        if M == 0 or M >= _MAX_TRAJ:
            raise ValueError(f"theta0 has {M} rows; there must be between 1 and 2**31 - 1 trajectories")
    else:
        raise ValueError(f"theta0 must have shape (n,) or (M, n), got {tuple(th.shape)}")
    return th


def _to_dev(cuda, t: Tensor):
    """A contiguous tensor as a numba device array (no copy for CUDA tensors; kept alive by the caller)."""
    t = t.contiguous()
    return (cuda.as_cuda_array(t), t) if t.device.type == "cuda" else (cuda.to_device(t.numpy()), t)


def _run(cuda, landscape, theta0, noise, scale, direction, eta, eta_steps, r, steps, n_traj, seed, traj_offset,
         params, stop_on_exit, stop_tol, check_every, ndt, tdt, tpb) -> KernelResult:
    th = _theta(cuda, theta0, n_traj, tdt)
    M, n = th.shape
    land, P, X, yv = _landscape(landscape, n, params)
    kind, e = S.check_direction(direction)
    if kind == S.FIXED and e.size != n:
        raise ValueError(f"direction has length {e.size} but theta0 has n = {n} coordinates")
    e = e if kind == S.FIXED else np.zeros(n)
    steps = V.integer("steps", steps, 1)
    keep = []  # tensors whose memory the device arrays borrow
    d_sc, h = _per_traj(cuda, "scale", scale, M, ndt, tdt, nonneg=True)
    keep.append(h)
    d_eta, h = _per_traj(cuda, "eta", eta, M, ndt, tdt, positive=True)
    keep.append(h)
    if _is_cuda_tensor(r):
        from .. import validation

        rt = validation.per_trajectory("r", r, M, device=r.device, dtype=tdt, positive=True)
        d_r2, h = _to_dev(cuda, rt * rt)
    else:
        r_np = V.per_traj("r", r, M, positive=True).astype(ndt)
        with np.errstate(over="ignore"):
            d_r2, h = cuda.to_device(r_np * r_np), r_np  # r² = inf: no exit by distance
    keep.append(h)
    if eta_steps is None:
        es = np.ones(steps, dtype=ndt)
    else:
        es_in = eta_steps.detach().cpu() if isinstance(eta_steps, Tensor) else eta_steps
        es = V.real("eta_steps", es_in, positive=True)
        if es.ndim != 1 or es.shape[0] < steps:
            raise ValueError(f"eta_steps must be a 1-d array of length >= steps={steps}, got shape {es.shape}")
        es = np.ascontiguousarray(es[:steps]).astype(ndt)
    seed = S.check_seed(seed)
    traj_offset = V.integer("traj_offset", traj_offset, 0, 1 << 62)
    if traj_offset + M >= 1 << 62:
        raise ValueError(f"traj_offset={traj_offset} + M={M} must be < 2**62")
    stop_on_exit = V.flag("stop_on_exit", stop_on_exit)
    stop_tol = V.tolerance("stop_tol", stop_tol)
    if stop_tol is not None and noise != "ml":
        raise ValueError(f"stop_tol={stop_tol} needs noise that vanishes at the minimum; noise={noise!r} does not")
    check_every = V.integer("check_every", check_every, 1)

    # ---------------- state on the device, layout (n, M)
    two_d = land in (HYP, PLATEAU) or (land == FLAT and n == 2)
    d_TH, h = _to_dev(cuda, th.t().contiguous().clone())  # a copy: θ₀ (a CUDA tensor, say) is never written
    keep.append(h)
    d_T0, h = _to_dev(cuda, th.t())
    keep.append(h)
    d_FF = cuda.device_array(M, dtype=ndt)
    d_ALIVE = cuda.to_device(np.ones(M, dtype=np.uint8))
    d_ACTIVE = cuda.to_device(np.ones(M, dtype=np.uint8))
    d_EXIT = cuda.to_device(np.full(M, -1, dtype=np.int64))
    d_PATH = cuda.to_device(np.zeros(M, dtype=ndt))
    d_TOTAL = cuda.to_device(np.zeros(M, dtype=ndt))
    d_MAXD2 = cuda.to_device(np.zeros(M, dtype=ndt))
    d_es = cuda.to_device(es)
    d_e = cuda.to_device(e.astype(ndt))
    d_P = cuda.to_device(P.astype(ndt))
    d_X = cuda.to_device(np.ascontiguousarray(X.astype(ndt)))
    d_y = cuda.to_device(yv.astype(ndt))
    if not two_d:
        d_GG = cuda.device_array((n, M), dtype=ndt)
        d_XI = cuda.device_array((n, M), dtype=ndt)
    J = max(S.words_per_step(kind, n), 2)
    a_key, b_key = S.seed_keys(seed)
    a_key = np.uint64(a_key)
    inv = ndt.type(1.0 / math.sqrt(n))  # as the CPU kernel: 1/√n in float64 (then rounded for float32)
    kern = _kernel(land, ML if noise == "ml" else BOUNDED, kind, two_d, ndt == np.float32)
    grid = (M + tpb - 1) // tpb
    no_keys = cuda.to_device(np.zeros((1, J), dtype=np.uint64))

    def launch(k0: int, k1: int, flag: bool) -> None:
        # C_{k,j} for the launch's steps, the same for every trajectory: row k − k0
        ck = cuda.to_device(_step_keys(b_key, k0, k1, J)) if k1 > k0 else no_keys
        if two_d:
            kern[grid, tpb](d_TH, d_T0, d_FF, d_ALIVE, d_ACTIVE, d_EXIT, d_PATH, d_TOTAL, d_MAXD2, d_eta, d_es, d_sc,
                            d_r2, d_e, d_P, ck, a_key, traj_offset, k0, k1, inv, stop_on_exit, flag)
        else:
            kern[grid, tpb](d_TH, d_T0, d_GG, d_XI, d_FF, d_ALIVE, d_ACTIVE, d_EXIT, d_PATH, d_TOTAL, d_MAXD2, d_eta,
                            d_es, d_sc, d_r2, d_e, d_X, d_y, ck, a_key, traj_offset, k0, k1, inv, stop_on_exit, flag)

    with warnings.catch_warnings():
        if _simulated():  # the simulator runs the uint64 arithmetic in numpy scalars, which warn on wrap-around
            warnings.simplefilter("ignore", RuntimeWarning)
        if not two_d:
            launch(0, 0, True)  # F and ∇F at θ₀
        chunk = check_every if stop_tol is not None else min(steps, _KEY_CHUNK)
        k_done = 0
        for k0 in range(0, steps, chunk):
            k1 = min(steps, k0 + chunk)
            launch(k0, k1, two_d and stop_tol is not None)
            k_done = k1
            if stop_tol is not None and k1 < steps and k1 % check_every == 0:
                FF, MAXD2 = d_FF.copy_to_host(), d_MAXD2.copy_to_host()
                done = np.isinf(MAXD2) | (FF <= stop_tol)
                if stop_on_exit:
                    done |= d_ALIVE.copy_to_host() == 0
                if bool(done.all()):
                    break
        if two_d:
            launch(0, 0, True)  # F at the final θ
        cuda.synchronize()
    MAXD2 = d_MAXD2.copy_to_host()
    return KernelResult(
        exit_step=d_EXIT.copy_to_host(), diverged=np.isinf(MAXD2), path_length=d_PATH.copy_to_host(),
        total_path_length=d_TOTAL.copy_to_host(), max_distance=np.sqrt(MAXD2),
        theta_final=np.ascontiguousarray(d_TH.copy_to_host().T), loss_final=d_FF.copy_to_host(), steps_run=k_done,
        traj_offset=traj_offset,
        meta={"landscape": landscape, "noise": noise, "direction": direction if isinstance(direction, str)
              else tuple(e.tolist()), "seed": seed, "steps": steps, "stop_on_exit": stop_on_exit,
              "stop_tol": stop_tol, "traj_offset": traj_offset, "dtype": str(ndt), "backend": "numba-cuda",
              "threads_per_block": tpb},
    )
