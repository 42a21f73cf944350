"""Chapter 7: the pointwise constants along SGD training across widths, depths, activations, data.

Every configuration is a ``lojasgd.examples.digits.regression`` landscape (scikit-learn's bundled
digits, targets +1 for 0-4 and -1 for 5-9, MLP weights from seed 0, data subset from seed 0)
trained by one SGD run from its standard initialisation (Glorot normal; He normal for ReLU) with
mini-batches drawn with replacement. The baseline is N = 64, tanh, 3 linear layers of width 64,
b = 8; each configuration changes one thing:

* width 16, 64, 256, 512 with 2 linear layers;            * depth 2, 4, 6 with width 64;
* activation softplus, GELU, ReLU;                          * batch size b = 1 and b = 64;
* N = 256 and N = 1797 (all the digits);                    * under-parametrised: N = 1797, width 8, 2 layers
  (n = 529 < N);
* label noise: 25% of the samples repeated with the opposite label (F >= 2m/(N+m) > 0).

The step is eta = 0.04, halved until the run ends with a finite loss below the initial one (the
step used is stored). At ``--checkpoints`` equally spaced checkpoints ``lojasgd.diagnostics.measure``
records F, |grad F|^2/F, the one-sample noise ratio (b = 1) and the top Hessian eigenvalue
(30 power-iteration steps). For ReLU, ``diagnostics.gradient_jump`` measures difference quotients of
grad F across a kink at the last checkpoint, and for tanh the same quotients for comparison.

Usage, from the repository root (6 to 12 minutes on one shared core):

    .venv/bin/python scripts/ch7_sweep.py --out data/ch7_sweep.npz
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
import torch

from lojasgd import diagnostics, noise, sgd
from lojasgd.examples import digits

BASE = dict(N=64, width=64, depth=3, activation="tanh", batch=8, conflicts=None)
CONFIGS = {
    "base": {},
    "w16": dict(width=16, depth=2), "w64": dict(width=64, depth=2), "w256": dict(width=256, depth=2),
    "w512": dict(width=512, depth=2),
    "d4": dict(depth=4), "d6": dict(depth=6),
    "softplus": dict(activation="softplus"), "gelu": dict(activation="gelu"), "relu": dict(activation="relu"),
    "b1": dict(batch=1), "b64": dict(batch=64),
    "N256": dict(N=256), "N1797": dict(N=1797), "under": dict(N=1797, width=8, depth=2),
    "labelnoise": dict(conflicts=0.25),
}
HS = np.array([1e-2, 1e-3, 1e-4, 1e-5, 1e-6])


def build(cfg: dict):
    init = "he" if cfg["activation"] == "relu" else "glorot"
    return digits.regression(cfg["N"], cfg["width"], cfg["depth"], activation=cfg["activation"], init=init,
                             conflicts=cfg["conflicts"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="data/ch7_sweep.npz")
    ap.add_argument("--steps", type=int, default=4000)
    ap.add_argument("--checkpoints", type=int, default=9)
    ap.add_argument("--seed", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.set_default_dtype(torch.float64)
    every = args.steps // (args.checkpoints - 1)
    out: dict[str, np.ndarray] = {}
    for name, change in CONFIGS.items():
        t = time.perf_counter()
        cfg = BASE | change
        land, theta0 = build(cfg)
        F0 = float(land.loss(theta0))
        eta = 0.04
        while True:
            run = sgd.simulate(land, noise.MiniBatch(cfg["batch"]), theta0, eta=eta, r=1e6, steps=args.steps,
                               n_traj=1, seed=args.seed, trace_every=every, trace_theta=True, progress=True)
            if math.isfinite(run.loss_final[0]) and run.loss_final[0] < F0:
                break
            eta /= 2
        m = diagnostics.measure(land, noise.MiniBatch(1), torch.as_tensor(run.theta_trace[0]), n_iter=30)
        pre = name + "_"
        out |= {pre + "eta": eta, pre + "dim": land.dim, pre + "N": land.n_samples, pre + "batch": cfg["batch"],
                pre + "loss": m.loss, pre + "ratio": m.ratio, pre + "noise1": m.noise, pre + "hessian": m.hessian}
        if name in ("base", "relu"):
            u = torch.randn(land.dim, generator=torch.Generator().manual_seed(3))
            _, q = diagnostics.gradient_jump(land, run.theta_trace[0, -1], u, 0.05, HS)
            out[pre + "jump"] = q
        print(f"{name}: n={land.dim}, eta={eta}, {time.perf_counter() - t:.0f} s, F {m.loss[0]:.3g} -> {m.loss[-1]:.3g}")
    out["steps"] = run.trace_steps
    np.savez_compressed(args.out, names=np.array(list(CONFIGS)), hs=HS, seed=args.seed, total_steps=args.steps,
                        torch_version=torch.__version__, **out)


if __name__ == "__main__":
    main()
