"""The CUDA fused kernel (lojasgd.kernels.cuda) against the CPU fused kernel, on numba's CUDA simulator.

numba reads ``NUMBA_ENABLE_CUDASIM`` when ``numba.cuda`` is first imported, so every simulated
run happens in one subprocess (:func:`_simulated_runs`, started once per test session) that
runs each case through both kernels on the same seed and saves both results; the tests compare
them here: equal exit steps and divergence flags, paths, distances, θ and F to 1e-12 in float64.
Checks that need a real GPU are skipped without one; the simulator tests run everywhere.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("NUMBA_CACHE_DIR", os.path.join(tempfile.gettempdir(), "lojasgd-numba-cache"))

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

_rng = np.random.default_rng(0)
X_REG, Y_REG = _rng.standard_normal((4, 3)), _rng.standard_normal(4)
M, T = 24, 40

# (id, landscape, theta0, params, noise, scale, direction, r, eta, eta_steps). The first five use the compiled
# CPU kernels of tests/test_kernels_cpu.py (same landscape, noise, direction kind, sharing), which numba caches
# on disk: the comparison then compiles only four more CPU kernels (each takes seconds to compile).
CASES = [
    ("hyperbola-ml-rademacher-schedule", "hyperbola", [1.4, 0.9], None, "ml", 2.0, "rademacher", 0.16, 1.0,
     0.2 / np.arange(1, T + 1) ** 0.75),
    ("valley-bounded-fixed", "flat_valley", [0.3, 0.0], None, "bounded", 0.5, [0.0, 1.0], 0.6, 0.2, None),
    ("plateau-ml-sphere", "plateau_valley", [0.3, 0.9], dict(height=0.5, edge=1.0, width=0.5), "ml", 20.0, "sphere",
     0.5, 0.4, None),
    ("regression-ml-gaussian", "linear_regression", np.zeros(3), dict(X=X_REG, y=Y_REG), "ml", 1.0, "gaussian", 0.8,
     0.2, None),
    ("valley3-bounded-rademacher-schedule", "flat_valley", [0.5, 0.0, 0.0], None, "bounded", 0.5, "rademacher", 1.1,
     1.0, 0.4 / np.arange(1, T + 1) ** 0.5),
    ("hyperbola-ml-rademacher", "hyperbola", [1.4, 0.9], None, "ml", 2.0, "rademacher", 0.16, 0.1, None),
    ("hyperbola-diverges", "hyperbola", [1.4, 0.9], None, "ml", 2.0, "rademacher", 1e300, 3.0, None),
    ("hyperbola-bounded-sphere", "hyperbola", [1.0, 1.0], None, "bounded", 0.5, "sphere", 0.3, 0.1, None),
    ("regression-bounded-sphere", "linear_regression", np.zeros(3), dict(X=X_REG, y=Y_REG), "bounded", 0.5,
     "sphere", 0.8, 0.2, None),
    ("hyperbola-ml-gaussian-per-traj", "hyperbola", 1.0 + 0.1 * _rng.standard_normal((M, 2)), None, "ml",
     np.linspace(0.5, 3.0, M), "gaussian", np.linspace(0.1, 0.4, M), np.linspace(0.05, 0.2, M), None),
]
#: (case, stop_on_exit) pairs compared; the per-trajectory case only with stop_on_exit (one kernel fewer)
RUNS = [(c[0], stop) for c in CASES for stop in (True, False) if not (c[0].endswith("per-traj") and not stop)]
IDS = [c[0] for c in CASES]
FIELDS = ("exit_step", "diverged", "path_length", "total_path_length", "max_distance", "theta_final", "loss_final")


def _kw(case, **extra):
    _, land, th0, params, noise, scale, direction, r, eta, eta_steps = case
    kw = dict(noise=noise, scale=scale, direction=direction, r=r, eta=eta, eta_steps=eta_steps, params=params,
              steps=T, n_traj=None if np.ndim(th0) == 2 else M, seed=11)
    kw.update(extra)
    return land, th0, kw


def _save(path: Path, a, b) -> None:
    arrays = {f"{who}_{f}": getattr(res, f) for who, res in (("cpu", a), ("cuda", b)) for f in FIELDS}
    np.savez(path, cpu_steps=a.steps_run, cuda_steps=b.steps_run, **arrays)


def _simulated_main(out: str) -> None:
    """Run in the subprocess, under the simulator: every case through both kernels, saved to ``out``."""
    import numba

    assert numba.config.ENABLE_CUDASIM, "the subprocess must run under NUMBA_ENABLE_CUDASIM=1"
    from lojasgd.kernels import fused_sgd, merge
    from lojasgd.kernels.cuda import fused_sgd_cuda

    out = Path(out)
    by_id = dict(zip(IDS, CASES))
    for case_id, stop in RUNS:
        land, th0, kw = _kw(by_id[case_id], stop_on_exit=stop)
        _save(out / f"{case_id}-{stop}.npz", fused_sgd(land, th0, **kw), fused_sgd_cuda(land, th0, **kw))
    # shards: two CUDA shards (traj_offset) merged against one CPU run over all trajectories
    land, th0, kw = _kw(CASES[5])
    kw.pop("n_traj")
    full = fused_sgd(land, th0, n_traj=M, **kw)
    parts = [fused_sgd_cuda(land, th0, n_traj=hi - lo, traj_offset=lo, **kw) for lo, hi in ((0, 9), (9, M))]
    _save(out / "shards.npz", full, merge(parts))
    # early stop (stop_tol), checked every 10 steps, in a 2-d and an n-d kernel
    for name, case in (("stop_tol", CASES[5]), ("stop_tol_nd", CASES[3])):
        land, th0, kw = _kw(case, stop_tol=1e-3, check_every=10, steps=200, eta_steps=None)
        _save(out / f"{name}.npz", fused_sgd(land, th0, **kw), fused_sgd_cuda(land, th0, **kw))
    # launches of 7 steps (step keys computed per launch) give the run of one launch, 2-d and n-d
    import lojasgd.kernels.cuda as cuda_mod

    cuda_mod._KEY_CHUNK = 7
    for name, case in (("chunks", CASES[0]), ("chunks_nd", CASES[4])):
        land, th0, kw = _kw(case, stop_on_exit=False)
        _save(out / f"{name}.npz", fused_sgd(land, th0, **kw), fused_sgd_cuda(land, th0, **kw))
    cuda_mod._KEY_CHUNK = 1 << 20
    # float32 (compared loosely with float64), and torch tensors as inputs
    land, th0, kw = _kw(CASES[7], r=10.0)
    _save(out / "float32.npz", fused_sgd(land, th0, **kw), fused_sgd_cuda(land, th0, dtype="float32", **kw))
    kw_t = dict(kw, eta=torch.full((M,), 0.1, dtype=torch.float64), r=torch.full((M,), 10.0, dtype=torch.float64))
    _save(out / "torch_inputs.npz", fused_sgd(land, th0, **kw),
          fused_sgd_cuda(land, torch.tensor(th0, dtype=torch.float64), **kw_t))
    # simulate(): the CUDA branch of the fused dispatch (_fused_spec, _run_fused) against the CPU fused path
    from lojasgd.examples.hyperbola import Hyperbola
    from lojasgd.noise import MLNoise
    import importlib

    sim = importlib.import_module("lojasgd.sgd.simulate")

    land_o, noise_o = Hyperbola(), MLNoise(2.0)
    spec = sim._fused_spec(land_o, noise_o, torch.device("cuda"), torch.float64)
    assert spec is not None and spec[-1].type == "cuda"
    theta = torch.tensor([[1.4, 0.9]] * M, dtype=torch.float64)
    args = (theta, 0, M, torch.full((M,), 0.1, dtype=torch.float64), None, torch.full((M,), 0.16, dtype=torch.float64),
            T, 11, True, None, 50, None, (), None, False, False, land_o)
    cpu_spec = sim._fused_spec(land_o, noise_o, torch.device("cpu"), torch.float64)
    a, b = sim._run_fused(cpu_spec, noise_o, *args), sim._run_fused(spec, noise_o, *args)
    (out / "simulate_meta.json").write_text(json.dumps({k: str(v) for k, v in b.meta.items() if k != "kernel"}))
    _save(out / "simulate.npz", a, b)


@pytest.fixture(scope="module")
def sim_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("cudasim")
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1", OMP_NUM_THREADS="1")
    code = ("import importlib.util, sys; spec = importlib.util.spec_from_file_location('tkc', sys.argv[1]); "
            "mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod); mod._simulated_main(sys.argv[2])")
    proc = subprocess.run([sys.executable, "-c", code, __file__, str(out)], env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, f"simulated runs failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}"
    return out


def _assert_close(path: Path, *, rtol: float = 1e-12, atol: float = 1e-12, exits: bool = True) -> dict:
    with np.load(path) as f:
        d = {k: f[k] for k in f.files}
    assert d["cpu_steps"] == d["cuda_steps"]
    if exits:
        np.testing.assert_array_equal(d["cuda_exit_step"], d["cpu_exit_step"])
        np.testing.assert_array_equal(d["cuda_diverged"], d["cpu_diverged"])
    for name in FIELDS[2:]:
        x, y = d[f"cuda_{name}"], d[f"cpu_{name}"]
        assert x.shape == y.shape, name
        np.testing.assert_allclose(x, y, rtol=rtol, atol=atol, err_msg=name)
    return d


@pytest.mark.parametrize("case, stop_on_exit", RUNS)
def test_cuda_kernel_equals_cpu_kernel(sim_dir, case, stop_on_exit):
    d = _assert_close(sim_dir / f"{case}-{stop_on_exit}.npz")
    if case == "hyperbola-diverges":
        assert d["cpu_diverged"].any() and np.isinf(d["cuda_max_distance"][d["cpu_diverged"]]).all()


def test_the_cases_exercise_exits_and_continuation(sim_dir):
    """The comparison is not vacuous: most cases see exits, and without stop_on_exit paths run on after them."""
    with_exits = 0
    for case in IDS[:-1]:
        a = np.load(sim_dir / f"{case}-True.npz")
        b = np.load(sim_dir / f"{case}-False.npz")
        ex = a["cpu_exit_step"] >= 0
        with_exits += bool(ex.any() and not ex.all())
        if ex.any() and case != "hyperbola-diverges":
            assert (b["cuda_total_path_length"][ex] > b["cuda_path_length"][ex]).any(), case
    assert with_exits >= (len(IDS) - 1) // 2


def test_shards_with_traj_offset_merge_into_one_run(sim_dir):
    _assert_close(sim_dir / "shards.npz")


@pytest.mark.parametrize("name", ["stop_tol", "stop_tol_nd"])
def test_early_stop_at_the_same_step(sim_dir, name):
    d = _assert_close(sim_dir / f"{name}.npz")
    assert d["cuda_steps"] % 10 == 0


@pytest.mark.parametrize("name", ["chunks", "chunks_nd"])
def test_a_run_split_into_launches_is_the_same_run(sim_dir, name):
    _assert_close(sim_dir / f"{name}.npz")


def test_float32_follows_float64(sim_dir):
    """float32 runs the same stream: no exits (r = 10), θ within float32 rounding accumulated over 40 steps."""
    d = _assert_close(sim_dir / "float32.npz", rtol=1e-4, atol=1e-5)
    assert d["cuda_theta_final"].dtype == np.float32


def test_torch_tensor_inputs(sim_dir):
    _assert_close(sim_dir / "torch_inputs.npz")


def test_simulate_dispatches_cuda_devices_to_the_cuda_kernel(sim_dir):
    _assert_close(sim_dir / "simulate.npz")
    meta = json.loads((sim_dir / "simulate_meta.json").read_text())
    assert meta["backend"] == "fused-cuda" and meta["device"] == "cuda"


# ------------------------------------------------------------------ in this process (no simulator needed)
@pytest.mark.parametrize("kwargs, match", [
    (dict(record_every=5), "record_every"),
    (dict(trace_every=5), "trace_every"),
    (dict(trace_theta=True), "trace_theta"),
    (dict(record_losses=True), "record_losses"),
    (dict(dtype="float16"), "dtype"),
    (dict(dtype=torch.bfloat16), "dtype"),
])
def test_bad_input_is_refused_by_name(kwargs, match):
    from lojasgd.kernels.cuda import fused_sgd_cuda

    with pytest.raises(ValueError, match=match):
        fused_sgd_cuda("hyperbola", [1.0, 1.0], noise="ml", scale=1.0, r=1.0, steps=5, n_traj=4, **kwargs)


def test_simulate_fused_on_cuda_with_records_is_refused_by_name():
    from lojasgd.examples.hyperbola import Hyperbola
    from lojasgd.noise import MLNoise
    from lojasgd.sgd.simulate import _fused_spec

    with pytest.raises(ValueError, match="record_every"):
        _fused_spec(Hyperbola(), MLNoise(1.0), torch.device("cuda"), torch.float32, backend="fused", record_every=5)
    assert _fused_spec(Hyperbola(), MLNoise(1.0), torch.device("cuda"), torch.float32, trace_every=5) is None
    assert _fused_spec(Hyperbola(), MLNoise(1.0), torch.device("cuda"), torch.float16) is None


def test_importing_the_module_does_not_import_numba_cuda():
    code = "import sys, lojasgd.kernels.cuda, lojasgd.sgd; print('numba.cuda' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


# ------------------------------------------------------------------ compiled for a real GPU, without one
_PTX_CODE = r"""
import sys, types as pytypes
from numba.cuda.cudadrv import nvvm
if not nvvm.is_available():
    print("NO_NVVM"); sys.exit(0)
import numba.cuda.dispatcher as D
from numba import cuda, types as t
# device functions ask the current device for its compute capability; there is none here
D.get_current_device = lambda: pytypes.SimpleNamespace(compute_capability=(9, 0))
import lojasgd.kernels.cuda as C
from lojasgd.kernels.cpu import HYP, FLAT, PLATEAU, LINREG, ML, BOUNDED
from lojasgd.kernels.stream import RADEMACHER, SPHERE, GAUSSIAN, FIXED
for land, noise, kind, two_d, f32 in [(HYP, ML, RADEMACHER, True, True), (HYP, ML, RADEMACHER, True, False),
        (PLATEAU, BOUNDED, SPHERE, True, True), (FLAT, BOUNDED, FIXED, True, False),
        (LINREG, ML, GAUSSIAN, False, True), (LINREG, BOUNDED, SPHERE, False, False),
        (FLAT, ML, RADEMACHER, False, True)]:
    F = t.float32 if f32 else t.float64
    A1, A2, u8 = F[::1], F[:, ::1], t.uint8[::1]
    tail = (t.uint64[:, ::1], t.uint64, t.int64, t.int64, t.int64, F, t.boolean, t.boolean)
    if two_d:
        sig = (A2, A2, A1, u8, u8, t.int64[::1]) + (A1,) * 9 + tail
    else:
        sig = (A2, A2, A2, A2, A1, u8, u8, t.int64[::1]) + (A1,) * 8 + (A2, A1) + tail
    ptx, _ = cuda.compile_ptx(C._kernel(land, noise, kind, two_d, f32).py_func, sig, cc=(9, 0))
    print(land, noise, kind, two_d, f32, ptx.count(".f64"))
"""


def test_kernels_compile_for_a_gpu_and_float32_rademacher_has_no_float64():
    """PTX for sm_90 through NVVM (where a CUDA toolkit's NVVM is found, e.g. CUDA_HOME); skipped elsewhere.

    float32 kernels do no float64 arithmetic except the float64 uniforms of Box–Muller directions.
    """
    out = subprocess.run([sys.executable, "-c", _PTX_CODE], capture_output=True, text=True, timeout=300,
                         env=dict(os.environ, NUMBA_ENABLE_CUDASIM="0"))
    assert out.returncode == 0, out.stderr[-4000:]
    if out.stdout.startswith("NO_NVVM"):
        pytest.skip("no NVVM (CUDA toolkit) to compile PTX with")
    rows = [line.split() for line in out.stdout.strip().splitlines()]
    assert len(rows) == 7
    for land, noise, kind, two_d, f32, n64 in rows:
        if f32 == "True" and int(kind) in (0, 3):  # rademacher, fixed
            assert int(n64) == 0, rows
        if f32 == "False":
            assert int(n64) > 0, rows


# ------------------------------------------------------------------ a real GPU
gpu = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


@gpu
@pytest.mark.parametrize("case", [c for c in CASES if c[0] != "hyperbola-diverges"], ids=lambda c: c[0])
def test_gpu_float64_agrees_with_cpu(case):
    """On a GPU, FMA contraction and libdevice's log/cos/sin change the last bits: exits agree but for a rare
    trajectory within rounding of the sphere; paths agree to rounding."""
    from lojasgd.kernels import fused_sgd
    from lojasgd.kernels.cuda import fused_sgd_cuda

    land, th0, kw = _kw(case)
    a, b = fused_sgd(land, th0, **kw), fused_sgd_cuda(land, th0, **kw)
    same = a.exit_step == b.exit_step
    assert same.mean() >= 0.95
    np.testing.assert_allclose(b.path_length[same], a.path_length[same], rtol=1e-9, atol=1e-12)


@gpu
def test_gpu_simulate_backend_auto_runs_fused_cuda_in_float32():
    from lojasgd.examples.hyperbola import Hyperbola
    from lojasgd.noise import MLNoise
    from lojasgd.sgd import simulate

    res = simulate(Hyperbola(), MLNoise(1.0), torch.tensor([1.5, 1.0]), eta=0.05, r=0.3, steps=200, n_traj=4096,
                   seed=3, device="cuda", dtype=torch.float32, rng="counter")
    assert res.meta["backend"] == "fused-cuda"
    assert res.theta_final.dtype == np.float32 and (res.exit_step >= 0).any()
