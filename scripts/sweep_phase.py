"""Phase diagrams of the staying probability on the hyperbola (chapter 6).

Two sweeps of SGD with machine-learning noise on F(a, b) = (ab - 1)^2 / 2, each a whole
grid x repetitions in ONE batched run of ``lojasgd.sgd.simulate`` (per-trajectory step
sizes, noise constants and starting points):

* ``eta_sigma``: step eta x noise constant sigma at theta0 = (1.2, 1.0), radius r = 0.75;
* ``eta_F0``:    step eta x initial loss F(theta0) at sigma = 4, r = 0.75, with
  theta0(s) = (s*sqrt(1.2), s/sqrt(1.2)) and s^2 = 1 + sqrt(2 F0), so F(theta0) = F0.

For every cell it stores how many of the ``reps`` trajectories never left the closed
ball B(theta0, r) within ``steps`` steps, and the mean and standard deviation of the
path length before exit (Theorem 3.1(1)).

Usage, from the repository root (seconds on one core with the fused kernel that simulate picks):

    .venv/bin/python scripts/sweep_phase.py --out data/phase.npz

``--shard i/n --out FILE`` runs the i-th of n slices of the trajectories (on the counter-based stream a
trajectory's path does not depend on the slice) and ``--merge FILES --out data/phase.npz`` puts the n
shard files together into exactly the file of one run.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
import torch

from lojasgd import noise, sgd, sweeps
from lojasgd.examples import hyperbola
from lojasgd.sweeps import Grid

THETA0 = (1.2, 1.0)
RADIUS = 0.75
SIGMA_FIXED = 4.0
RATIO = 1.2  # theta0(s) = (s*sqrt(RATIO), s/sqrt(RATIO))


def theta0_of_F0(F0: torch.Tensor) -> torch.Tensor:
    """Starting points (s*sqrt(1.2), s/sqrt(1.2)) with ab = s^2 = 1 + sqrt(2 F0) > 1."""
    s = torch.sqrt(1 + torch.sqrt(2 * F0))
    return torch.stack([s * math.sqrt(RATIO), s / math.sqrt(RATIO)], dim=-1)


def run(grid: Grid, theta0: torch.Tensor, sigma: torch.Tensor | float, *, steps: int, seed: int,
        shard: tuple[int, int] | None) -> dict:
    """Per-trajectory outcomes (exited, path length) of the grid's trajectories, or of one slice of them."""
    t = time.perf_counter()
    res = sgd.simulate(hyperbola.Hyperbola(), noise.MLNoise(sigma), theta0, eta=grid.column("eta"),
                       r=RADIUS, steps=steps, seed=seed, shard=shard, progress=True)
    print(f"{grid}: {time.perf_counter() - t:.0f} s, staying frequency {1 - res.exited.mean():.3f}")
    return {"exited": res.exited, "path_length": res.path_length}


def summary(grid: Grid, out: dict) -> dict:
    """Staying counts and path-length mean and standard deviation per cell."""
    path = grid.per_cell(out["path_length"])
    return {"stay": grid.counts(~out["exited"]).astype(np.int32), "path_mean": path.mean(-1),
            "path_std": path.std(-1, ddof=1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="data/phase.npz")
    ap.add_argument("--reps", type=int, default=400, help="trajectories per cell")
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=2025)
    ap.add_argument("--shard", default=None, help="i/n: run only the i-th of n slices of each grid's trajectories, "
                    "writing a shard file to --out")
    ap.add_argument("--merge", nargs="+", default=None, help="shard files to merge into --out (exactly one run)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.set_default_dtype(torch.float64)

    etas = np.logspace(-2, math.log10(1.5), 24)
    g1 = Grid(args.reps, eta=etas, sigma=np.linspace(0, 40, 21))
    g2 = Grid(args.reps, eta=etas, F0=np.logspace(-4, 0, 21))
    settings = dict(reps=args.reps, steps=args.steps, seed=args.seed)
    if args.merge:
        merged = sweeps.merge_shards(args.merge, settings)
        out1 = {k[2:]: v for k, v in merged.items() if k.startswith("1_")}
        out2 = {k[2:]: v for k, v in merged.items() if k.startswith("2_")}
    else:
        shard = sweeps.parse_shard(args.shard)
        th1 = torch.tensor(THETA0).expand(g1.n_traj, 2)
        out1 = run(g1, th1, g1.column("sigma"), steps=args.steps, seed=args.seed, shard=shard)
        th2 = theta0_of_F0(g2.column("F0"))
        out2 = run(g2, th2, SIGMA_FIXED, steps=args.steps, seed=args.seed + 1, shard=shard)
        if shard is not None:
            sweeps.save_shard(args.out, shard, {**{f"1_{k}": v for k, v in out1.items()},
                                                **{f"2_{k}": v for k, v in out2.items()}}, settings)
            print(f"wrote shard {args.shard} to {args.out}")
            return
    a, b = summary(g1, out1), summary(g2, out2)

    np.savez_compressed(
        args.out,
        eta=etas, sigma=g1.axes["sigma"], F0=g2.axes["F0"], reps=args.reps, steps=args.steps, seed=args.seed,
        theta0=np.array(THETA0), radius=RADIUS, sigma_fixed=SIGMA_FIXED, ratio=RATIO,
        eta_sigma_stay=a["stay"], eta_sigma_path_mean=a["path_mean"].astype(np.float32),
        eta_sigma_path_std=a["path_std"].astype(np.float32),
        eta_F0_stay=b["stay"], eta_F0_path_mean=b["path_mean"].astype(np.float32),
        eta_F0_path_std=b["path_std"].astype(np.float32),
        torch_version=torch.__version__,
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
