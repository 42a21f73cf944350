"""Chapter 7: the assumptions measured along SGD training of a standard MLP on real digits.

Data: seeded subsets of scikit-learn's bundled digits (``lojasgd.examples.digits.load``, d = 64,
targets +1 for the digits 0-4 and -1 for 5-9), N = 64 and N = 256. Network: tanh MLP with 3
linear layers of width 64 (n = 8385 parameters), Glorot-normal weights, zero biases (seed 0),
wrapped by ``lojasgd.ModuleRegression`` (F = (1/N) sum (yhat - y)^2).

Training: one SGD run with mini-batches of b = 8 drawn with replacement, constant step
eta = 0.04, ``--steps`` steps, the parameters kept every ``--every`` steps (the checkpoints).
At every checkpoint theta_k:

* pointwise (``lojasgd.diagnostics.measure``): F, |grad F|^2/F, the one-sample noise ratio
  E|g - grad F|^2/F for b = 1 (divide by b for b samples drawn with replacement), the top
  Hessian eigenvalue (30 steps of power iteration);
* on balls B(theta_k, r) for each radius in ``--radii`` (``lojasgd.planning.plan`` with
  ``MiniBatch(8)``, 16 sample points, one L-BFGS start of 20 iterations for each constant):
  the estimates of alpha, sigma, L, G, eta_max, eta*, K(eta*), Theorem 3.1(2)'s bound at eta*,
  and the loss r^2/K^2 the bound needs.

The capture checkpoint (the first one whose plan is ``ok``) and one earlier checkpoint
(half-way to it) are stored for ``scripts/ch7_restarts.py``.

Usage, from the repository root (4 to 16 minutes on one shared core, depending on its load):

    .venv/bin/python scripts/ch7_train.py --out data/ch7_train.npz
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from tqdm.auto import tqdm

from lojasgd import diagnostics, noise, planning, sgd
from lojasgd.examples import digits

WIDTH, DEPTH, BATCH, ETA = 64, 3, 8, 0.04
SIZES = (64, 256)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="data/ch7_train.npz")
    ap.add_argument("--steps", type=int, default=6000)
    ap.add_argument("--every", type=int, default=250)
    ap.add_argument("--plan-every", type=int, default=2, help="plan at every so many checkpoints (twice that for N = 256)")
    ap.add_argument("--radii", type=float, nargs="+", default=[0.05, 0.2])
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.set_default_dtype(torch.float64)
    out: dict[str, np.ndarray] = {}
    radii = np.array(args.radii)
    for N in SIZES:
        t = time.perf_counter()
        land, theta0 = digits.regression(N, WIDTH, DEPTH, seed=0)
        run = sgd.simulate(land, noise.MiniBatch(BATCH), theta0, eta=ETA, r=1e6, steps=args.steps, n_traj=1,
                           seed=args.seed, trace_every=args.every, trace_theta=True, progress=True)
        thetas = torch.as_tensor(run.theta_trace[0])
        m = diagnostics.measure(land, noise.MiniBatch(1), thetas, n_iter=30)
        stride = args.plan_every if N == SIZES[0] else 2 * args.plan_every   # N = 256: half as many plans
        idx = np.arange(0, len(thetas), stride)
        keys = ("alpha", "sigma", "L", "G", "eta_max", "eta_best", "K", "bound", "needed", "ok")
        plans = {k: np.full((len(radii), len(idx)), np.nan) for k in keys}
        for j, i in enumerate(tqdm(idx, desc=f"plans N={N}")):
            for a, r in enumerate(radii):
                p = planning.plan(land, noise.MiniBatch(BATCH), thetas[i], float(r), n_points=16, n_starts=1,
                                  maxiter=20, seed=int(i))
                vals = (p.alpha.value, p.sigma.value, p.L.value, p.G.value, p.eta_max, p.eta_best, p.K,
                        p.exit_bound, p.F0_needed, float(p.ok))
                for k, v in zip(keys, vals):
                    plans[k][a, j] = v
        pre = f"N{N}_"
        out |= {pre + "steps": run.trace_steps, pre + "loss": m.loss, pre + "ratio": m.ratio,
                pre + "noise1": m.noise, pre + "hessian": m.hessian, pre + "plan_index": idx,
                pre + "dim": land.dim}
        out |= {pre + "plan_" + k: v for k, v in plans.items()}
        ok = plans["ok"].max(axis=0) > 0                       # captured for some radius
        if ok.any():
            j = int(np.argmax(ok))
            a = int(np.argmax(plans["ok"][:, j]))
            cap = int(idx[j])
            out[pre + "capture"] = np.array([cap, a])
            out[pre + "theta_capture"] = run.theta_trace[0, cap]
            out[pre + "theta_early"] = run.theta_trace[0, cap // 2]
            out[pre + "early"] = cap // 2
        print(f"N={N}: {time.perf_counter() - t:.0f} s, final F {m.loss[-1]:.3g}, "
              f"capture {out.get(pre + 'capture')}")
    np.savez_compressed(args.out, sizes=np.array(SIZES), width=WIDTH, depth=DEPTH, batch=BATCH, eta=ETA,
                        radii=radii, steps=args.steps, every=args.every, seed=args.seed,
                        torch_version=torch.__version__, **out)


if __name__ == "__main__":
    main()
