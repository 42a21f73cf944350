r"""Many independent SGD trajectories as one batched tensor program.

:func:`simulate` runs M independent copies of

.. math:: \theta_{k+1} = \theta_k - \eta_k\, g(\theta_k; \xi_k)

from θ₀ and records, per trajectory, the exit time
:math:`\tau = \inf\{k : |\theta_k - \theta_0| > r\}` from the closed ball
:math:`\bar B(\theta_0, r)`, the path length before exit
:math:`\sum_{k<\tau}|\theta_{k+1}-\theta_k|` (Theorem 3.1(1)), and the final θ and F.
Memory is O(M·n) unless a trace is asked for. Randomness comes from one
``torch.Generator`` seeded by ``seed``: the same seed gives the same numbers on the same
device and dtype.

Step sizes: a number, a 1-d array or tensor of per-trajectory constant steps, or a
:class:`~lojasgd.sgd.schedules.Schedule`.

No number is reported silently wrong: a trajectory whose iterate, stochastic gradient or
loss becomes non-finite is reported as *diverged* (``SGDResult.diverged``), counted as having
left the ball at that step and frozen at its last finite iterate; a frozen trajectory keeps
its exit point exactly; a schedule's bad step stops the run with an error naming k.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor

from .. import validation
from ..landscapes import Landscape
from ..noise import Noise
from .schedules import Schedule

__all__ = ["SGDResult", "StepRecord", "simulate", "merge_results", "BACKENDS", "STREAMS"]

#: the simulation paths :func:`simulate` can run
BACKENDS = ("auto", "tensor", "fused")
#: the random streams: one ``torch.Generator`` (draws depend on M), or the counter-based stream
#: of :mod:`lojasgd.kernels.stream` (draws of trajectory m at step k depend on (seed, m, k) only)
STREAMS = ("torch", "counter")


# --------------------------------------------------------------------------- results
@dataclass
class StepRecord:
    r"""Summaries over steps, taken every ``record_every`` steps (k = 0, s, 2s, …).

    Attributes:
        steps: the recorded k, shape (R,).
        frac_inside: fraction of trajectories with τ > k (the event E_k), shape (R,).
        mean_loss_inside: :math:`\mathbb E[F(\theta_k)\mathbf 1_{E_k}]` over all M trajectories
            (Theorem 3.1(3)), shape (R,).
        mean_loss: mean of F(θ_k) over the trajectories still inside, shape (R,) (NaN if none).
        quantile_levels: the levels of :attr:`loss_quantiles`.
        loss_quantiles: quantiles of F(θ_k) over the trajectories still inside, shape (R, Q).
    """

    steps: np.ndarray
    frac_inside: np.ndarray
    mean_loss_inside: np.ndarray
    mean_loss: np.ndarray
    quantile_levels: tuple[float, ...]
    loss_quantiles: np.ndarray


@dataclass
class SGDResult:
    r"""Per-trajectory outcome of :func:`simulate` (numpy arrays on the CPU).

    Attributes:
        exit_step: τ if the trajectory left the ball within the run (or diverged at step τ),
            else −1; shape (M,).
        diverged: True where the iterate, the stochastic gradient or the loss became
            non-finite (at step ``exit_step``); such a trajectory counts as exited and is frozen
            at its last finite iterate; shape (M,).
        path_length: :math:`\sum_{k<\min(\tau, T)}|\theta_{k+1}-\theta_k|`, including the
            step that leaves; shape (M,).
        total_path_length: the length of the whole path run (equal to ``path_length``
            when ``stop_on_exit``); shape (M,).
        max_distance: :math:`\max_{k\le T}|\theta_k-\theta_0|` over the steps run; shape (M,).
        theta_final: θ at the end (at the exit point when ``stop_on_exit``); shape (M, n).
        loss_final: F(θ_final); shape (M,).
        steps_run: T, the number of steps run (fewer than asked on early stop).
        r: r per trajectory; shape (M,).
        record: the :class:`StepRecord` if ``record_every`` was given.
        trace_steps: (trace_steps, loss_trace, theta_trace) per-trajectory traces if ``trace_every`` was
        loss_trace: see ``trace_steps``.
        theta_trace: see ``trace_steps``.
            given (shapes (R,), (M, R), (M, R, n)).
    """

    exit_step: np.ndarray
    path_length: np.ndarray
    total_path_length: np.ndarray
    max_distance: np.ndarray
    theta_final: np.ndarray
    loss_final: np.ndarray
    steps_run: int
    r: np.ndarray
    diverged: np.ndarray | None = None
    record: StepRecord | None = None
    trace_steps: np.ndarray | None = None
    loss_trace: np.ndarray | None = None
    theta_trace: np.ndarray | None = None
    meta: dict = field(default_factory=dict)

    @property
    def n_traj(self) -> int:
        """M, the number of trajectories."""
        return int(self.exit_step.shape[0])

    def __post_init__(self) -> None:
        if self.diverged is None:
            self.diverged = np.zeros(self.exit_step.shape, dtype=bool)

    @property
    def exited(self) -> np.ndarray:
        """Boolean mask of the trajectories that left the ball (τ ≤ T), diverged ones included."""
        return self.exit_step >= 0

    @property
    def n_diverged(self) -> int:
        """How many trajectories became non-finite."""
        return int(self.diverged.sum())

    @property
    def n_exits(self) -> int:
        """How many trajectories left the ball."""
        return int(self.exited.sum())

    @property
    def exit_frequency(self) -> float:
        """The observed fraction of trajectories that left the ball."""
        return self.n_exits / self.n_traj


# --------------------------------------------------------------------------- simulator
def _initial_theta(landscape: Landscape, theta0, n_traj, device: torch.device, dtype: torch.dtype) -> Tensor:
    """θ₀ as an (M, n) tensor on ``device``: one shared start (with ``n_traj``) or one per trajectory."""
    if isinstance(theta0, Tensor) and theta0.device.type not in ("cpu", device.type):
        raise ValueError(f"theta0 is on {theta0.device} but device={device}")
    theta = validation.theta("theta0", theta0, landscape.dim, ndim=(1, 2), dtype=dtype).to(device)
    if theta.ndim == 1:
        if n_traj is None:
            raise ValueError("n_traj is required when theta0 has shape (n,): how many trajectories to run")
        M = validation.integer("n_traj", n_traj, low=1)
        return theta.expand(M, -1).clone()
    M = theta.shape[0]
    if M == 0:
        raise ValueError(f"theta0 has shape {tuple(theta.shape)}: at least one trajectory is needed")
    if n_traj is not None and validation.integer("n_traj", n_traj, low=1) != M:
        raise ValueError(f"n_traj={n_traj} does not match theta0 with {M} rows")
    return theta.clone()


def simulate(
    landscape: Landscape,
    noise: Noise,
    theta0,
    *,
    eta: float | Tensor | Schedule,
    r: float | Tensor,
    steps: int,
    n_traj: int | None = None,
    seed: int = 0,
    device: str | torch.device = "cpu",
    dtype: torch.dtype = torch.float64,
    stop_on_exit: bool = True,
    stop_tol: float | None = None,
    record_every: int | None = None,
    quantile_levels: Sequence[float] = (0.1, 0.5, 0.9),
    trace_every: int | None = None,
    trace_theta: bool = False,
    max_trace_bytes: int = 2**31,
    check_every: int = 50,
    backend: str = "auto",
    rng: str = "counter",
    shard: tuple[int, int] | None = None,
    progress: bool = False,
) -> SGDResult:
    r"""Run M independent SGD trajectories :math:`\theta_{k+1} = \theta_k - \eta_k g(\theta_k;\xi_k)` at once.

    Args:
        landscape: the loss F.
        noise: the stochastic-gradient model.
        theta0: starting point, shape (n,) (shared) or (M, n) (one per trajectory); it is
            also the centre of each trajectory's ball.
        eta: a constant step (any real number type), one constant step per trajectory (a 1-d
            array or tensor of length M), or a :class:`~lojasgd.sgd.schedules.Schedule`.
        r: radius r > 0 of the ball :math:`\bar B(\theta_0, r)`; a number or one per trajectory.
        steps: number of SGD steps T ≥ 1.
        n_traj: M; required when ``theta0`` has shape (n,), else inferred.
        seed: seed in [0, 2⁶³ − 1] of the random stream that drives all the noise.
        device: where to run (``"cpu"``, ``"cuda"``, …; ``"meta"`` holds no values and is refused).
        dtype: floating dtype (``torch.float64`` for theory checks).
        stop_on_exit: freeze a trajectory at its first point outside the ball (default).
            With False, trajectories continue after leaving (the exit step is still recorded).
        stop_tol: stop early once every trajectory has left (with ``stop_on_exit``) or has
            F ≤ stop_tol. Allowed only for noise that vanishes at the minimum, where a
            trajectory at F = 0 never moves again.
        record_every: take a :class:`StepRecord` every so many steps (and at the end).
        quantile_levels: levels of the recorded loss quantiles.
        trace_every: keep F(θ_k) (and θ_k if ``trace_theta``) of every trajectory every so
            many steps; memory O(M·T/trace_every).
        trace_theta: also trace θ (needs ``trace_every``).
        max_trace_bytes: refuse, before allocating anything, a trace larger than this.
        check_every: how often (in steps) to test the early-stop condition.
        backend: ``"tensor"`` (the batched torch program, any landscape and noise),
            ``"fused"`` (one compiled numba kernel for all steps, for the closed-form examples —
            hyperbola, flat and plateau valleys, linear regression — with machine-learning or
            bounded noise; needs ``rng="counter"``; on the CPU in float64, or on a CUDA device in
            float32 or float64 through :func:`lojasgd.kernels.cuda.fused_sgd_cuda`, one thread per
            trajectory, without records or traces), or ``"auto"`` (the default): fused where it applies
            and ``rng="counter"``, else tensor. ``meta["backend"]`` says which ran: ``"tensor"``,
            ``"fused"`` (CPU) or ``"fused-cuda"``.
        rng: ``"counter"`` (the default: the counter-based stream of :mod:`lojasgd.kernels.stream`; the
            draws of trajectory m at step k depend on (seed, m, k) only, the same in every backend, so
            results do not depend on M or the backend, and runs can be sharded and merged) or ``"torch"``
            (one ``torch.Generator`` seeded by ``seed``, as in lojasgd 0.1: the draws depend on M).
        shard: ``(i, n)``: run only the i-th of n contiguous slices of the M trajectories (needs
            ``rng="counter"``); :func:`merge_results` puts the n results together into exactly
            the numbers of one run.
        progress: show a tqdm progress bar.

    Returns:
        An :class:`SGDResult`. Trajectories whose iterate, stochastic gradient or loss became
        non-finite are flagged in ``diverged``, counted as exits at that step, and frozen at
        their last finite iterate.
    """
    validation.instance("landscape", landscape, Landscape)
    validation.instance("noise", noise, Noise)
    dtype = validation.float_dtype("dtype", dtype)
    device = validation.device("device", device)
    backend = validation.choice("backend", backend, BACKENDS)
    rng = validation.choice("rng", rng, STREAMS)
    steps = validation.integer("steps", steps, low=1)
    check_every = validation.integer("check_every", check_every, low=1)
    seed = validation.seed("seed", seed)
    stop_on_exit = validation.flag("stop_on_exit", stop_on_exit)
    trace_theta = validation.flag("trace_theta", trace_theta)
    progress = validation.flag("progress", progress)
    theta = _initial_theta(landscape, theta0, n_traj, device, dtype)
    M_total, n = theta.shape
    offset = 0
    if shard is not None:
        if rng != "counter":
            raise ValueError(f"shard={shard!r} needs rng='counter': with one torch.Generator the draws depend on M")
        if isinstance(shard, (str, bytes)) or not isinstance(shard, Sequence) or len(shard) != 2:
            raise TypeError(f"shard={shard!r} must be a pair (i, n): the i-th of n slices")
        n_shards = validation.integer("shard[1]", shard[1], low=1, high=M_total)
        i_shard = validation.integer("shard[0]", shard[0], low=0, high=n_shards - 1)
        lo, hi = i_shard * M_total // n_shards, (i_shard + 1) * M_total // n_shards
        if hi == lo:
            raise ValueError(f"shard={shard!r} holds no trajectory of the {M_total}")
        theta, offset = theta[lo:hi].clone(), lo
    M = theta.shape[0]
    if stop_tol is not None:
        stop_tol = validation.nonnegative("stop_tol", stop_tol)
        if not noise.vanishes_at_minimum:
            raise ValueError(
                f"stop_tol needs noise that vanishes at the minimum; {noise!r} keeps moving at F = 0"
            )
    if record_every is not None:
        record_every = validation.integer("record_every", record_every, low=1)
    if trace_every is not None:
        trace_every = validation.integer("trace_every", trace_every, low=1)
        max_trace_bytes = validation.integer("max_trace_bytes", max_trace_bytes, low=1)
        n_points = steps // trace_every + 2
        size = M * n_points * (1 + (n if trace_theta else 0)) * torch.finfo(dtype).bits // 8
        if size > max_trace_bytes:
            raise ValueError(
                f"the trace would take {size / 2**20:.1f} MiB ({M} trajectories x {n_points} points"
                f"{f' x (1 + {n}) numbers' if trace_theta else ''}), more than max_trace_bytes={max_trace_bytes}: "
                "trace less often (trace_every), fewer trajectories, trace_theta=False, or raise max_trace_bytes"
            )
    elif trace_theta:
        raise ValueError("trace_theta=True needs trace_every")
    levels = validation.levels("quantile_levels", quantile_levels)

    r_vec = validation.per_trajectory("r", r, M_total, device=device, dtype=dtype, positive=True)[offset:offset + M]
    if isinstance(eta, Schedule):
        schedule, eta_vec = eta, None
    else:
        schedule = None
        eta_vec = validation.per_trajectory("eta", eta, M_total, device=device, dtype=dtype,
                                            positive=True)[offset:offset + M]
    spec = _fused_spec(landscape, noise, device, dtype, backend=backend, record_every=record_every,
                       trace_every=trace_every)
    if backend == "fused" and (spec is None or rng != "counter"):
        why = ("rng='counter'" if spec is not None else
               "a closed-form example landscape (Hyperbola, FlatValley, PlateauValley, LinearRegression) with "
               "MLNoise or BoundedNoise, on the CPU in float64 or on a CUDA device (numba.cuda) in float32/float64")
        raise ValueError(f"backend='fused' needs {why}; got {landscape!r}, {noise!r}, rng={rng!r}, "
                         f"device={device}, dtype={dtype}")
    if backend != "tensor" and spec is not None and rng == "counter":
        return _run_fused(spec, noise, theta, offset, M_total, eta_vec, schedule, r_vec, steps, seed, stop_on_exit,
                          stop_tol, check_every, record_every, levels, trace_every, trace_theta, progress,
                          landscape)

    land = landscape.to(device=device, dtype=dtype)
    if rng == "torch":
        gen = torch.Generator(device=device)
        gen.manual_seed(seed)
    else:
        from ..kernels.stream import TorchStream

        counter = TorchStream(seed, torch.arange(offset, offset + M, device=device))

    # the centres: distances are |θ_k − θ_0|, recomputed (no running displacement). A start shared by
    # all rows is kept as one row and broadcast in the subtraction: the same differences (up to the
    # sign of a zero where one row has −0.0 and another +0.0, which no norm sees), one (M, n) read less.
    shared_start = M == 1 or bool((theta == theta[:1]).all())
    theta0_all = theta[:1].clone() if shared_start else theta.clone()
    # Buffers written in place every step, so that no (M, n) tensor is allocated per step by the
    # bookkeeping. Each op is the one of the plain expression it replaces (same kernels, same
    # order of rounding), so the numbers are those of fde362e bit for bit
    # (tests/test_simulate_golden.py).
    disp = torch.empty_like(theta)  # θ_k − θ_0
    dist = torch.empty(M, dtype=dtype, device=device)  # |θ_k − θ_0|
    g_norm = torch.empty(M, dtype=dtype, device=device)  # |g_k|, then the step length η_k|g_k|
    inside = torch.empty(M, dtype=torch.bool, device=device)  # dist ≤ r
    leaving = torch.empty(M, dtype=torch.bool, device=device)  # alive and not inside
    alive = torch.ones(M, dtype=torch.bool, device=device)  # updated in place only
    diverged = torch.zeros(M, dtype=torch.bool, device=device)
    exit_step = torch.full((M,), -1, dtype=torch.int64, device=device)
    path = torch.zeros(M, dtype=dtype, device=device)
    total = torch.zeros(M, dtype=dtype, device=device) if not stop_on_exit else path
    max_dist = torch.zeros(M, dtype=dtype, device=device)
    zero = torch.zeros((), dtype=dtype, device=device)
    rec: dict[str, list] = {k: [] for k in ("steps", "frac", "mli", "ml", "q")}
    trace_steps: list[int] = []
    loss_tr: list[Tensor] = []
    theta_tr: list[Tensor] = []
    q_levels = torch.tensor(levels, dtype=dtype, device=device) if levels else None

    def mark_diverged(bad: Tensor, k: int) -> None:
        """Flag ``bad`` trajectories as diverged at step k: they count as exits and stop moving."""
        diverged.logical_or_(bad)
        exit_step.masked_fill_(bad & (exit_step < 0), k)
        alive.logical_and_(~bad)

    def observe(k: int, final: bool = False) -> None:
        """Record step k if a stride says so (or if it is the last step run), once."""
        do_rec = record_every is not None and (k % record_every == 0 or final) and (
            not rec["steps"] or rec["steps"][-1] != k
        )
        do_tr = trace_every is not None and (k % trace_every == 0 or final) and (
            not trace_steps or trace_steps[-1] != k
        )
        if not (do_rec or do_tr):
            return
        F = land.loss(theta)
        mark_diverged(~diverged & ~torch.isfinite(F), k)
        if do_rec:
            inside_f = alive.to(dtype)
            n_in = inside_f.sum()
            F_in = torch.where(alive, F, torch.zeros_like(F))
            rec["steps"].append(k)
            rec["frac"].append(inside_f.mean())
            rec["mli"].append(F_in.mean())
            rec["ml"].append(torch.where(n_in > 0, F_in.sum() / n_in.clamp_min(1), torch.nan))
            if q_levels is not None:
                rec["q"].append(torch.nanquantile(torch.where(alive, F, torch.nan), q_levels))
        if do_tr:
            trace_steps.append(k)
            loss_tr.append(F.clone())
            if trace_theta:
                theta_tr.append(theta.clone())

    iterator = range(steps)
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(iterator, desc="SGD", unit="step")

    observe(0)
    k_done = 0
    check_stop = stop_tol is not None
    observing = record_every is not None or trace_every is not None
    for k in iterator:
        xi = noise.draw(land, M, gen if rng == "torch" else counter.at(k), device, dtype)
        g = noise.gradient(land, theta, xi)
        eta_k = eta_vec if schedule is None else schedule.step(k)
        # per-row step: η_k for the rows that move (the alive ones when exits freeze), else 0
        moving = alive if stop_on_exit else ~diverged
        step_row = torch.where(moving, eta_k, zero)
        torch.linalg.vector_norm(g, dim=-1, out=g_norm)
        # one reduction tests all rows: the sum of the norms is finite iff each one is (up to an
        # overflow of the sum, which only sends a finite step through the exact test below)
        if not math.isfinite(g_norm.sum().item()):  # rare: a non-finite stochastic gradient
            bad = ~torch.isfinite(g_norm)
            mark_diverged(moving & bad, k + 1)
            g = g.masked_fill(bad.unsqueeze(-1), 0.0)  # frozen at the last finite iterate (never inf * 0)
            g_norm.masked_fill_(bad, 0.0)
            step_row = step_row.masked_fill(bad, 0.0)
        theta.addcmul_(g, step_row.unsqueeze(-1), value=-1.0)  # θ ← θ − η_k g, in place
        length = g_norm.mul_(step_row)
        if stop_on_exit:
            path.add_(length)  # frozen rows add 0
        else:
            total.add_(length)
            path.add_(torch.where(alive, length, zero))
        torch.sub(theta, theta0_all, out=disp)
        torch.linalg.vector_norm(disp, dim=-1, out=dist)
        torch.fmax(max_dist, dist, out=max_dist)
        # dist <= r is false for a NaN distance: a step that overflowed leaves the ball
        torch.le(dist, r_vec, out=inside)
        torch.gt(alive, inside, out=leaving)  # alive and not inside
        exit_step.masked_fill_(leaving, k + 1)
        alive.logical_and_(inside)
        k_done = k + 1
        if observing:
            observe(k_done)
        if check_stop and (k_done % check_every == 0):
            F = land.loss(theta)
            done = (~alive if stop_on_exit else torch.zeros_like(alive)) | (F <= stop_tol) | diverged
            if bool(done.all()):
                break
    if progress:
        iterator.close()

    observe(k_done, final=True)
    loss_final = land.loss(theta)
    # an overflowed step leaves a non-finite iterate behind (frozen there, or moving on as NaN)
    mark_diverged(~diverged & ~(torch.isfinite(loss_final) & torch.isfinite(theta).all(-1)), k_done)
    record = None
    if record_every is not None:
        record = StepRecord(
            steps=np.array(rec["steps"], dtype=np.int64),
            frac_inside=_np(torch.stack(rec["frac"])),
            mean_loss_inside=_np(torch.stack(rec["mli"])),
            mean_loss=_np(torch.stack(rec["ml"])),
            quantile_levels=levels,
            loss_quantiles=_np(torch.stack(rec["q"])) if rec["q"] else np.zeros((len(rec["steps"]), 0)),
        )
    return SGDResult(
        exit_step=_np(exit_step),
        path_length=_np(path),
        total_path_length=_np(total.clone() if total is path else total),
        max_distance=_np(max_dist),
        theta_final=_np(theta),
        loss_final=_np(loss_final),
        steps_run=k_done,
        r=_np(r_vec),
        diverged=_np(diverged),
        record=record,
        trace_steps=np.array(trace_steps, dtype=np.int64) if trace_every is not None else None,
        loss_trace=_np(torch.stack(loss_tr, dim=1)) if trace_every is not None else None,
        theta_trace=_np(torch.stack(theta_tr, dim=1)) if trace_theta else None,
        meta={"landscape": repr(landscape), "noise": repr(noise), "seed": seed, "device": str(device),
              "dtype": str(dtype), "backend": "tensor", "rng": rng, "traj_offset": offset, "n_total": M_total,
              "schedule": repr(schedule) if schedule is not None else "per-trajectory constant"},
    )


def _np(t: Tensor) -> np.ndarray:
    return t.detach().to("cpu").numpy()


# --------------------------------------------------------------------------- the fused path
def _fused_spec(landscape: Landscape, noise: Noise, device: torch.device, dtype: torch.dtype, *,
                backend: str = "auto", record_every: int | None = None, trace_every: int | None = None):
    """(kernel landscape name, params, noise name, scale, direction, device) when a fused kernel runs this problem, else None.

    A landscape offers a kernel through a ``fused_spec()`` method defined on its own class (so
    that a subclass which changes the loss never runs its parent's kernel). The CPU kernel runs
    float64 on ``device.type == "cpu"``; the CUDA kernel float32 or float64 on a CUDA device where
    ``numba.cuda`` is available (imported only here, only for a CUDA device), without records or
    traces: with ``backend="auto"`` a run that asks for them goes to the tensor path, with
    ``backend="fused"`` it is refused (ValueError naming the argument).
    """
    from ..noise import BoundedNoise, MLNoise

    if device.type == "cuda":
        if dtype not in (torch.float32, torch.float64):
            return None
    elif device.type != "cpu" or dtype != torch.float64:
        return None
    if "fused_spec" not in type(landscape).__dict__ or type(noise) not in (MLNoise, BoundedNoise):
        return None
    if device.type == "cuda":
        asked = [f"{k}={v}" for k, v in (("record_every", record_every), ("trace_every", trace_every)) if v is not None]
        if asked:
            if backend == "fused":
                raise ValueError(f"{', '.join(asked)}: the CUDA fused kernel keeps no records or traces; "
                                 "use backend='auto' or 'tensor' for them")
            return None
        from ..kernels.cuda import cuda_available

        if not cuda_available():
            return None
    name, params = landscape.fused_spec()
    kind, scale = ("ml", noise.sigma) if type(noise) is MLNoise else ("bounded", noise.s)
    scale = scale if isinstance(scale, float) else scale.detach().cpu().numpy()
    direction = noise.direction if isinstance(noise.direction, str) else noise.direction.detach().cpu().numpy()
    return name, params, kind, scale, direction, device


def _run_fused(spec, noise, theta, offset, M_total, eta_vec, schedule, r_vec, steps, seed, stop_on_exit, stop_tol,
               check_every, record_every, levels, trace_every, trace_theta, progress, landscape) -> SGDResult:
    """simulate() through :func:`lojasgd.kernels.fused_sgd` (CPU) or :func:`lojasgd.kernels.cuda.fused_sgd_cuda`
    (CUDA device) on the same stream (``rng="counter"``)."""
    from ..kernels import fused_sgd

    name, params, kind, scale, direction, device = spec
    M = theta.shape[0]
    if not isinstance(scale, float):
        scale = scale[offset:offset + M] if scale.shape[0] == M_total else scale
    if device.type == "cuda":
        return _run_fused_cuda(spec, noise, theta, offset, M_total, eta_vec, schedule, r_vec, steps, seed,
                               stop_on_exit, stop_tol, check_every, scale, landscape)
    eta_kw = dict(eta=1.0, eta_steps=schedule.values(steps)) if schedule is not None else dict(eta=_np(eta_vec))
    res = fused_sgd(name, _np(theta), noise=kind, scale=scale, direction=direction, r=_np(r_vec), steps=steps,
                    seed=seed, traj_offset=offset, params=params, stop_on_exit=stop_on_exit, stop_tol=stop_tol,
                    check_every=check_every, record_every=record_every, record_losses=bool(levels) and
                    record_every is not None, trace_every=trace_every, trace_theta=trace_theta, progress=progress,
                    **eta_kw)
    record = None
    if record_every is not None:
        if levels and res.record_losses is not None:
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # a step with nobody inside has no quantiles
                quantiles = np.nanquantile(res.record_losses, levels, axis=1).T
        else:
            quantiles = np.zeros((len(res.record_steps), 0))
        record = StepRecord(steps=res.record_steps, frac_inside=res.frac_inside, mean_loss_inside=res.mean_loss_inside,
                            mean_loss=res.mean_loss, quantile_levels=levels, loss_quantiles=quantiles)
    return SGDResult(
        exit_step=res.exit_step, path_length=res.path_length, total_path_length=res.total_path_length,
        max_distance=res.max_distance, theta_final=res.theta_final, loss_final=res.loss_final,
        steps_run=res.steps_run, r=_np(r_vec), diverged=res.diverged, record=record,
        trace_steps=res.trace_steps if trace_every is not None else None,
        loss_trace=res.loss_trace if trace_every is not None else None,
        theta_trace=res.theta_trace if trace_theta else None,
        meta={"landscape": repr(landscape), "noise": repr(noise), "seed": seed, "device": "cpu",
              "dtype": str(torch.float64), "backend": "fused", "rng": "counter", "traj_offset": offset,
              "n_total": M_total, "kernel": res,
              "schedule": repr(schedule) if schedule is not None else "per-trajectory constant"},
    )


def _run_fused_cuda(spec, noise, theta, offset, M_total, eta_vec, schedule, r_vec, steps, seed, stop_on_exit,
                    stop_tol, check_every, scale, landscape) -> SGDResult:
    """simulate() through the CUDA kernel: θ₀, η and r stay on the GPU (torch tensors), results come back as numpy."""
    from ..kernels.cuda import fused_sgd_cuda

    name, params, kind, _, direction, device = spec
    eta_kw = dict(eta=1.0, eta_steps=schedule.values(steps)) if schedule is not None else dict(eta=eta_vec)
    res = fused_sgd_cuda(name, theta, noise=kind, scale=scale, direction=direction, r=r_vec, steps=steps, seed=seed,
                         traj_offset=offset, params=params, stop_on_exit=stop_on_exit, stop_tol=stop_tol,
                         check_every=check_every, dtype=theta.dtype, device=device.index, **eta_kw)
    return SGDResult(
        exit_step=res.exit_step, path_length=res.path_length, total_path_length=res.total_path_length,
        max_distance=res.max_distance, theta_final=res.theta_final, loss_final=res.loss_final,
        steps_run=res.steps_run, r=_np(r_vec), diverged=res.diverged,
        meta={"landscape": repr(landscape), "noise": repr(noise), "seed": seed, "device": str(device),
              "dtype": str(theta.dtype), "backend": "fused-cuda", "rng": "counter", "traj_offset": offset,
              "n_total": M_total, "kernel": res,
              "schedule": repr(schedule) if schedule is not None else "per-trajectory constant"},
    )


def merge_results(parts: Sequence[SGDResult]) -> SGDResult:
    """Put the shards of one run (``simulate(..., rng="counter", shard=(i, n))``) back together.

    The per-trajectory arrays are concatenated in trajectory order; the records of fused runs
    are merged exactly (integer accumulators), so the result has the same bits as one run.
    Records of tensor-path shards are averaged with the shard sizes as weights (equal to one
    run up to rounding); their loss quantiles cannot be merged from per-shard quantiles, so the
    merged record has none (``quantile_levels == ()``).
    """
    parts = list(parts)
    if not parts or not all(isinstance(p, SGDResult) for p in parts):
        raise TypeError("parts must be a non-empty sequence of SGDResult")
    parts.sort(key=lambda p: p.meta.get("traj_offset", 0))
    for a, b in zip(parts, parts[1:]):
        if a.meta.get("traj_offset", 0) + a.n_traj != b.meta.get("traj_offset", 0):
            raise ValueError("the shards do not tile the trajectories: offsets "
                             f"{[p.meta.get('traj_offset', 0) for p in parts]} with sizes {[p.n_traj for p in parts]}")
    if len({p.steps_run for p in parts}) != 1:
        raise ValueError(f"the shards ran different numbers of steps {[p.steps_run for p in parts]} (early stopping)")
    cat = {f: np.concatenate([getattr(p, f) for p in parts]) for f in
           ("exit_step", "path_length", "total_path_length", "max_distance", "theta_final", "loss_final", "r",
            "diverged")}
    record = None
    if all(p.record is not None for p in parts):
        if all("kernel" in p.meta for p in parts):
            from ..kernels import merge

            k = merge([p.meta["kernel"] for p in parts])
            levels = parts[0].record.quantile_levels
            if levels and k.record_losses is not None:
                with np.errstate(all="ignore"), warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    quantiles = np.nanquantile(k.record_losses, levels, axis=1).T
            else:
                quantiles = np.zeros((len(k.record_steps), 0))
            record = StepRecord(k.record_steps, k.frac_inside, k.mean_loss_inside, k.mean_loss, levels, quantiles)
        else:
            w = np.array([p.n_traj for p in parts], dtype=float)
            first = parts[0].record
            inside = sum(p.record.frac_inside * p.n_traj for p in parts)
            mli = sum(p.record.mean_loss_inside * p.n_traj for p in parts)
            record = StepRecord(first.steps, inside / w.sum(), mli / w.sum(),
                                np.where(inside > 0, mli / np.maximum(inside, 1e-300), np.nan), (),
                                np.zeros((len(first.steps), 0)))
    traces = {}
    for f in ("loss_trace", "theta_trace"):
        traces[f] = np.concatenate([getattr(p, f) for p in parts]) if all(getattr(p, f) is not None for p in parts) \
            else None
    meta = dict(parts[0].meta)
    meta.update(traj_offset=parts[0].meta.get("traj_offset", 0), merged_from=len(parts))
    meta.pop("kernel", None)
    return SGDResult(steps_run=parts[0].steps_run, record=record, trace_steps=parts[0].trace_steps, meta=meta,
                     **cat, **traces)
