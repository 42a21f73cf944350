"""Mini-batch size b on the chapter 5 tanh network (chapter 6).

Data: N = 4 samples x_i in R^4 (standard normal rows scaled to unit length, seed 0), targets
y = (1, -1, 0.5, -0.5); network: TanhNetwork(width=8, depth=3) with Chatterjee's
initialisation of output scale lambda = 8 (W_1 = 0, hidden weights from seed 1).
SGD with mini-batches of size b drawn with replacement, step eta = 0.04, 600 steps,
``reps`` trajectories per b, one batched run per b. For every trajectory it stores the
largest distance max_k |theta_k - theta_0| reached, so that the probability of staying
in B(theta0, r) is P(max distance <= r) for every radius r at once, and the final loss;
for every b the mean loss E F(theta_k) every 10 steps. Gradient descent (b = N without
replacement) is stored as the reference path. Finally it stores the point of the ball
B(theta0, 1) where ``lojasgd.estimate.estimate_alpha`` found the smallest ratio
|grad F|^2 / F: that ratio is an upper bound on the local constant alpha(theta0, 1).

Usage, from the repository root (under a minute on one core):

    .venv/bin/python scripts/sweep_minibatch.py --out data/minibatch.npz
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from lojasgd import estimate, noise, sgd
from lojasgd.examples import tanh_network

BATCHES = (1, 2, 4, 8, 16)
ETA = 0.04
SCALE = 8.0
TARGETS = (1.0, -1.0, 0.5, -0.5)
ALPHA_RADIUS = 1.0


def network() -> tanh_network.TanhNetwork:
    """The chapter 6 network and data (deterministic)."""
    X = torch.randn(4, 4, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    X = X / X.norm(dim=1, keepdim=True)
    return tanh_network.TanhNetwork(X, torch.tensor(TARGETS, dtype=torch.float64), width=8, depth=3)


def start(net: tanh_network.TanhNetwork) -> torch.Tensor:
    """Chatterjee's initialisation with output scale 8 (hidden weights from seed 1)."""
    return net.chatterjee_init(SCALE, generator=torch.Generator().manual_seed(1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="data/minibatch.npz")
    ap.add_argument("--reps", type=int, default=1000, help="trajectories per batch size")
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.set_default_dtype(torch.float64)

    net = network()
    theta0 = start(net)
    out: dict[str, np.ndarray] = {}
    gd = sgd.simulate(net, noise.MiniBatch(net.n_samples, replace=False), theta0, eta=ETA, r=1e6,
                      steps=args.steps, n_traj=1, seed=0, record_every=10)
    out["gd_max_distance"] = gd.max_distance[0]
    out["gd_mean_loss"] = gd.record.mean_loss
    for b in BATCHES:
        t = time.perf_counter()
        res = sgd.simulate(net, noise.MiniBatch(b), theta0, eta=ETA, r=1e6, steps=args.steps,
                           n_traj=args.reps, seed=args.seed + b, record_every=10, progress=True)
        out[f"b{b}_max_distance"] = res.max_distance.astype(np.float32)
        out[f"b{b}_loss_final"] = res.loss_final.astype(np.float32)
        out[f"b{b}_mean_loss"] = res.record.mean_loss
        print(f"b={b}: {time.perf_counter() - t:.0f} s, median max distance {np.median(res.max_distance):.3f}")
    est = estimate.estimate_alpha(net, theta0, ALPHA_RADIUS, n_points=2000, seed=0)
    print(f"alpha(theta0, {ALPHA_RADIUS}) <= {est.value:.4g}")
    out["alpha_point"] = est.point
    np.savez_compressed(args.out, alpha_radius=ALPHA_RADIUS, batches=np.array(BATCHES), eta=ETA, scale=SCALE, reps=args.reps,
                        steps=args.steps, seed=args.seed, record_steps=gd.record.steps,
                        torch_version=torch.__version__, **out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
