"""Writes tests/data/simulate_golden.npz: outputs of simulate's tensor path at commit 9d49d9c (before the tensor-loop rewrite; fde362e had the squared loss without the factor 1/2).

Written with that commit's package on the import path::

    git archive 9d49d9c src | tar -x -C /tmp/old && PYTHONPATH=/tmp/old/src python tests/data/make_simulate_golden.py

``tests/test_simulate_golden.py`` checks that today's tensor path gives the same numbers bit
for bit. The configurations are in :func:`configs` (shared with the test); every tensor in
them has an explicit dtype, so a test that changes torch's default dtype changes nothing.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

FIELDS = ("exit_step", "diverged", "path_length", "total_path_length", "max_distance", "theta_final", "loss_final")


def configs():
    """(name, landscape, noise, theta0, keyword arguments of simulate) for the golden runs."""
    from lojasgd.examples.hyperbola import Hyperbola
    from lojasgd.examples.tanh_network import TanhNetwork
    from lojasgd.examples.plateau import PlateauValley
    from lojasgd.landscapes import ModuleRegression
    from lojasgd.noise import BoundedNoise, MLNoise, MiniBatch
    from lojasgd.sgd import robbins_monro

    g = torch.Generator().manual_seed(0)
    X = torch.randn(6, 4, generator=g, dtype=torch.float64)
    X = X / X.norm(dim=1, keepdim=True)
    y = torch.randn(6, generator=g, dtype=torch.float64)
    net = TanhNetwork(X, y, width=5, depth=3)
    net0 = net.chatterjee_init(3.0, generator=torch.Generator().manual_seed(1))
    torch.manual_seed(0)
    module = torch.nn.Sequential(torch.nn.Linear(4, 3, dtype=torch.float64), torch.nn.Tanh(),
                                 torch.nn.Linear(3, 1, dtype=torch.float64))
    mod = ModuleRegression(module, X, y)
    mod0 = mod.theta_of_module()
    hyp0 = torch.tensor([1.5, 1.0], dtype=torch.float64)  # explicit dtypes: a test may change the default
    shifts = torch.linspace(-0.3, 0.3, 24, dtype=torch.float64)  # one start per trajectory
    eta_vec = torch.linspace(0.02, 0.9, 40, dtype=torch.float64)  # the large steps diverge
    out = []
    for rng in ("torch", "counter"):
        base = dict(backend="tensor", rng=rng)
        out += [
            (f"hyp-ml-{rng}", Hyperbola(), MLNoise(1.0), hyp0,
             dict(eta=0.05, r=0.12, steps=300, n_traj=40, seed=3, **base)),
            (f"hyp-ml-noexitstop-{rng}", Hyperbola(), MLNoise(2.0, direction="sphere"), hyp0,
             dict(eta=0.05, r=0.3, steps=200, n_traj=30, seed=4, stop_on_exit=False, record_every=7,
                  trace_every=9, trace_theta=True, **base)),
            (f"hyp-per-row-starts-{rng}", Hyperbola(), MLNoise(1.5), hyp0 + shifts[:, None],
             dict(eta=0.05, r=0.2, steps=150, seed=12, stop_on_exit=False, record_every=25, **base)),
            (f"hyp-diverge-{rng}", Hyperbola(), MLNoise(4.0), hyp0,
             dict(eta=eta_vec, r=1e200, steps=150, n_traj=40, seed=5, record_every=10, **base)),
            (f"hyp-diverge-noexitstop-{rng}", Hyperbola(), MLNoise(4.0), hyp0,
             dict(eta=eta_vec, r=0.5, steps=150, n_traj=40, seed=5, stop_on_exit=False, **base)),
            (f"hyp-stoptol-{rng}", Hyperbola(), MLNoise(0.5), hyp0,
             dict(eta=0.2, r=5.0, steps=4000, n_traj=20, seed=6, stop_tol=1e-20, check_every=25, **base)),
            (f"plateau-bounded-schedule-{rng}", PlateauValley(), BoundedNoise(0.3, direction="gaussian"),
             torch.tensor([0.3, 0.1], dtype=torch.float64),
             dict(eta=robbins_monro(0.3, 0.7), r=torch.linspace(0.2, 1.0, 25, dtype=torch.float64), steps=250, seed=7,
                  n_traj=25, **base)),
            (f"net-minibatch-{rng}", net, MiniBatch(2), net0,
             dict(eta=0.1, r=0.35, steps=120, n_traj=30, seed=8, record_every=20, **base)),
            (f"net-minibatch-f32-{rng}", net, MiniBatch(3, replace=False, injected=0.1), net0,
             dict(eta=0.05, r=0.2, steps=100, n_traj=20, seed=9, dtype=torch.float32, trace_every=10, **base)),
            (f"module-ml-{rng}", mod, MLNoise(1.0, direction="gaussian"), mod0,
             dict(eta=0.1, r=1.0, steps=80, n_traj=20, seed=10, **base)),
            (f"module-minibatch-{rng}", mod, MiniBatch(1), mod0,
             dict(eta=torch.linspace(0.1, 3.0, 16, dtype=torch.float64), r=1.0, steps=80, n_traj=16, seed=11, stop_on_exit=False, **base)),
        ]
    return out


def run(simulate) -> dict[str, np.ndarray]:
    arrays = {}
    for name, land, noise, theta0, kw in configs():
        res = simulate(land, noise, theta0, **kw)
        for f in FIELDS:
            arrays[f"{name}/{f}"] = np.asarray(getattr(res, f))
        arrays[f"{name}/steps_run"] = np.asarray(res.steps_run)
        if res.record is not None:
            for f in ("steps", "frac_inside", "mean_loss_inside", "mean_loss", "loss_quantiles"):
                arrays[f"{name}/record.{f}"] = np.asarray(getattr(res.record, f))
        if res.loss_trace is not None:
            arrays[f"{name}/loss_trace"] = res.loss_trace
            arrays[f"{name}/trace_steps"] = res.trace_steps
        if res.theta_trace is not None:
            arrays[f"{name}/theta_trace"] = res.theta_trace
    return arrays


if __name__ == "__main__":
    import warnings

    from lojasgd.sgd import simulate

    warnings.simplefilter("ignore")
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("simulate_golden.npz")
    platform = np.asarray(f"{torch.__version__} {torch.backends.cpu.get_cpu_capability()}")
    print("simulate from", sys.modules[simulate.__module__].__file__)
    np.savez_compressed(out, platform=platform, **run(simulate))
    print(f"wrote {out}")
