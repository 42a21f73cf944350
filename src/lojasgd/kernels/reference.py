r"""The tensor path on the counter-based stream: the reference the fused kernels are tested against.

:func:`reference_sgd` runs the same SGD as :func:`lojasgd.kernels.cpu.fused_sgd`, with the same
arguments and the same :class:`~lojasgd.kernels.cpu.KernelResult`, as a plain torch program
vectorised over the M trajectories: one step is a handful of tensor operations on (M, n)
tensors, the noise ξ of step k comes from :func:`lojasgd.kernels.stream.torch_directions` for
the global indices ``traj_offset + arange(M)``, distances are squared (no ``disp`` tensor,
no norm), and a frozen trajectory is kept by ``torch.where`` (no ``θ − 0·g``). It is also the
model for tightening the general tensor path of ``simulate``: the same loop with
``landscape.value_and_grad`` in place of its own ``_value_and_grad``.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from . import _validate as V
from . import cpu as C
from . import stream as S

__all__ = ["reference_sgd"]


def _value_and_grad(land: int, theta: Tensor, P: np.ndarray, X: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    """(F, ∇F) for the closed-form landscapes, with the kernels' formulas and order of operations."""
    if land == C.HYP:
        a, b = theta[:, 0], theta[:, 1]
        res = a * b - 1.0
        return 0.5 * (res * res), torch.stack([res * b, res * a], dim=-1)
    if land == C.FLAT:
        x = theta[:, 0]
        G = torch.zeros_like(theta)
        G[:, 0] = x
        return 0.5 * (x * x), G
    if land == C.PLATEAU:
        h, c, w = (float(v) for v in P)
        x, yy = theta[:, 0], theta[:, 1]
        t = ((yy.abs() - c) / w).clamp(0.0, 1.0)
        s = t * t * t * (10.0 - 15.0 * t + 6.0 * (t * t))
        ds = 30.0 * (t * t) * ((1.0 - t) * (1.0 - t))
        return 0.5 * (x * x) + h * s, torch.stack([x, h * ds * torch.sign(yy) / w], dim=-1)
    res = theta @ X.T - y  # (M, N)
    N = X.shape[0]
    return 0.5 * (res * res).sum(-1) / N, (res / N) @ X


def reference_sgd(
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
) -> C.KernelResult:
    r"""SGD :math:`\theta_{k+1} = \theta_k - \eta_{m,k} g(\theta_k;\xi_{m,k})` as a torch tensor program (float64, CPU).

    Arguments and result as :func:`lojasgd.kernels.cpu.fused_sgd` (without ``threads``,
    ``block`` and ``progress``); the same seed gives the same draws, so both agree to rounding.
    """
    if not isinstance(noise, str) or noise not in C.NOISES:
        raise ValueError(f"noise={noise!r} must be one of {C.NOISES}")
    th0 = V.real("theta0", theta0)
    if th0.ndim == 1:
        if n_traj is None:
            raise ValueError("n_traj is required when theta0 has shape (n,)")
        M = V.integer("n_traj", n_traj, 1)
        th0 = np.broadcast_to(th0, (M, th0.shape[0]))
    elif th0.ndim == 2:
        M = th0.shape[0]
    else:
        raise ValueError(f"theta0 must have shape (n,) or (M, n), got {th0.shape}")
    n = th0.shape[1]
    land, P, Xn, yn = C._landscape(landscape, n, params)
    kind, e = S.check_direction(direction)
    steps = V.integer("steps", steps, 1)
    sc = torch.from_numpy(V.per_traj("scale", scale, M, nonneg=True))
    et = torch.from_numpy(V.per_traj("eta", eta, M, positive=True))
    es = np.ones(steps) if eta_steps is None else V.real("eta_steps", eta_steps, positive=True)[:steps]
    r2 = torch.from_numpy(V.per_traj("r", r, M, positive=True)) ** 2
    seed = S.check_seed(seed)
    traj_offset = V.integer("traj_offset", traj_offset, 0)
    stop_tol = V.tolerance("stop_tol", stop_tol)
    check_every = V.integer("check_every", check_every, 1)
    X, y = torch.from_numpy(Xn), torch.from_numpy(yn)

    theta = torch.tensor(np.array(th0), dtype=torch.float64)
    t0 = theta.clone()
    idx = torch.arange(M, dtype=torch.int64) + traj_offset
    alive = torch.ones(M, dtype=torch.bool)
    active = torch.ones(M, dtype=torch.bool)
    exit_step = torch.full((M,), -1, dtype=torch.int64)
    path = torch.zeros(M, dtype=torch.float64)
    total = torch.zeros(M, dtype=torch.float64)
    maxd2 = torch.zeros(M, dtype=torch.float64)
    F, G = _value_and_grad(land, theta, P, X, y)
    rng = S.TorchStream(seed, idx)

    rec_steps: list[int] = []
    rec_in: list[int] = []
    rec_limbs: list[np.ndarray] = []
    rec_losses: list[np.ndarray] = []
    tr_steps: list[int] = []
    tr_loss: list[np.ndarray] = []
    tr_theta: list[np.ndarray] = []

    def observe(k: int, final: bool = False) -> None:
        if record_every is not None and (k % record_every == 0 or final) and (not rec_steps or rec_steps[-1] != k):
            rec_steps.append(k)
            rec_in.append(int(alive.sum()))
            limbs = np.zeros(C.NLIMB, dtype=np.int64)
            C._acc_many(F[alive].numpy(), limbs)
            rec_limbs.append(C._int_to_limbs(C._limbs_to_int(limbs)))
            if record_losses:
                rec_losses.append(torch.where(alive, F, torch.nan).numpy().copy())
        if trace_every is not None and (k % trace_every == 0 or final) and (not tr_steps or tr_steps[-1] != k):
            tr_steps.append(k)
            tr_loss.append(F.numpy().copy())
            if trace_theta:
                tr_theta.append(theta.numpy().copy())

    observe(0)
    k_done = 0
    for k in range(steps):
        xi = rng.directions(direction, k, n)
        amp = torch.sqrt(sc * torch.where(F > 0, F, 0.0)) if noise == "ml" else sc
        g = G + amp.unsqueeze(-1) * xi
        step = et * float(es[k])
        new = torch.where(active.unsqueeze(-1), theta - step.unsqueeze(-1) * g, theta)
        length = torch.sqrt((g * g).sum(-1)) * step
        d = new - t0
        d2 = (d * d).sum(-1)
        Fn, Gn = _value_and_grad(land, new, P, X, y)
        bad = ~(torch.isfinite(d2) & torch.isfinite(Fn))
        path += torch.where(alive, length, 0.0)
        total += torch.where(active, length, 0.0)
        maxd2 = torch.where(active & (d2 > maxd2), d2, maxd2)
        maxd2 = torch.where(active & bad, math.inf, maxd2)
        leaving = alive & ((d2 > r2) | bad)
        exit_step = torch.where(leaving, k + 1, exit_step)
        alive = alive & ~leaving
        active = alive.clone() if stop_on_exit else active & ~bad
        theta, F, G = new, Fn, Gn
        k_done = k + 1
        observe(k_done)
        if stop_tol is not None and k_done % check_every == 0 and k_done < steps:
            done = torch.isinf(maxd2) | (F <= stop_tol)
            if stop_on_exit:
                done |= ~alive
            if bool(done.all()):
                break
    observe(k_done, final=True)
    return C.KernelResult(
        exit_step=exit_step.numpy(), diverged=torch.isinf(maxd2).numpy(), path_length=path.numpy(),
        total_path_length=total.numpy(), max_distance=torch.sqrt(maxd2).numpy(), theta_final=theta.numpy(),
        loss_final=F.numpy(), steps_run=k_done, traj_offset=traj_offset,
        record_steps=np.array(rec_steps, dtype=np.int64) if record_every is not None else None,
        record_inside=np.array(rec_in, dtype=np.int64) if record_every is not None else None,
        record_limbs=np.stack(rec_limbs) if record_every is not None else None,
        record_losses=np.stack(rec_losses) if record_losses else None,
        trace_steps=np.array(tr_steps, dtype=np.int64) if trace_every is not None else None,
        loss_trace=np.stack(tr_loss, axis=1) if trace_every is not None else None,
        theta_trace=np.stack(tr_theta, axis=1) if trace_theta else None,
        meta={"landscape": landscape, "noise": noise, "seed": seed, "steps": steps, "backend": "torch-reference"},
    )
