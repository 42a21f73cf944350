"""Chapter 7: restarts of SGD from the capture checkpoint, against Theorem 3.1's prediction there.

Reads ``data/ch7_train.npz`` (written by ``scripts/ch7_train.py``): the N = 64 run's capture
checkpoint theta_c (the first checkpoint at which ``lojasgd.planning.plan`` found Theorem 3.1's
conditions to hold with a bound below 1, on the ball B(theta_c, r) for the radius r stored with
it) and an earlier checkpoint theta_e (half-way to it). It rebuilds the same landscape, repeats
the same plan at theta_c (same seed, hence the same numbers), and runs ``--reps`` independent SGD
trajectories (mini-batches of 8 with replacement, ``--steps`` steps, stopped when they leave the
ball) in three settings:

* ``planned``: from theta_c with the plan's best step eta* (the theorem's setting);
* ``train``: from theta_c with the training step 0.04 (above eta_max: outside the theorem);
* ``early``: from theta_e with the training step, on B(theta_e, r) (where the theorem says nothing).

For each it stores the exit steps, final losses, largest distances, path lengths before exit,
and E[F(theta_k) 1{k < tau}] every 50 steps.

Usage, from the repository root, after ``scripts/ch7_train.py`` (7 to 14 minutes on one shared core):

    .venv/bin/python scripts/ch7_restarts.py --train data/ch7_train.npz --out data/ch7_restarts.npz
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from lojasgd import noise, planning, sgd
from lojasgd.examples import digits


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--train", default="data/ch7_train.npz")
    ap.add_argument("--out", default="data/ch7_restarts.npz")
    ap.add_argument("--reps", type=int, default=200)
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.set_default_dtype(torch.float64)
    tr = np.load(args.train)
    N = int(tr["sizes"][0])
    cap, a = (int(v) for v in tr[f"N{N}_capture"])
    r = float(tr["radii"][a])
    land, _ = digits.regression(N, int(tr["width"]), int(tr["depth"]), seed=0)
    batch = noise.MiniBatch(int(tr["batch"]))
    theta_c = torch.as_tensor(tr[f"N{N}_theta_capture"])
    theta_e = torch.as_tensor(tr[f"N{N}_theta_early"])
    p = planning.plan(land, batch, theta_c, r, n_points=16, n_starts=1, maxiter=20, seed=cap)
    assert p.ok, p
    runs = {"planned": (theta_c, p.eta_best), "train": (theta_c, float(tr["eta"])), "early": (theta_e, float(tr["eta"]))}
    out: dict[str, np.ndarray] = {}
    for j, (name, (theta, eta)) in enumerate(runs.items()):
        t = time.perf_counter()
        res = sgd.simulate(land, batch, theta, eta=eta, r=r, steps=args.steps, n_traj=args.reps,
                           seed=args.seed + j, record_every=50, progress=True)
        pre = name + "_"
        out |= {pre + "eta": eta, pre + "exit_step": res.exit_step, pre + "loss_final": res.loss_final,
                pre + "max_distance": res.max_distance, pre + "path_length": res.path_length,
                pre + "mean_loss_inside": res.record.mean_loss_inside, pre + "frac_inside": res.record.frac_inside,
                pre + "F0": float(land.loss(theta))}
        print(f"{name}: eta={eta:.4g}, {time.perf_counter() - t:.0f} s, {res.n_exits}/{args.reps} left, "
              f"median final F {np.median(res.loss_final):.3g}")
    out["record_steps"] = res.record.steps
    np.savez_compressed(args.out, capture=cap, r=r, reps=args.reps, steps=args.steps, seed=args.seed,
                        alpha=p.alpha.value, sigma=p.sigma.value, L=p.L.value, G=p.G.value, eta_max=p.eta_max,
                        eta_best=p.eta_best, q=p.q, K=p.K, K_limit=p.K_limit, bound=p.exit_bound,
                        F_capture=p.F0, reach=p.reach, torch_version=torch.__version__, **out)


if __name__ == "__main__":
    main()
