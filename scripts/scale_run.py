"""One million SGD trajectories on the hyperbola in one batched run (chapter 6, "Scale").

F(a, b) = (ab - 1)^2 / 2, machine-learning noise with sigma = 20, constant step
eta = 0.3, theta0 = (1.2, 1.0), radius r = 0.75, 400 steps, M = 10^6 trajectories.
Stores, for each of the M / 1000 consecutive blocks of 1000 trajectories, how many
stayed in the closed ball: blocks of 10^4, 10^5, 10^6 are sums of these.

Usage, from the repository root (seconds on one core with the fused kernel that simulate picks):

    .venv/bin/python scripts/scale_run.py --out data/scale.npz

``--shard i/n --out FILE`` runs the i-th of n slices of the trajectories (on the counter-based stream a
trajectory's path does not depend on the slice) and ``--merge FILES --out data/scale.npz`` puts the n
shard files together into exactly the file of one run.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from lojasgd import noise, sgd, sweeps
from lojasgd.examples import hyperbola

THETA0 = (1.2, 1.0)
RADIUS, SIGMA, ETA, STEPS = 0.75, 20.0, 0.3, 400
BLOCK = 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="data/scale.npz")
    ap.add_argument("--n-traj", type=int, default=10**6)
    ap.add_argument("--seed", type=int, default=1000003)
    ap.add_argument("--shard", default=None, help="i/n: run only the i-th of n slices of the trajectories, "
                    "writing a shard file to --out")
    ap.add_argument("--merge", nargs="+", default=None, help="shard files to merge into --out (exactly one run)")
    args = ap.parse_args()
    if args.n_traj % BLOCK:
        raise SystemExit(f"--n-traj must be a multiple of {BLOCK}")
    torch.set_num_threads(1)
    torch.set_default_dtype(torch.float64)
    settings = dict(n_traj=args.n_traj, seed=args.seed)
    if args.merge:
        stays = ~sweeps.merge_shards(args.merge, settings)["exited"]
    else:
        shard = sweeps.parse_shard(args.shard)
        t = time.perf_counter()
        res = sgd.simulate(hyperbola.Hyperbola(), noise.MLNoise(SIGMA), torch.tensor(THETA0), eta=ETA, r=RADIUS,
                           steps=STEPS, n_traj=args.n_traj, seed=args.seed, shard=shard, progress=True)
        print(f"{res.n_traj} trajectories: {time.perf_counter() - t:.0f} s")
        if shard is not None:
            sweeps.save_shard(args.out, shard, {"exited": res.exited}, settings)
            print(f"wrote shard {args.shard} to {args.out}")
            return
        stays = ~res.exited
    blocks = stays.reshape(-1, BLOCK).sum(axis=1).astype(np.int32)
    print(f"M={args.n_traj}: staying frequency {stays.mean():.5f}")
    np.savez_compressed(args.out, block_stays=blocks, block=BLOCK, n_traj=args.n_traj, seed=args.seed,
                        theta0=np.array(THETA0), radius=RADIUS, sigma=SIGMA, eta=ETA, steps=STEPS,
                        torch_version=torch.__version__)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
