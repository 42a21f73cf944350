"""simulate(..., backend="tensor") on chapter 5's tanh network: the numba batch_grad kernel against the torch one.

Network: N = 16 unit inputs in R^16, depth 3, width 32 (n = 1568), Chatterjee-style start
``chatterjee_init(4.0, generator=torch.Generator().manual_seed(0))``, MiniBatch(b), M trajectories.
The two variants run interleaved (order alternating), process CPU time; the speedup is the median
of the per-repetition ratios. Also the time of batch_grad alone in each variant (same θ, same
indices, cache-warm) and the time spent in batch_grad during the runs, hence the fraction of a
step it takes.

    NUMBA_CACHE_DIR=... OMP_NUM_THREADS=1 python benchmarks/bench_tanh_kernel.py [--reps 7] [--steps 15]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch

from lojasgd.examples.tanh_network import TanhNetwork
from lojasgd.noise import MiniBatch
from lojasgd.sgd import simulate


def problem(dtype):
    g = torch.Generator().manual_seed(0)
    X = torch.randn(16, 16, generator=g, dtype=torch.float64)
    X = X / X.norm(dim=1, keepdim=True)
    y = torch.randn(16, generator=g, dtype=torch.float64)
    net = TanhNetwork(X.to(dtype), y.to(dtype), width=32, depth=3)
    return net, net.chatterjee_init(4.0, generator=torch.Generator().manual_seed(0))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--steps", type=int, default=15)
    ap.add_argument("--M", type=int, default=1000)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    torch.set_num_threads(1)
    records = []
    for dtype in (torch.float64, torch.float32):
        for b in (1, 4):
            net, theta0 = problem(dtype)
            kernel_bg = TanhNetwork.batch_grad
            variants = {"kernel": kernel_bg, "torch": TanhNetwork.batch_grad_torch}

            spent = [0.0]

            def timed(fn):
                def wrapper(self, theta, idx):
                    t = time.process_time()
                    out = fn(self, theta, idx)
                    spent[0] += time.process_time() - t
                    return out
                return wrapper

            def run(fn, steps):
                TanhNetwork.batch_grad = timed(fn)
                try:
                    return simulate(net, MiniBatch(b), theta0, eta=1e-3, r=1e6, steps=steps, n_traj=args.M, seed=2,
                                    backend="tensor", dtype=dtype)
                finally:
                    TanhNetwork.batch_grad = kernel_bg

            for fn in variants.values():
                run(fn, 2)  # warm-up (compiles the kernel for this dtype)
            times = {k: [] for k in variants}
            inside = {k: [] for k in variants}  # time in batch_grad during the run, per step
            for i in range(args.reps):
                for key in (list(variants) if i % 2 == 0 else list(variants)[::-1]):
                    spent[0] = 0.0
                    t = time.process_time()
                    run(variants[key], args.steps)
                    times[key].append((time.process_time() - t) / args.steps)
                    inside[key].append(spent[0] / args.steps)
            # batch_grad alone, at the start point, fresh indices
            theta = theta0.expand(args.M, -1).contiguous() + 0.01 * torch.randn(args.M, net.dim, dtype=dtype,
                                                                                 generator=torch.Generator().manual_seed(3))
            idx = torch.randint(0, net.n_samples, (args.M, b), generator=torch.Generator().manual_seed(4))
            bg = {k: [] for k in variants}
            for i in range(args.reps):
                for key, fn in variants.items():
                    t = time.process_time()
                    for _ in range(5):
                        fn(net, theta, idx)
                    bg[key].append((time.process_time() - t) / 5)
            rec = {"dtype": str(dtype).split(".")[-1], "b": b, "M": args.M, "steps": args.steps, "reps": args.reps,
                   "step_ms": {k: 1e3 * statistics.median(v) for k, v in times.items()},
                   "batch_grad_ms": {k: 1e3 * statistics.median(v) for k, v in bg.items()},
                   "speedup": statistics.median(t / k for t, k in zip(times["torch"], times["kernel"])),
                   "batch_grad_speedup": statistics.median(t / k for t, k in zip(bg["torch"], bg["kernel"]))}
            rec["batch_grad_in_run_ms"] = {k: 1e3 * statistics.median(v) for k, v in inside.items()}
            rec["batch_grad_fraction"] = {k: statistics.median(a / s for a, s in zip(inside[k], times[k])) for k in variants}
            records.append(rec)
            print(f"{rec['dtype']:>8} b={b}: step {rec['step_ms']['torch']:.2f} -> {rec['step_ms']['kernel']:.2f} ms "
                  f"(speedup {rec['speedup']:.2f}x); batch_grad {rec['batch_grad_ms']['torch']:.2f} -> "
                  f"{rec['batch_grad_ms']['kernel']:.2f} ms alone ({rec['batch_grad_speedup']:.2f}x), in the run "
                  f"{rec['batch_grad_in_run_ms']['torch']:.2f} -> {rec['batch_grad_in_run_ms']['kernel']:.2f} ms, fraction of the step "
                  f"{rec['batch_grad_fraction']['torch']:.2f} -> {rec['batch_grad_fraction']['kernel']:.2f}", flush=True)
    if args.out:
        args.out.write_text(json.dumps(records, indent=1) + "\n")


if __name__ == "__main__":
    main()
