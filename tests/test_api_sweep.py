"""A bad-input sweep over the public API: no silent wrong number, no refused valid number.

For every call in CALLS (a valid call of a public function), each scalar numeric argument is
replaced in turn by
* bad values (NaN, ±inf, a bool, a string, None where None is not a default, a complex number):
  the call must raise TypeError or ValueError whose message names the argument;
* the same number in every other real type (numpy scalars, a 0-d array, a 0-d tensor): the
  call must give the same result as with the plain Python number.
The baseline results themselves must be finite. The sweep's counts are asserted to be zero.
"""

from __future__ import annotations

import dataclasses
import math
import re

import numpy as np
import torch

from lojasgd import diagnostics, estimate, noise, planning, rademacher, sgd, stats, sweeps, theory
from lojasgd.examples import hyperbola, linear, plateau, tanh_network, valley
from lojasgd.landscapes import ModuleRegression, TorchLandscape

HYP = hyperbola.Hyperbola()
FV = valley.FlatValley()
ML = noise.MLNoise(1.0)
LIN = linear.LinearRegression(np.eye(3), np.array([1.0, -1.0, 0.5]))
NET = tanh_network.TanhNetwork(np.eye(3), np.array([1.0, -1.0, 0.5]), width=3, depth=3)
NET0 = NET.chatterjee_init(2.0, generator=torch.Generator().manual_seed(0))
SMALL = dict(n_points=8, n_starts=0)

CALLS = [
    (theory.step_size_limit, dict(alpha=1.5, L=2.0, sigma=1.0)),
    (theory.optimal_step, dict(alpha=1.5, L=2.0, sigma=1.0)),
    (theory.contraction_factor, dict(eta=0.1, alpha=1.5, L=2.0, sigma=1.0)),
    (theory.path_constant, dict(eta=0.1, alpha=1.5, L=2.0, sigma=1.0)),
    (theory.markov_exit_bound, dict(F0=0.01, r=1.0, eta=0.1, alpha=1.5, L=2.0, sigma=1.0)),
    (theory.chatterjee_condition, dict(F0=0.01, r=1.0, alpha=1.5)),
    (theory.gd_condition, dict(F0=0.01, r=1.0, eta=0.1, alpha=1.5, L=2.0)),
    (theory.path_rms_bound, dict(F0=0.01, eta=0.1, alpha=1.5, L=2.0, sigma=1.0, Lambda=3.0)),
    (theory.second_moment_exit_bound, dict(F0=0.01, r=1.0, eta=0.1, alpha=1.5, L=2.0, sigma=1.0, Lambda=3.0)),
    (theory.restart_stay_bound, dict(stay=np.array([True, False, True]), loss=np.array([0.01, 0.2, 0.0]),
                                     dist=np.array([0.1, 2.0, 0.3]), K=2.0, r=1.0, level=0.9)),
    (stats.wilson, dict(k=3, n=10, level=0.9)),
    (stats.clopper_pearson, dict(k=3, n=10, level=0.9)),
    (stats.proportion_interval, dict(k=3, n=10, level=0.9, method="exact")),
    (rademacher.paley_zygmund, dict(t=0.1, weights=[0.5, 0.25])),
    (rademacher.atom_bound, dict(n=5)),
    (rademacher.enumerate_law, dict(weights=[0.5, 0.25], decimals=10)),
    (rademacher.density, dict(x=0.1, weights=np.full(60, 0.05), tol=1e-10)),
    (rademacher.abs_tail, dict(t=0.1, weights=np.full(60, 0.05), tol=1e-10)),
    (rademacher.characteristic_function, dict(u=0.3, weights=[0.5, 0.25], chunk=16)),
    (noise.MLNoise, dict(sigma=2.0)),
    (noise.BoundedNoise, dict(s=0.3)),
    (noise.MiniBatch, dict(batch_size=2, injected=0.1)),
    (noise.minibatch_variance_factor, dict(n=10, batch_size=3, replace=False)),
    (sgd.constant, dict(eta=0.1)),
    (sgd.robbins_monro, dict(eta0=0.5, p=0.75)),
    (sgd.warmup, dict(eta=0.1, warmup_steps=5, eta_start=0.01)),
    (sgd.simulate, dict(landscape=HYP, noise=ML, theta0=[1.2, 1.0], eta=0.1, r=0.5, steps=3, n_traj=4, seed=1,
                        stop_tol=1e-12, record_every=1, trace_every=2, check_every=1)),
    (sgd.one_step, dict(landscape=HYP, noise=ML, theta=[1.2, 1.0], eta=0.1)),
    (sgd.euler_maruyama, dict(landscape=HYP, theta0=[1.2, 1.0], eta=0.1, sigma=1.0, dt=0.05, t_max=0.2, r=0.5,
                              n_traj=3, seed=0)),
    (sgd.gradient_flow, dict(landscape=HYP, theta0=[1.2, 1.0], t_end=1.0, n_eval=5, rtol=1e-8, atol=1e-10)),
    (estimate.estimate_alpha, dict(landscape=HYP, theta0=[1.2, 1.0], r=0.3, min_loss=1e-12, seed=0, **SMALL)),
    (estimate.estimate_L, dict(landscape=HYP, theta0=[1.2, 1.0], r=0.3, n_iter=5, seed=0, **SMALL)),
    (estimate.estimate_sigma, dict(landscape=HYP, noise=ML, theta0=[1.2, 1.0], r=0.3, seed=0, **SMALL)),
    (estimate.estimate_G, dict(landscape=HYP, noise=ML, theta0=[1.2, 1.0], r=0.3, seed=0, **SMALL)),
    (estimate.check_assumptions, dict(landscape=HYP, noise=ML, theta0=[1.2, 1.0], r=0.3, eta=0.01, n_points=8,
                                      n_starts=0, L_points=4)),
    (estimate.circle_max, dict(fn=hyperbola.hessian_norm, center=[1.2, 1.0], r=0.3, n_angles=64, refine=5)),
    (sweeps.exit_sweep, dict(landscape=FV, noise=ML, starts=[[0.3, 0.0]], n_per=3, eta=0.5, r=1.0, steps=5)),
    (hyperbola.Hyperbola.alpha, dict(theta0=[1.5, 1.0], r=0.5)),
    (hyperbola.criterion_margin, dict(theta0=[1.5, 1.0])),
    (hyperbola.best_radius, dict(theta0=[1.5, 1.0])),
    (hyperbola.ball_constants, dict(theta0=[1.2, 1.0], r=0.3, eta=0.05, sigma=1.0, n_angles=64)),
    (valley.FlatValley, dict(dim=3)),
    (valley.ml_weights, dict(F0=0.02, eta=0.5, sigma=2.0, n=5)),
    (valley.displacement_variance, dict(F0=0.02, eta=0.5, sigma=2.0)),
    (valley.path_length, dict(F0=0.02, sigma=2.0)),
    (valley.stays_surely, dict(F0=0.02, r=0.3, sigma=2.0)),
    (valley.ville_exit_bound, dict(F0=0.02, r=0.3, eta=0.5, sigma=2.0)),
    (valley.series_weights, dict(etas=[0.5, 0.25], sigma=2.0, x0=0.2)),
    (valley.law_exit_bounds, dict(r=1.1, x0=0.2, weights=np.full(60, 0.1), etas=np.full(60, 0.5))),
    (valley.bounded_noise_variance, dict(s=0.5, etas=[0.5, 0.25])),
    (valley.paley_zygmund_exit_bound, dict(r=0.1, s=1.0, etas=[0.5, 0.25])),
    (plateau.PlateauValley, dict(height=0.5, edge=1.0, width=0.5)),
    (tanh_network.TanhNetwork, dict(X=np.eye(3), y=np.array([1.0, -1.0, 0.5]), width=3, depth=3)),
    (lambda scale, hidden_scale: NET.chatterjee_init(scale, generator=torch.Generator().manual_seed(0),
                                                     hidden_scale=hidden_scale), dict(scale=2.0, hidden_scale=1.0)),
    (tanh_network.ball_bounds, dict(net=NET, theta0=NET0, r=0.1, batch_size=2)),
    (tanh_network.schur_infimum, dict(net=NET, theta0=NET0, r=0.1, maxiter=2, seed=0, **SMALL)),
    (TorchLandscape, dict(fn=lambda t: (t**2).sum(), dim=2)),
    (ModuleRegression, dict(module=torch.nn.Linear(3, 1), X=np.eye(3), y=np.array([1.0, -1.0, 0.5]))),
    (LIN.loss, dict(theta=[0.1, 0.2, 0.3])),
    (planning.plan, dict(landscape=HYP, noise=ML, theta0=[1.2, 1.0], r=0.3, eta=0.01, seed=0, n_points=8,
                         n_starts=0, maxiter=2, L_points=4, zero_tol=1e-12, alpha_tol=1e-9)),
    (diagnostics.top_hessian_eigenvalue, dict(landscape=HYP, theta=[1.2, 1.0], n_iter=5, seed=0)),
    (diagnostics.empirical_noise, dict(landscape=HYP, noise=ML, theta=[1.2, 1.0], n_draws=50, seed=0)),
    (HYP.grad, dict(theta=[1.2, 1.0])),
]
OPTIONAL_NONE = {"stop_tol", "record_every", "trace_every", "eta_start", "n_traj", "cutoff", "step", "L_points",
                 "n_starts", "maxiter"}
#: documented valid values among the "bad" ones: alpha = inf means F vanishes on the whole ball
ALLOWED = {("chatterjee_condition", "alpha", math.inf), ("plan", "eta", None)}  # plan: eta=None means eta*
BAD = [math.nan, math.inf, -math.inf, True, "1", None, 1 + 1j]


def _flat(out) -> list:
    """A result as a list of comparable leaves (floats, or reprs of opaque objects)."""
    if out is None or isinstance(out, (str, bool)):
        return [out]
    if isinstance(out, (int, float, np.number)):
        return [float(out)]
    if isinstance(out, torch.Tensor):
        return out.detach().double().reshape(-1).tolist()
    if isinstance(out, np.ndarray):
        return out.astype(float).reshape(-1).tolist() if out.dtype != object else [repr(out)]
    if isinstance(out, (tuple, list)):
        return [x for o in out for x in _flat(o)]
    if isinstance(out, dict):
        return [x for k in sorted(out) for x in _flat(out[k])]
    if isinstance(out, sgd.Schedule):  # before the dataclass branch: its field fn is a function whose repr
        # holds a memory address (equal between calls only when CPython reuses the memory: a flaky test)
        return [out.name, out.sup, *out.values(5).tolist()]
    if callable(out):
        raise TypeError(f"cannot compare the callable {out!r}: give its type a branch in _flat")
    if dataclasses.is_dataclass(out):
        return [x for f in dataclasses.fields(out) if f.name != "meta" for x in _flat(getattr(out, f.name))]
    if isinstance(out, noise.Noise):
        return [repr(out)]
    if hasattr(out, "dim"):
        return [type(out).__name__, out.dim]
    return [repr(out)]


def _same(a: list, b: list) -> bool:
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        if isinstance(x, float) and isinstance(y, float):
            if not (x == y or (math.isnan(x) and math.isnan(y)) or math.isclose(x, y, rel_tol=1e-7, abs_tol=1e-12)):
                return False
        elif x != y:
            return False
    return True


def _alternatives(v):
    if isinstance(v, bool):
        return []
    if isinstance(v, int):
        return [np.int64(v), np.int32(v), np.array(v), torch.tensor(v)]
    if isinstance(v, float):
        alts = [np.float64(v), np.array(v), torch.tensor(v, dtype=torch.float64)]
        if float(np.float32(v)) == v:
            alts += [np.float32(v), torch.tensor(v, dtype=torch.float32)]
        return alts
    return []


def _sweep():
    silent, unnamed, refused, nonfinite, calls = [], [], [], [], 0
    for fn, kwargs in CALLS:
        base = _flat(fn(**kwargs))
        calls += 1
        if any(isinstance(x, float) and not math.isfinite(x) for x in base):
            nonfinite.append((fn.__qualname__, base))
        for name, v in kwargs.items():
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                continue
            for bad in BAD:
                if bad is None and name in OPTIONAL_NONE:
                    continue
                calls += 1
                try:
                    out = fn(**{**kwargs, name: bad})
                except (TypeError, ValueError) as err:
                    if not re.search(rf"(?<![\w]){re.escape(name)}(?![\w])", str(err)):
                        unnamed.append((fn.__qualname__, name, bad, str(err)))
                    continue
                if (fn.__qualname__, name, bad) not in ALLOWED:
                    silent.append((fn.__qualname__, name, bad, _flat(out)[:4]))
            for alt in _alternatives(v):
                calls += 1
                try:
                    out = _flat(fn(**{**kwargs, name: alt}))
                except (TypeError, ValueError) as err:
                    refused.append((fn.__qualname__, name, type(alt).__name__, str(err)))
                    continue
                if not _same(out, base):
                    refused.append((fn.__qualname__, name, type(alt).__name__, "different result"))
    return calls, silent, unnamed, refused, nonfinite


def test_bad_input_sweep_over_the_public_api():
    calls, silent, unnamed, refused, nonfinite = _sweep()
    assert calls > 1000
    assert not silent, f"{len(silent)} bad values accepted silently: {silent[:5]}"
    assert not unnamed, f"{len(unnamed)} errors that do not name the argument: {unnamed[:5]}"
    assert not refused, f"{len(refused)} valid numbers refused or answered differently: {refused[:5]}"
    assert not nonfinite, f"non-finite results of valid calls: {nonfinite[:3]}"
