"""Exit frequencies on the flat valley with machine-learning noise (chapter 6, Proposition 6.1).

F(x, y) = x^2 / 2, g = (x, sqrt(sigma F) xi) with xi = +-1, sigma = 8, radius r = 1,
theta0 = (sqrt(2 F0), 0). One batched run of ``lojasgd.sgd.simulate`` covers the grid
step eta (17 values, 0.01 to 1, log-spaced) x initial loss F0 (30 values, 0.02 to 0.6)
with ``reps`` trajectories per cell, and stores how many left the closed ball within
``steps`` steps. With steps = 1500 every step size has (1 - eta)^steps < 1e-6, so the
part of the path not simulated is shorter than 1e-6 * sqrt((2 + sigma) F0).

Usage, from the repository root (seconds on one core with the fused kernel that simulate picks):

    .venv/bin/python scripts/sweep_valley.py --out data/valley.npz

or in slices, run anywhere in any order, then merged into exactly the numbers of one run:

    .venv/bin/python scripts/sweep_valley.py --shard 0/2 --out /tmp/v0.npz
    .venv/bin/python scripts/sweep_valley.py --shard 1/2 --out /tmp/v1.npz
    .venv/bin/python scripts/sweep_valley.py --merge /tmp/v0.npz /tmp/v1.npz --out data/valley.npz
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from lojasgd import noise, sgd
from lojasgd.examples import valley
from lojasgd import sweeps
from lojasgd.sweeps import Grid

SIGMA = 8.0
RADIUS = 1.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="data/valley.npz")
    ap.add_argument("--reps", type=int, default=1000, help="trajectories per cell")
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--seed", type=int, default=4242)
    ap.add_argument("--shard", default=None, help="i/n: run only the i-th of n slices of the trajectories, "
                    "writing a shard file to --out")
    ap.add_argument("--merge", nargs="+", default=None, help="shard files to merge into --out (exactly one run)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.set_default_dtype(torch.float64)

    grid = Grid(args.reps, eta=np.logspace(-2, 0, 17), F0=np.linspace(0.02, 0.6, 30))
    settings = dict(reps=args.reps, steps=args.steps, seed=args.seed)
    if args.merge:
        exited = sweeps.merge_shards(args.merge, settings)["exited"]
    else:
        shard = sweeps.parse_shard(args.shard)
        x0 = torch.sqrt(2 * grid.column("F0"))
        theta0 = torch.stack([x0, torch.zeros_like(x0)], dim=-1)
        t = time.perf_counter()
        res = sgd.simulate(valley.FlatValley(), noise.MLNoise(SIGMA, direction=[0.0, 1.0]), theta0,
                           eta=grid.column("eta"), r=RADIUS, steps=args.steps, seed=args.seed, shard=shard,
                           progress=True)
        print(f"{grid}: {time.perf_counter() - t:.0f} s")
        if shard is not None:
            sweeps.save_shard(args.out, shard, {"exited": res.exited}, settings)
            print(f"wrote shard {args.shard} to {args.out}")
            return
        exited = res.exited
    np.savez_compressed(
        args.out, eta=grid.axes["eta"], F0=grid.axes["F0"], reps=args.reps, steps=args.steps, seed=args.seed,
        sigma=SIGMA, radius=RADIUS, exits=grid.counts(exited).astype(np.int32),
        torch_version=torch.__version__,
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
