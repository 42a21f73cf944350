"""The sweep scripts' --shard i/n and --merge: n slices merged give exactly the file of one run."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from lojasgd import sweeps

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = {  # script: small arguments, number of shards
    "sweep_phase": (["--reps", "2", "--steps", "30"], 3),
    "sweep_valley": (["--reps", "3", "--steps", "40"], 2),
    "scale_run": (["--n-traj", "3000"], 2),
}


def _run(script: str, *args: str) -> None:
    """Run a script's main in this process (as ``python scripts/<script>.py args``), restoring torch's globals."""
    dtype, threads, argv = torch.get_default_dtype(), torch.get_num_threads(), sys.argv
    sys.argv = [script, *args]
    try:
        runpy.run_path(str(ROOT / "scripts" / f"{script}.py"), run_name="__main__")
    finally:
        sys.argv = argv
        torch.set_default_dtype(dtype)
        torch.set_num_threads(threads)


@pytest.mark.parametrize("script", list(SCRIPTS))
def test_shards_merged_equal_one_run(script, tmp_path):
    small, n = SCRIPTS[script]
    _run(script, *small, "--out", str(tmp_path / "one.npz"))
    files = []
    for i in reversed(range(n)):  # any order
        f = tmp_path / f"s{i}.npz"
        _run(script, *small, "--shard", f"{i}/{n}", "--out", str(f))
        files.append(str(f))
    _run(script, *small, "--merge", *files, "--out", str(tmp_path / "merged.npz"))
    a, b = np.load(tmp_path / "one.npz"), np.load(tmp_path / "merged.npz")
    assert sorted(a.files) == sorted(b.files)
    for k in a.files:
        assert a[k].dtype == b[k].dtype and np.array_equal(a[k], b[k]), k
    if script == "sweep_phase":  # shards of a run with other settings are refused by name
        with pytest.raises(ValueError, match="was run with steps=30, not 31"):
            _run(script, "--reps", "2", "--steps", "31", "--merge", *files, "--out", str(tmp_path / "bad.npz"))


def test_parse_shard_and_merge_refuse_bad_input(tmp_path):
    assert sweeps.parse_shard(None) is None and sweeps.parse_shard("2/5") == (2, 5)
    for bad in ("5/5", "-1/3", "1", "a/b", "1/0", "1/2/3"):
        with pytest.raises(ValueError, match="--shard"):
            sweeps.parse_shard(bad)
    settings = {"seed": 3}
    for i in (0, 2):
        sweeps.save_shard(tmp_path / f"p{i}.npz", (i, 3), {"x": np.arange(2) + 10 * i}, settings)
    with pytest.raises(ValueError, match=r"shards \[0, 2\]"):
        sweeps.merge_shards([tmp_path / "p0.npz", tmp_path / "p2.npz"], settings)
    with pytest.raises(ValueError, match="again"):
        sweeps.merge_shards([tmp_path / "p0.npz", tmp_path / "p0.npz"], settings)
    with pytest.raises(ValueError, match="seed=3, not 4"):
        sweeps.merge_shards([tmp_path / "p0.npz"], {"seed": 4})
    sweeps.save_shard(tmp_path / "p1.npz", (1, 3), {"x": np.arange(2) + 10}, settings)
    got = sweeps.merge_shards([tmp_path / f"p{i}.npz" for i in (2, 1, 0)], settings)
    np.testing.assert_array_equal(got["x"], [0, 1, 10, 11, 20, 21])
