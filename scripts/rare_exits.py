"""Exit counts where Theorem 3.1(2) is informative, at 10^10 trajectory-steps per setting (chapter 3).

Six settings, each M trajectories of T steps of SGD with machine-learning noise, run by the
fused kernel that ``lojasgd.sgd.simulate`` picks for these closed-form landscapes:

* the hyperbola F(a, b) = (ab - 1)^2 / 2 of chapter 3 (sigma = 16, eta = 0.02, r = 0.3,
  Rademacher directions) from three of its starts theta0 = (1, 1) + t (1, 1)/sqrt(2);
* the flat valley F = x^2 / 2 with isotropic (Rademacher) noise (sigma = 8, eta = 0.2 = eta*,
  r = 1) from theta0 = (x0, 0) for three x0.

Stored per setting: the number of trajectories that left the closed ball within T steps, the
number that diverged (must be 0), M, T, the seed and the setting. The chapter turns the counts
into Clopper-Pearson intervals (a zero count into an upper limit) and compares them with the
bounds of Theorem 3.1(2), Proposition 3.7 and Proposition 3.8.

Usage, from the repository root (a few minutes on one core: 10^7 trajectories x 10^3 steps per setting; ``--shard i/n`` runs a slice of
every setting's trajectories and ``--merge`` adds shard files into exactly the one-run counts):

    .venv/bin/python scripts/rare_exits.py --out data/rare_exits.npz
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from tqdm.auto import tqdm

from lojasgd import noise, sgd
from lojasgd.examples import hyperbola, valley

HY = dict(sigma=16.0, eta=0.02, r=0.3, t=tuple(np.geomspace(0.004, 0.4, 12)[[0, 3, 6]]))  # chapter 3's starts 1, 4, 7
VA = dict(sigma=8.0, eta=0.2, r=1.0, x0=(0.1, 0.15, 0.2))
STEPS = 1000
SEED = 20261201


def settings():
    """(name, landscape, noise, theta0, eta, r) for the six settings, in order."""
    out = []
    for t in HY["t"]:
        th = np.array([1.0, 1.0]) + t * np.array([1.0, 1.0]) / np.sqrt(2)
        out.append((f"hyperbola t={t:.4g}", hyperbola.Hyperbola(), noise.MLNoise(HY["sigma"]), th, HY["eta"], HY["r"]))
    for x0 in VA["x0"]:
        out.append((f"valley x0={x0}", valley.FlatValley(), noise.MLNoise(VA["sigma"]), np.array([x0, 0.0]),
                    VA["eta"], VA["r"]))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="data/rare_exits.npz")
    ap.add_argument("--n-traj", type=int, default=10**7)
    ap.add_argument("--shard", default=None, help="i/n: run the i-th of n slices of the trajectories")
    ap.add_argument("--merge", nargs="+", default=None, help="shard files to add into --out")
    args = ap.parse_args()
    torch.set_num_threads(1)
    if args.merge:
        parts = [np.load(p) for p in args.merge]
        total = {k: parts[0][k] for k in parts[0].files}
        for key in ("exits", "diverged", "n_traj"):
            total[key] = sum(p[key] for p in parts)
        np.savez_compressed(args.out, **total)
        print(f"merged {len(parts)} shards into {args.out}: exits {total['exits'].tolist()}")
        return
    shard = None
    if args.shard:
        i, n = (int(v) for v in args.shard.split("/"))
        shard = (i, n)
    exits, diverged, n_run, backends = [], [], [], []
    t0 = time.perf_counter()
    for k, (name, land, model, th, eta, r) in enumerate(tqdm(settings(), desc="settings")):
        res = sgd.simulate(land, model, th, eta=eta, r=r, steps=STEPS, n_traj=args.n_traj, seed=SEED + k,
                           rng="counter", backend="fused", shard=shard)
        exits.append(res.n_exits - res.n_diverged)
        diverged.append(res.n_diverged)
        n_run.append(res.n_traj)
        backends.append(res.meta["backend"])
        print(f"{name}: {exits[-1]} exits of {res.n_traj} ({res.meta['backend']})")
    print(f"{time.perf_counter() - t0:.0f} s")
    np.savez_compressed(
        args.out, exits=np.array(exits, dtype=np.int64), diverged=np.array(diverged, dtype=np.int64),
        n_traj=np.array(n_run, dtype=np.int64), steps=STEPS, seed=SEED,
        hy_sigma=HY["sigma"], hy_eta=HY["eta"], hy_r=HY["r"], hy_t=np.array(HY["t"]),
        va_sigma=VA["sigma"], va_eta=VA["eta"], va_r=VA["r"], va_x0=np.array(VA["x0"]),
        backend=np.array(backends),
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
