"""Throughput of the batched SGD simulator against a per-trajectory loop with torch.optim.SGD.

Measures trajectory-steps per second (M trajectories × T steps / wall time) of
``lojasgd.sgd.simulate`` and of the obvious alternative — one ``torch.optim.SGD`` optimiser
per trajectory, stepped in a Python loop with the same stochastic-gradient model — in the
same process, and prints their ratio. The loop's cost is linear in the number of
trajectories, so it is timed on a subset and reported per trajectory-step.

Usage::

    python benchmarks/bench_sgd.py                      # CPU, writes benchmarks/results/throughput_cpu.json
    python benchmarks/bench_sgd.py --device cuda        # GPU, writes throughput_gpu.json
    python benchmarks/bench_sgd.py --quick              # smaller sizes, for a smoke run

Report ratios from one run, not absolute times: the machine may be shared.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import torch
from tqdm import tqdm

from lojasgd.examples.hyperbola import Hyperbola
from lojasgd.examples.tanh_network import TanhNetwork
from lojasgd.noise import MLNoise, MiniBatch
from lojasgd.sgd import simulate

RESULTS = Path(__file__).resolve().parent / "results"


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def batched_rate(land, noise, theta0, *, M, steps, eta, device, dtype) -> float:
    """Trajectory-steps per second of one batched ``simulate`` call (after a short warm-up)."""
    kw = dict(eta=eta, r=1e6, n_traj=M, device=device, dtype=dtype)
    simulate(land, noise, theta0, steps=5, seed=1, **kw)  # warm-up (allocations, kernels)
    _sync(device)
    t = time.perf_counter()
    simulate(land, noise, theta0, steps=steps, seed=2, **kw)
    _sync(device)
    return M * steps / (time.perf_counter() - t)


def loop_rate(land, noise, theta0, *, M, steps, eta, device, dtype) -> float:
    """Trajectory-steps per second of per-trajectory ``torch.optim.SGD`` loops, written as a user would.

    Finite sums with mini-batches of one sample: draw i, back-propagate f_i, step. Other
    landscapes: the noise model's stochastic gradient for one θ, then step.
    """
    land = land.to(device=device, dtype=dtype)
    gen = torch.Generator(device=device).manual_seed(3)
    theta0 = torch.as_tensor(theta0, dtype=dtype, device=device)
    per_sample = isinstance(noise, MiniBatch) and noise.batch_size == 1 and not noise.injected

    def run(n_steps: int) -> None:
        for _ in range(M):
            p = theta0.clone().requires_grad_(True)
            opt = torch.optim.SGD([p], lr=eta)
            for _ in range(n_steps):
                opt.zero_grad()
                if per_sample:
                    i = int(torch.randint(0, land.n_samples, (1,), generator=gen, device=device))
                    land.sample_loss_one(p, *(d[i] for d in land.data)).backward()
                else:
                    xi = noise.draw(land, 1, gen, device, dtype)
                    p.grad = noise.gradient(land, p.detach().unsqueeze(0), xi)[0]
                opt.step()

    run(2)
    _sync(device)
    t = time.perf_counter()
    run(steps)
    _sync(device)
    return M * steps / (time.perf_counter() - t)


def network(device, dtype, n: int = 16, d: int = 16, width: int = 32, depth: int = 3):
    g = torch.Generator().manual_seed(0)
    X = torch.randn(n, d, generator=g, dtype=torch.float64)
    X = X / X.norm(dim=1, keepdim=True)
    y = torch.randn(n, generator=g, dtype=torch.float64)
    net = TanhNetwork(X, y, width=width, depth=depth)
    theta0 = net.chatterjee_init(4.0, generator=torch.Generator().manual_seed(1))
    return net, theta0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    ap.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    ap.add_argument("--out", type=Path, default=None, help="JSON output (default benchmarks/results/throughput_<cpu|gpu>.json)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda given but torch.cuda.is_available() is False")
    device_name = torch.cuda.get_device_name(device) if device.type == "cuda" else (platform.processor() or platform.machine())
    q = args.quick

    configs = []  # (landscape name, dtype, M, steps, loop trajectories, loop steps)
    gpu = device.type == "cuda"
    for M in ([10**3, 10**4] if q else [10**3, 10**4, 10**5, 10**6] + ([10**7] if gpu else [])):
        steps = 50 if q else (500 if gpu else max(20, min(2000, 2 * 10**7 // M)))
        with_loop = M == 10**4
        configs.append(("hyperbola", torch.float64, M, steps, 20 if with_loop else 0, 50))
    for dtype in (torch.float64, torch.float32):
        for M in ([200] if q else [10**3, 10**4, 10**5] if gpu else [10**3]):
            configs.append(("tanh-network", dtype, M, 10 if q else 100, 10 if M <= 10**3 else 0, 50))

    records = []
    for name, dtype, M, steps, loop_M, loop_steps in tqdm(configs, desc="benchmarks", unit="config"):
        if name == "hyperbola":
            land, noise, theta0, eta = Hyperbola(), MLNoise(1.0), torch.tensor([1.5, 1.0]), 0.05
        else:
            land, theta0 = network(device, dtype)
            noise, eta = MiniBatch(1), 1e-3
        b = batched_rate(land, noise, theta0, M=M, steps=steps, eta=eta, device=device, dtype=dtype)
        lp = loop_rate(land, noise, theta0, M=loop_M, steps=loop_steps, eta=eta, device=device, dtype=dtype) if loop_M else None
        records.append({
            "device": device.type, "device_name": device_name, "landscape": name,
            "dtype": str(dtype).removeprefix("torch."), "M": M, "steps": steps,
            "dim": land.dim, "threads": args.threads,
            "batched_traj_steps_per_s": b, "loop_traj_steps_per_s": lp, "ratio": (b / lp) if lp else None,
        })

    print(f"\n{'landscape':<14}{'dtype':<9}{'M':>9}{'batched/s':>13}{'loop/s':>11}{'ratio':>9}   ({device_name}, {args.threads} thread(s))")
    for r in records:
        lp = f"{r['loop_traj_steps_per_s']:.3g}" if r["loop_traj_steps_per_s"] else "-"
        ratio = f"{r['ratio']:.0f}x" if r["ratio"] else "-"
        print(f"{r['landscape']:<14}{r['dtype']:<9}{r['M']:>9}{r['batched_traj_steps_per_s']:>13.3g}{lp:>11}{ratio:>9}")
    out = args.out or RESULTS / f"throughput_{'gpu' if device.type == 'cuda' else 'cpu'}{'_quick' if q else ''}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(records, indent=1) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
