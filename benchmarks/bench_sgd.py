"""Throughput of the SGD simulators: fused kernels, the tensor path, a torch.optim.SGD loop, a roofline.

Measures trajectory-steps per second (M trajectories × T steps / wall time) of
``lojasgd.sgd.simulate`` (the tensor path) and of the obvious alternative — one
``torch.optim.SGD`` optimiser per trajectory, stepped in a Python loop with the same
stochastic-gradient model — in the same process, and prints their ratio. The loop's cost is
linear in the number of trajectories, so it is timed on a subset and reported per
trajectory-step.

On the CPU, for the hyperbola with machine-learning noise in float64 at M = 10⁴ and 10⁵, the
same run also times the fused numba kernel ``lojasgd.kernels.fused_sgd`` with one and with two
threads, and a plain reference kernel written below (:func:`roofline_kernel`: blocks of 512
trajectories, state in registers, all T steps inside, xorshift random bits, branch-free) that
stands for what one core can do. Each of these is timed ``--reps`` times, alternating, and the
medians are compared; their ratios are added to the hyperbola records.

Usage::

    python benchmarks/bench_sgd.py                      # CPU, writes benchmarks/results/throughput_cpu.json
    python benchmarks/bench_sgd.py --device cuda        # GPU, writes throughput_gpu.json
    python benchmarks/bench_sgd.py --quick              # smaller sizes, for a smoke run
    python benchmarks/bench_sgd.py --only-fused         # only the fused / roofline / simulate comparison
    python benchmarks/bench_sgd.py --only-fused --device cuda   # the CUDA fused kernel, float32, M = 10^7:
                                                                # writes fused_gpu.json (needs a real GPU)
    python benchmarks/bench_sgd.py --tensor-path --against fde362e   # the tensor path, now and at a revision

``--tensor-path`` times ``simulate(..., backend="tensor")`` on the network path (chapter 5's
kind of tanh network with n = 1568 parameters, as :class:`TanhNetwork` and as the same network
written as an ``nn.Module`` in :class:`~lojasgd.landscapes.ModuleRegression`, M = 1000,
mini-batches of one sample) and on the hyperbola (M = 10⁴ and 10⁵, machine-learning noise), on
both random streams. With ``--against REV`` the package of that git revision is loaded
alongside (as ``lojasgd_base``, landscapes and noise models included) and timed interleaved
with today's in the same process; the ratio is the median over repetitions of the ratio within
each. On the CPU the times are process CPU times (robust to other jobs on a shared machine).

Report ratios from one run, not absolute times: the machine may be shared.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("NUMBA_CACHE_DIR", os.path.join(tempfile.gettempdir(), "lojasgd-numba-cache"))

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


def roofline_kernel():
    """The machine's roofline for the hyperbola step: a plain numba kernel (compiled on first use).

    One SGD step θ ← θ − η(∇F + √(σF)ξ) on F(a, b) = (ab − 1)²/2 with Rademacher ξ/√2, the path
    length and the exit test |θ − θ₀|² > r², for blocks of 512 trajectories whose state stays in
    L1 for all T steps; random bits from a per-trajectory xorshift64; no branches in the loop.
    It does no records and freezes nothing: a lower bound on the cost of the real work.
    """
    import numba as nb
    import numpy as np

    u13, u7, u17 = np.uint64(13), np.uint64(7), np.uint64(17)

    @nb.njit(parallel=True, fastmath=False)
    def roof(a0, b0, eta, sigma, r2, T, M, seed):
        B = 512
        out_exit = np.full(M, -1, np.int64)
        out_path = np.zeros(M)
        for blk in nb.prange((M + B - 1) // B):
            lo = blk * B
            nbk = min(M, lo + B) - lo
            a = np.full(B, a0)
            b = np.full(B, b0)
            s = np.empty(B, np.uint64)
            path = np.zeros(B)
            alive = np.ones(B)
            ex = np.full(B, -1.0)
            for i in range(nbk):
                s[i] = np.uint64(seed) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(lo + i + 1) * np.uint64(
                    0xBF58476D1CE4E5B9)
            inv = 1.0 / math.sqrt(2.0)
            for k in range(T):
                for i in range(nbk):
                    x = s[i]
                    x ^= x << u13
                    x ^= x >> u7
                    x ^= x << u17
                    s[i] = x
                    xi0 = (2.0 * np.float64(x & np.uint64(1)) - 1.0) * inv
                    xi1 = (2.0 * np.float64((x >> np.uint64(1)) & np.uint64(1)) - 1.0) * inv
                    ai = a[i]
                    bi = b[i]
                    res = ai * bi - 1.0
                    amp = math.sqrt(sigma * 0.5 * res * res)
                    g0 = res * bi + amp * xi0
                    g1 = res * ai + amp * xi1
                    st = eta * alive[i]
                    na = ai - st * g0
                    nb_ = bi - st * g1
                    path[i] += st * math.sqrt(g0 * g0 + g1 * g1)
                    d0 = na - a0
                    d1 = nb_ - b0
                    leave = alive[i] * (1.0 if d0 * d0 + d1 * d1 > r2 else 0.0)
                    ex[i] = ex[i] + leave * (k + 2.0)
                    alive[i] = alive[i] - leave
                    a[i] = na
                    b[i] = nb_
            for i in range(nbk):
                out_exit[lo + i] = np.int64(ex[i])
                out_path[lo + i] = path[i]
        return out_exit, out_path

    return roof


def fused_comparison(M: int, steps: int, reps: int, *, theta0=(1.5, 1.0), eta=0.05, sigma=1.0) -> dict:
    """Rates (trajectory-steps/s) of simulate, the fused kernel (1 and 2 threads) and the roofline, and their ratios.

    All on the hyperbola with ``MLNoise(sigma)``, float64, radius 1e6 (no exits). One repetition
    times every variant once, back to back (simulate on ``steps // 10`` steps, so that each call
    is short; its cost per trajectory-step does not depend on T); a ratio is the median over the
    ``reps`` repetitions of the ratio within each, which cancels slow drifts of a shared machine.
    Rates are medians.
    """
    import numba as nb

    from lojasgd.kernels import fused_sgd

    roof = roofline_kernel()
    land, noise = Hyperbola(), MLNoise(sigma)
    kw = dict(noise="ml", scale=sigma, eta=eta, r=1e6, n_traj=M, seed=2)
    sim_steps = max(20, steps // 10)
    # warm-up: compile and allocate
    roof(*theta0, eta, sigma, 1e12, 2, 1024, 1)
    fused_sgd("hyperbola", list(theta0), steps=2, threads=1, **kw)
    # the baseline is simulate's tensor program on the torch stream (lojasgd 0.1's simulate; the default
    # simulate now runs the fused kernel itself for this landscape)
    base = dict(backend="tensor", rng="torch")
    simulate(land, noise, torch.tensor(theta0), eta=eta, r=1e6, steps=2, n_traj=M, seed=1, **base)
    two = nb.config.NUMBA_NUM_THREADS >= 2
    if two:
        fused_sgd("hyperbola", list(theta0), steps=2, threads=2, **kw)  # start the thread pool

    def t_sim():
        simulate(land, noise, torch.tensor(theta0), eta=eta, r=1e6, steps=sim_steps, n_traj=M, seed=2, **base)

    def t_fused(threads):
        return lambda: fused_sgd("hyperbola", list(theta0), steps=steps, threads=threads, **kw)

    def t_roof():
        nb.set_num_threads(1)
        roof(*theta0, eta, sigma, 1e12, steps, M, 2)

    variants = {"simulate": (t_sim, sim_steps), "fused_1": (t_fused(1), steps), "roofline_1": (t_roof, steps)}
    if two:
        variants["fused_2"] = (t_fused(2), steps)
    rates: dict[str, list[float]] = {k: [] for k in variants}
    for _ in tqdm(range(reps), desc=f"fused comparison M={M}", unit="rep", leave=False):
        for name, (fn, T) in variants.items():
            t = time.perf_counter()
            fn()
            rates[name].append(M * T / (time.perf_counter() - t))

    def ratio(a: str, b: str) -> float:
        return statistics.median(x / y for x, y in zip(rates[a], rates[b]))

    return {
        "simulate_steps": sim_steps,
        "simulate_traj_steps_per_s": statistics.median(rates["simulate"]),
        "fused_traj_steps_per_s": statistics.median(rates["fused_1"]),
        "roofline_traj_steps_per_s": statistics.median(rates["roofline_1"]),
        "fused_2threads_traj_steps_per_s": statistics.median(rates["fused_2"]) if two else None,
        "fused_over_simulate": ratio("fused_1", "simulate"),
        "fused_over_roofline": ratio("fused_1", "roofline_1"),
        "fused_2threads_over_1": ratio("fused_2", "fused_1") if two else None,
        "timing_reps": reps,
        "timing_spread": {k: [min(v), max(v)] for k, v in rates.items()},  # rates, trajectory-steps/s
    }


def fused_cuda_comparison(M: int, steps: int, reps: int, *, theta0=(1.5, 1.0), eta=0.05, sigma=1.0) -> dict:
    """Rates (trajectory-steps/s) of the CUDA fused kernel (float32 and float64) and of simulate's tensor path on the GPU.

    The hyperbola with ``MLNoise(sigma)``, radius 1e6 (no exits: every trajectory runs all T
    steps). ``fused_sgd_cuda`` is timed end to end (host set-up, transfers, the kernel and the copy
    of the results back): the rate at T steps, and the marginal rate ``M (T - T/10) / (t(T) - t(T/10))``
    that leaves the fixed cost of set-up and transfers out. ``simulate`` (tensor path, float32,
    ``rng="counter"``) runs T/100 steps. Each of ``reps`` repetitions times every variant once;
    rates are medians, the ratio is the median of the ratios within each repetition.
    """
    from lojasgd.kernels.cuda import fused_sgd_cuda

    land, noise = Hyperbola(), MLNoise(sigma)
    kw = dict(noise="ml", scale=sigma, eta=eta, r=1e6, n_traj=M, seed=2)
    short = max(1, steps // 10)
    sim_steps = max(10, steps // 100)
    for dt in ("float32", "float64"):
        fused_sgd_cuda("hyperbola", list(theta0), steps=2, dtype=dt, **kw)  # compile, allocate
    simulate(land, noise, torch.tensor(theta0), eta=eta, r=1e6, steps=2, n_traj=M, seed=1, device="cuda",
             dtype=torch.float32, backend="tensor", rng="counter")
    torch.cuda.synchronize()

    def t_fused(dt, T):
        return lambda: fused_sgd_cuda("hyperbola", list(theta0), steps=T, dtype=dt, **kw)

    def t_sim():
        simulate(land, noise, torch.tensor(theta0), eta=eta, r=1e6, steps=sim_steps, n_traj=M, seed=2, device="cuda",
                 dtype=torch.float32, backend="tensor", rng="counter")
        torch.cuda.synchronize()

    variants = {"fused_f32": (t_fused("float32", steps), steps), "fused_f32_short": (t_fused("float32", short), short),
                "fused_f64": (t_fused("float64", steps), steps), "simulate_f32": (t_sim, sim_steps)}
    times: dict[str, list[float]] = {k: [] for k in variants}
    for _ in tqdm(range(reps), desc=f"CUDA fused M={M}", unit="rep", leave=False):
        for name, (fn, _T) in variants.items():
            t = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t)
    rate = {k: [M * T / t for t in times[k]] for k, (_, T) in variants.items()}
    marginal = [M * (steps - short) / (a - b) for a, b in zip(times["fused_f32"], times["fused_f32_short"]) if a > b]
    return {
        "simulate_steps": sim_steps,
        "fused_f32_traj_steps_per_s": statistics.median(rate["fused_f32"]),
        "fused_f32_marginal_traj_steps_per_s": statistics.median(marginal) if marginal else None,
        "fused_f64_traj_steps_per_s": statistics.median(rate["fused_f64"]),
        "simulate_f32_traj_steps_per_s": statistics.median(rate["simulate_f32"]),
        "fused_f32_over_simulate_f32": statistics.median(a / b for a, b in zip(rate["fused_f32"], rate["simulate_f32"])),
        "fused_f32_over_f64": statistics.median(a / b for a, b in zip(rate["fused_f32"], rate["fused_f64"])),
        "timing_reps": reps,
        "timing_spread": {k: [min(v), max(v)] for k, v in rate.items()},  # rates, trajectory-steps/s
    }


def _require_gpu() -> None:
    """Exit non-zero, with the reason, unless torch and numba.cuda both see a real CUDA GPU."""
    import numba

    if numba.config.ENABLE_CUDASIM:
        raise SystemExit("NUMBA_ENABLE_CUDASIM=1: the CUDA simulator is not a GPU; no GPU number is measured")
    if not torch.cuda.is_available():
        raise SystemExit("--device cuda given but torch.cuda.is_available() is False: no GPU here, nothing measured")
    from lojasgd.kernels.cuda import cuda_available

    if not cuda_available():
        raise SystemExit("numba.cuda finds no usable GPU (driver/toolkit): the CUDA fused kernel cannot run here")


def network(device, dtype, n: int = 16, d: int = 16, width: int = 32, depth: int = 3):
    g = torch.Generator().manual_seed(0)
    X = torch.randn(n, d, generator=g, dtype=torch.float64)
    X = X / X.norm(dim=1, keepdim=True)
    y = torch.randn(n, generator=g, dtype=torch.float64)
    net = TanhNetwork(X, y, width=width, depth=depth)
    theta0 = net.chatterjee_init(4.0, generator=torch.Generator().manual_seed(1))
    return net, theta0


def load_revision(rev: str):
    """The ``lojasgd`` package of git revision ``rev`` (its ``src/lojasgd``), imported as ``lojasgd_base``."""
    import importlib.util
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    dest = Path(tempfile.mkdtemp(prefix="lojasgd-base-"))
    archive = subprocess.run(["git", "-C", str(root), "archive", rev, "src/lojasgd"], check=True, capture_output=True)
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True)
    pkg = dest / "src" / "lojasgd"
    spec = importlib.util.spec_from_file_location("lojasgd_base", pkg / "__init__.py",
                                                  submodule_search_locations=[str(pkg)])
    mod = importlib.util.module_from_spec(spec)
    sys.modules["lojasgd_base"] = mod
    spec.loader.exec_module(mod)
    return mod


def _tensor_problems(pkg, device):
    """(name, landscape, noise, theta0, eta, M, steps) of the tensor-path comparison, built from package ``pkg``."""
    import importlib

    tanh = importlib.import_module(f"{pkg.__name__}.examples.tanh_network")
    hyp = importlib.import_module(f"{pkg.__name__}.examples.hyperbola")
    lands = importlib.import_module(f"{pkg.__name__}.landscapes")
    nz = importlib.import_module(f"{pkg.__name__}.noise")
    g = torch.Generator().manual_seed(0)
    X = torch.randn(16, 16, generator=g, dtype=torch.float64)
    X = X / X.norm(dim=1, keepdim=True)
    y = torch.randn(16, generator=g, dtype=torch.float64)
    net = tanh.TanhNetwork(X, y, width=32, depth=3)  # n = 32·16 + 32·32 + 32 = 1568
    theta_net = net.chatterjee_init(4.0, generator=torch.Generator().manual_seed(1))
    module = torch.nn.Sequential(  # the same network as an nn.Module (same parameter order and n)
        torch.nn.Linear(16, 32, bias=False, dtype=torch.float64), torch.nn.Tanh(),
        torch.nn.Linear(32, 32, bias=False, dtype=torch.float64), torch.nn.Tanh(),
        torch.nn.Linear(32, 1, bias=False, dtype=torch.float64))
    wrapped = lands.ModuleRegression(module, X, y)
    gpu = torch.device(device).type == "cuda"
    out = [("tanh-network", net, nz.MiniBatch(1), theta_net, 1e-3, 1000, 200 if gpu else 15),
           ("nn.Module", wrapped, nz.MiniBatch(1), theta_net, 1e-3, 1000, 100 if gpu else 8)]
    for M in (10**4, 10**5):
        out.append(("hyperbola", hyp.Hyperbola(), nz.MLNoise(1.0), torch.tensor([1.5, 1.0], dtype=torch.float64), 0.05,
                    M, (500 if gpu else 2 * 10**6 // M)))
    return out


def tensor_path_comparison(device, reps: int, against: str | None) -> list[dict]:
    """Trajectory-steps/s of the tensor path on the network path and the hyperbola, both streams, against a revision."""
    import lojasgd

    device = torch.device(device)
    clock = time.perf_counter if device.type == "cuda" else time.process_time
    base = load_revision(against) if against else None
    now = _tensor_problems(lojasgd, device)
    then = _tensor_problems(base, device) if base else [None] * len(now)
    records = []
    for cur, old in zip(now, then):
        name, land, noise, theta0, eta, M, steps = cur
        for rng in ("torch", "counter"):
            kw = dict(eta=eta, r=1e6, n_traj=M, device=device, backend="tensor", rng=rng)
            runs = {"now": lambda s, kw=kw, c=cur: simulate(c[1], c[2], c[3], steps=s, seed=2, **kw)}
            if old is not None:
                runs["base"] = lambda s, kw=kw, o=old: base.sgd.simulate(o[1], o[2], o[3], steps=s, seed=2, **kw)
            for fn in runs.values():
                fn(2)  # warm-up
            times: dict[str, list[float]] = {k: [] for k in runs}
            for i in tqdm(range(reps), desc=f"{name} M={M} {rng}", unit="rep", leave=False):
                for key in (list(runs) if i % 2 == 0 else list(runs)[::-1]):  # alternate the order
                    _sync(device)
                    t = clock()
                    runs[key](steps)
                    _sync(device)
                    times[key].append(clock() - t)
            rec = {"landscape": name, "dim": land.dim, "M": M, "steps": steps, "rng": rng, "device": device.type,
                   "timing_reps": reps, "clock": clock.__name__,
                   "traj_steps_per_s": M * steps / statistics.median(times["now"])}
            if old is not None:
                rec.update(against=against, base_traj_steps_per_s=M * steps / statistics.median(times["base"]),
                           speedup=statistics.median(b / n for b, n in zip(times["base"], times["now"])),
                           speedup_of_fastest=min(times["base"]) / min(times["now"]))
            records.append(rec)
    print(f"\ntensor path ({device}): trajectory-steps/s now" + (f" and at {against}; speedup = median of per-repetition ratios" if against else ""))
    print(f"{'landscape':<14}{'n':>6}{'M':>8}{'rng':>9}{'now/s':>11}" + (f"{'base/s':>11}{'speedup':>9}{'fastest':>9}" if against else ""))
    for r in records:
        line = f"{r['landscape']:<14}{r['dim']:>6}{r['M']:>8}{r['rng']:>9}{r['traj_steps_per_s']:>11.3g}"
        if against:
            line += f"{r['base_traj_steps_per_s']:>11.3g}{r['speedup']:>8.2f}x{r['speedup_of_fastest']:>8.2f}x"
        print(line)
    return records


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    ap.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    ap.add_argument("--out", type=Path, default=None, help="JSON output (default benchmarks/results/throughput_<cpu|gpu>.json)")
    ap.add_argument("--reps", type=int, default=9, help="repetitions of the fused comparison (medians)")
    ap.add_argument("--only-fused", action="store_true",
                    help="only the fused/roofline/simulate comparison (CPU; writes fused_cpu.json), or with "
                         "--device cuda the CUDA fused kernel in float32 at M = 10^7 (writes fused_gpu.json)")
    ap.add_argument("--tensor-path", action="store_true",
                    help="only the tensor-path comparison (network path and hyperbola, both streams); writes tensor_path_<cpu|gpu>.json")
    ap.add_argument("--against", default=None, metavar="REV",
                    help="with --tensor-path: also time the package of this git revision, interleaved")
    args = ap.parse_args()
    if args.reps < 1:
        raise SystemExit(f"--reps={args.reps} must be >= 1")
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda given but torch.cuda.is_available() is False")
    device_name = torch.cuda.get_device_name(device) if device.type == "cuda" else (platform.processor() or platform.machine())
    q = args.quick

    if args.tensor_path:
        recs = tensor_path_comparison(device, args.reps, args.against)
        out = args.out or RESULTS / f"tensor_path_{'gpu' if device.type == 'cuda' else 'cpu'}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(recs, indent=1) + "\n")
        print(f"wrote {out}")
        return
    configs = []  # (landscape name, dtype, M, steps, loop trajectories, loop steps)
    gpu = device.type == "cuda"
    if args.only_fused and gpu:
        _require_gpu()
        M = 10**5 if q else 10**7
        steps = 100 if q else 10**4
        fused = [{"device": "cuda", "device_name": device_name, "landscape": "hyperbola", "dtype": "float32",
                  "M": M, "steps": steps, "dim": 2, **fused_cuda_comparison(M, steps, min(args.reps, 5))}]
        r = fused[0]
        print(f"\nCUDA fused kernel, hyperbola, MLNoise(1.0), M={M}, T={steps} ({device_name}):")
        print(f"  float32 {r['fused_f32_traj_steps_per_s']:.3g}/s end to end, "
              f"{r['fused_f32_marginal_traj_steps_per_s'] or float('nan'):.3g}/s marginal; "
              f"float64 {r['fused_f64_traj_steps_per_s']:.3g}/s; simulate float32 {r['simulate_f32_traj_steps_per_s']:.3g}/s "
              f"(fused/simulate {r['fused_f32_over_simulate_f32']:.0f}x)")
        out = args.out or RESULTS / f"fused_gpu{'_quick' if q else ''}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(fused, indent=1) + "\n")
        print(f"wrote {out}")
        return
    if args.only_fused:
        fused = []
        for M in ([10**4] if q else [10**4, 10**5]):
            steps = 50 if q else 2 * 10**7 // M
            fused.append({"device": "cpu", "device_name": device_name, "landscape": "hyperbola", "dtype": "float64",
                          "M": M, "steps": steps, "dim": 2, **fused_comparison(M, steps, args.reps)})
        _print_fused(fused, device_name)
        out = args.out or RESULTS / f"fused_cpu{'_quick' if q else ''}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(fused, indent=1) + "\n")
        print(f"wrote {out}")
        return
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
        rec = {
            "device": device.type, "device_name": device_name, "landscape": name,
            "dtype": str(dtype).removeprefix("torch."), "M": M, "steps": steps,
            "dim": land.dim, "threads": args.threads,
            "batched_traj_steps_per_s": b, "loop_traj_steps_per_s": lp, "ratio": (b / lp) if lp else None,
        }
        if name == "hyperbola" and not gpu and M in ((10**4,) if q else (10**4, 10**5)):
            rec.update(fused_comparison(M, steps, args.reps))
        records.append(rec)

    print(f"\n{'landscape':<14}{'dtype':<9}{'M':>9}{'batched/s':>13}{'loop/s':>11}{'ratio':>9}   ({device_name}, {args.threads} thread(s))")
    for r in records:
        lp = f"{r['loop_traj_steps_per_s']:.3g}" if r["loop_traj_steps_per_s"] else "-"
        ratio = f"{r['ratio']:.0f}x" if r["ratio"] else "-"
        print(f"{r['landscape']:<14}{r['dtype']:<9}{r['M']:>9}{r['batched_traj_steps_per_s']:>13.3g}{lp:>11}{ratio:>9}")
    _print_fused([r for r in records if "fused_traj_steps_per_s" in r], device_name)
    out = args.out or RESULTS / f"throughput_{'gpu' if device.type == 'cuda' else 'cpu'}{'_quick' if q else ''}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(records, indent=1) + "\n")
    print(f"wrote {out}")


def _print_fused(recs: list[dict], device_name: str) -> None:
    if not recs:
        return
    print(f"\nfused kernel, hyperbola, float64 ({device_name}; rates: medians; ratios: medians of per-repetition ratios)")
    print(f"{'M':>9}{'simulate/s':>12}{'fused/s':>11}{'roofline/s':>12}{'fused/sim':>11}{'fused/roof':>12}{'2thr/1thr':>11}")
    for r in recs:
        two = r["fused_2threads_over_1"]
        print(f"{r['M']:>9}{r['simulate_traj_steps_per_s']:>12.3g}{r['fused_traj_steps_per_s']:>11.3g}"
              f"{r['roofline_traj_steps_per_s']:>12.3g}{r['fused_over_simulate']:>10.1f}x{r['fused_over_roofline']:>11.2f}x"
              f"{(f'{two:.2f}x' if two else '-'):>11}")


if __name__ == "__main__":
    main()
