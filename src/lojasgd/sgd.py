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

Step sizes: a number, a 1-d tensor of per-trajectory constant steps, or a
:class:`Schedule` (:func:`constant`, :func:`robbins_monro`, :func:`warmup`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor

from .landscapes import Landscape, as_theta
from .noise import Noise

__all__ = [
    "Schedule",
    "constant",
    "robbins_monro",
    "warmup",
    "SGDResult",
    "StepRecord",
    "simulate",
]


# --------------------------------------------------------------------------- schedules
@dataclass(frozen=True)
class Schedule:
    r"""A deterministic step-size schedule k ↦ η_k.

    Attributes:
        fn: the map k ↦ η_k (k = 0, 1, …).
        name: a short description used in plots and reprs.
        sup: :math:`\bar\eta = \sup_k \eta_k` (the η̄ of Theorem 3.1).
    """

    fn: Callable[[int], float]
    name: str
    sup: float

    def __call__(self, k: int) -> float:
        return self.fn(k)

    def values(self, steps: int) -> np.ndarray:
        """η_0, …, η_{steps−1} as an array."""
        return np.array([self.fn(k) for k in range(steps)], dtype=float)

    def __repr__(self) -> str:
        return f"Schedule({self.name})"


def _pos(name: str, v: float) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
        raise ValueError(f"{name}={v!r} must be a finite number > 0")
    return float(v)


def constant(eta: float) -> Schedule:
    """Constant step η_k = η."""
    eta = _pos("eta", eta)
    return Schedule(lambda k: eta, f"constant η={eta:g}", eta)


def robbins_monro(eta0: float, p: float) -> Schedule:
    r"""Robbins–Monro steps :math:`\eta_k = \eta_0/(k+1)^p` with p ∈ (1/2, 1] (Theorem 4.1).

    Then :math:`\sum\eta_k = \infty` and :math:`\sum\eta_k^2 < \infty`.
    """
    eta0 = _pos("eta0", eta0)
    p = _pos("p", p)
    if not 0.5 < p <= 1:
        raise ValueError(f"p={p} must lie in (1/2, 1] so that Σ η_k = ∞ and Σ η_k² < ∞")
    return Schedule(lambda k: eta0 / (k + 1) ** p, f"η₀={eta0:g}/(k+1)^{p:g}", eta0)


def warmup(eta: float, warmup_steps: int, eta_start: float | None = None) -> Schedule:
    r"""Linear warm-up from ``eta_start`` (default η/10) to η over ``warmup_steps``, then constant η."""
    eta = _pos("eta", eta)
    if isinstance(warmup_steps, bool) or not isinstance(warmup_steps, int) or warmup_steps < 1:
        raise ValueError(f"warmup_steps={warmup_steps!r} must be an integer >= 1")
    start = eta / 10 if eta_start is None else _pos("eta_start", eta_start)
    if start > eta:
        raise ValueError(f"eta_start={start} must be <= eta={eta}")

    def fn(k: int) -> float:
        return start + (eta - start) * min(k, warmup_steps) / warmup_steps

    return Schedule(fn, f"warm-up {start:g}→{eta:g} over {warmup_steps}", eta)


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
        exit_step: τ if the trajectory left the ball within the run, else −1; shape (M,).
        path_length: :math:`\sum_{k<\min(\tau, T)}|\theta_{k+1}-\theta_k|`, including the
            step that leaves; shape (M,).
        total_path_length: the length of the whole path run (equal to ``path_length``
            when ``stop_on_exit``); shape (M,).
        max_distance: :math:`\max_{k\le T}|\theta_k-\theta_0|` over the steps run; shape (M,).
        theta_final: θ at the end (at the exit point when ``stop_on_exit``); shape (M, n).
        loss_final: F(θ_final); shape (M,).
        steps_run: T, the number of steps run (fewer than asked on early stop).
        radius: r per trajectory; shape (M,).
        record: the :class:`StepRecord` if ``record_every`` was given.
        trace_steps, loss_trace, theta_trace: per-trajectory traces if ``trace_every`` was
            given (shapes (R,), (M, R), (M, R, n)).
    """

    exit_step: np.ndarray
    path_length: np.ndarray
    total_path_length: np.ndarray
    max_distance: np.ndarray
    theta_final: np.ndarray
    loss_final: np.ndarray
    steps_run: int
    radius: np.ndarray
    record: StepRecord | None = None
    trace_steps: np.ndarray | None = None
    loss_trace: np.ndarray | None = None
    theta_trace: np.ndarray | None = None
    meta: dict = field(default_factory=dict)

    @property
    def n_traj(self) -> int:
        """M, the number of trajectories."""
        return int(self.exit_step.shape[0])

    @property
    def exited(self) -> np.ndarray:
        """Boolean mask of the trajectories that left the ball (τ ≤ T)."""
        return self.exit_step >= 0

    @property
    def n_exits(self) -> int:
        """How many trajectories left the ball."""
        return int(self.exited.sum())

    @property
    def exit_frequency(self) -> float:
        """The observed fraction of trajectories that left the ball."""
        return self.n_exits / self.n_traj


# --------------------------------------------------------------------------- simulator
def _per_traj(name: str, value, M: int, device, dtype, *, positive: bool) -> Tensor:
    """A scalar or a length-M 1-d tensor as a length-M tensor on device, validated."""
    if isinstance(value, Tensor):
        if value.device.type not in ("cpu", torch.device(device).type):
            raise ValueError(f"{name} is on {value.device} but device={device}")
        t = value.detach().to(device=device, dtype=dtype)
        if t.ndim == 0:
            t = t.expand(M)
        if t.shape != (M,):
            raise ValueError(f"{name} must be a number or have shape ({M},), got {tuple(t.shape)}")
    else:
        if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
            raise TypeError(f"{name}={value!r} must be a number or a 1-d tensor")
        t = torch.full((M,), float(value), device=device, dtype=dtype)
    if not torch.isfinite(t).all():
        raise ValueError(f"{name} must be finite")
    if positive and (t <= 0).any():
        raise ValueError(f"{name}={_describe(t)} must be > 0")
    return t


def _describe(t: Tensor) -> str:
    return f"{float(t.min()):.6g}" if t.numel() == 1 or float(t.min()) == float(t.max()) else f"tensor(min={float(t.min()):.6g})"


def _check_int(name: str, value, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name}={value!r} must be an integer >= {low}")
    return int(value)


def simulate(
    landscape: Landscape,
    noise: Noise,
    theta0,
    *,
    eta: float | Tensor | Schedule,
    radius: float | Tensor,
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
    check_every: int = 50,
    progress: bool = False,
) -> SGDResult:
    r"""Run M independent SGD trajectories :math:`\theta_{k+1} = \theta_k - \eta_k g(\theta_k;\xi_k)` at once.

    Args:
        landscape: the loss F.
        noise: the stochastic-gradient model.
        theta0: starting point, shape (n,) (shared) or (M, n) (one per trajectory); it is
            also the centre of each trajectory's ball.
        eta: a constant step, a length-M tensor of per-trajectory constant steps, or a
            :class:`Schedule`.
        radius: r > 0 of the ball :math:`\bar B(\theta_0, r)`; a number or length-M tensor.
        steps: number of SGD steps T ≥ 1.
        n_traj: M; required when ``theta0`` has shape (n,), else inferred.
        seed: seed of the ``torch.Generator`` that drives all the noise.
        device: where to run (``"cpu"``, ``"cuda"``, …).
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
        check_every: how often (in steps) to test the early-stop condition.
        progress: show a tqdm progress bar.

    Returns:
        An :class:`SGDResult`.
    """
    if not isinstance(landscape, Landscape):
        raise TypeError(f"landscape must be a Landscape, got {type(landscape).__name__}")
    if not isinstance(noise, Noise):
        raise TypeError(f"noise must be a Noise, got {type(noise).__name__}")
    if not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
        raise TypeError(f"dtype={dtype!r} must be a floating torch.dtype")
    device = torch.device(device)
    steps = _check_int("steps", steps, 1)
    check_every = _check_int("check_every", check_every, 1)
    if isinstance(theta0, Tensor) and theta0.device.type not in ("cpu", device.type):
        raise ValueError(f"theta0 is on {theta0.device} but device={device}")
    theta = as_theta(theta0, landscape.dim, name="theta0", dtype=dtype).to(device)
    if theta.ndim == 1:
        if n_traj is None:
            raise ValueError("n_traj is required when theta0 has shape (n,)")
        M = _check_int("n_traj", n_traj, 1)
        theta = theta.expand(M, -1).clone()
    elif theta.ndim == 2:
        M = theta.shape[0]
        if n_traj is not None and n_traj != M:
            raise ValueError(f"n_traj={n_traj} does not match theta0 with {M} rows")
        theta = theta.clone()
    else:
        raise ValueError(f"theta0 must have shape (n,) or (M, n), got {tuple(theta.shape)}")
    if stop_tol is not None:
        if not (isinstance(stop_tol, (int, float)) and math.isfinite(stop_tol) and stop_tol >= 0):
            raise ValueError(f"stop_tol={stop_tol!r} must be a finite number >= 0")
        if not noise.vanishes_at_minimum:
            raise ValueError(
                f"stop_tol needs noise that vanishes at the minimum; {noise!r} keeps moving at F = 0"
            )
    if record_every is not None:
        record_every = _check_int("record_every", record_every, 1)
    if trace_every is not None:
        trace_every = _check_int("trace_every", trace_every, 1)
    elif trace_theta:
        raise ValueError("trace_theta=True needs trace_every")
    levels = tuple(float(q) for q in quantile_levels)
    if any(not 0 <= q <= 1 for q in levels):
        raise ValueError(f"quantile_levels={levels} must lie in [0, 1]")

    r = _per_traj("radius", radius, M, device, dtype, positive=True)
    if isinstance(eta, Schedule):
        schedule, eta_vec = eta, None
    else:
        schedule, eta_vec = None, _per_traj("eta", eta, M, device, dtype, positive=True).unsqueeze(-1)

    land = landscape.to(device=device, dtype=dtype)
    gen = torch.Generator(device=device)
    gen.manual_seed(int(seed))

    disp = torch.zeros_like(theta)  # θ_k − θ_0, updated in place with θ_k
    alive = torch.ones(M, dtype=torch.bool, device=device)
    exit_step = torch.full((M,), -1, dtype=torch.int64, device=device)
    path = torch.zeros(M, dtype=dtype, device=device)
    total = torch.zeros(M, dtype=dtype, device=device)
    max_dist = torch.zeros(M, dtype=dtype, device=device)
    rec: dict[str, list] = {k: [] for k in ("steps", "frac", "mli", "ml", "q")}
    trace_steps: list[int] = []
    loss_tr: list[Tensor] = []
    theta_tr: list[Tensor] = []
    q_levels = torch.tensor(levels, dtype=dtype, device=device) if levels else None

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
        if do_rec:
            inside = alive.to(dtype)
            n_in = inside.sum()
            rec["steps"].append(k)
            rec["frac"].append(inside.mean())
            rec["mli"].append((F * inside).mean())
            rec["ml"].append(torch.where(n_in > 0, (F * inside).sum() / n_in.clamp_min(1), torch.nan))
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
    for k in iterator:
        xi = noise.draw(land, M, gen, device, dtype)
        g = noise.gradient(land, theta, xi)
        step_k = eta_vec if schedule is None else schedule(k)
        alive_f = alive.to(dtype).unsqueeze(-1)
        # per-row step: η_k, times 1{alive} when exited trajectories are frozen
        scale = (alive_f if stop_on_exit else torch.ones_like(alive_f)) * step_k
        length = torch.linalg.vector_norm(g, dim=-1) * scale.squeeze(-1).abs()
        theta.addcmul_(g, scale, value=-1.0)  # θ ← θ − η_k g, fused and in place
        disp.addcmul_(g, scale, value=-1.0)
        path.add_(length * alive_f.squeeze(-1))
        total.add_(length)
        dist = torch.linalg.vector_norm(disp, dim=-1)
        torch.maximum(max_dist, dist, out=max_dist)
        leaving = alive & (dist > r)
        exit_step = torch.where(leaving, torch.full_like(exit_step, k + 1), exit_step)
        alive = alive & ~leaving
        k_done = k + 1
        observe(k_done)
        if stop_tol is not None and (k_done % check_every == 0):
            F = land.loss(theta)
            done = (~alive if stop_on_exit else torch.zeros_like(alive)) | (F <= stop_tol)
            if bool(done.all()):
                break
    if progress:
        iterator.close()

    observe(k_done, final=True)
    loss_final = land.loss(theta)
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
        total_path_length=_np(total),
        max_distance=_np(max_dist),
        theta_final=_np(theta),
        loss_final=_np(loss_final),
        steps_run=k_done,
        radius=_np(r),
        record=record,
        trace_steps=np.array(trace_steps, dtype=np.int64) if trace_every is not None else None,
        loss_trace=_np(torch.stack(loss_tr, dim=1)) if trace_every is not None else None,
        theta_trace=_np(torch.stack(theta_tr, dim=1)) if trace_theta else None,
        meta={"landscape": repr(landscape), "noise": repr(noise), "seed": seed, "device": str(device),
              "dtype": str(dtype), "schedule": repr(schedule) if schedule is not None else "per-trajectory constant"},
    )


def _np(t: Tensor) -> np.ndarray:
    return t.detach().to("cpu").numpy()
