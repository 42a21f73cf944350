r"""Read the simulator's recorded throughput (``benchmarks/results/throughput_*.json``).

``benchmarks/bench_sgd.py`` measures how many trajectory-steps per second
:func:`lojasgd.sgd.simulate` performs when M trajectories run as one batched tensor
program, and how many a plain Python loop over trajectories performs, on the CPU and,
where available, on a GPU. Each results file is a JSON list of records

.. code-block:: text

    {"device": "cpu" | "cuda", "device_name": str, "landscape": "hyperbola" | "tanh-network",
     "dtype": "float64" | "float32", "M": int, "steps": int,
     "batched_traj_steps_per_s": float, "loop_traj_steps_per_s": float | null, "ratio": float | null}

where ``ratio`` is batched / loop throughput. One file holds one run of the benchmark on
one machine (``throughput_cpu.json``, ``throughput_gpu.json``).

The machines may be shared and are not the same, so the book reports only **ratios measured
within one run**: :func:`speedups` divides the batched throughput at each M by the plain
loop's throughput of the same series (same file, device, landscape and dtype); absolute
rates are never compared across machines. The book reads these numbers rather than timing
anything itself; :func:`load` validates them, :func:`select` picks records, :func:`plot`
draws the speed-up against M, and :func:`summary` and :func:`headline` state it in words.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .. import validation

__all__ = ["Record", "load", "load_all", "select", "series", "speedups", "plot", "summary", "headline"]

DEVICES = ("cpu", "cuda")
LANDSCAPES = ("hyperbola", "tanh-network")
DTYPES = ("float64", "float32")


@dataclass(frozen=True)
class Record:
    """One throughput measurement (see the module docstring for the fields)."""

    device: str
    device_name: str
    landscape: str
    dtype: str
    M: int
    steps: int
    batched_traj_steps_per_s: float
    loop_traj_steps_per_s: float | None
    ratio: float | None


def _positive_number(where: str, key: str, v, *, optional: bool) -> float | None:
    if v is None and optional:
        return None
    try:
        return validation.positive(f"{where}: {key}", v)
    except TypeError as err:
        raise ValueError(str(err)) from None


def _record(obj, where: str) -> Record:
    if not isinstance(obj, dict):
        raise ValueError(f"{where}: a record must be a JSON object, got {type(obj).__name__}")
    missing = [k for k in Record.__dataclass_fields__ if k not in obj]
    if missing:
        raise ValueError(f"{where}: missing keys {missing}")
    for key, allowed in (("device", DEVICES), ("landscape", LANDSCAPES), ("dtype", DTYPES)):
        if obj[key] not in allowed:
            raise ValueError(f"{where}: {key}={obj[key]!r} must be one of {allowed}")
    if not isinstance(obj["device_name"], str):
        raise ValueError(f"{where}: device_name={obj['device_name']!r} must be a string")
    for key in ("M", "steps"):
        try:
            validation.integer(f"{where}: {key}", obj[key], low=1)
        except TypeError as err:
            raise ValueError(str(err)) from None
    return Record(
        device=obj["device"], device_name=obj["device_name"], landscape=obj["landscape"], dtype=obj["dtype"],
        M=obj["M"], steps=obj["steps"],
        batched_traj_steps_per_s=_positive_number(where, "batched_traj_steps_per_s", obj["batched_traj_steps_per_s"],
                                                  optional=False),
        loop_traj_steps_per_s=_positive_number(where, "loop_traj_steps_per_s", obj["loop_traj_steps_per_s"],
                                               optional=True),
        ratio=_positive_number(where, "ratio", obj["ratio"], optional=True),
    )


def load(path: str | Path) -> list[Record]:
    """The validated records of one results file (a JSON list); ValueError names the bad record and key."""
    path = Path(path)
    data = json.loads(path.read_text())
    if not isinstance(data, list):
        raise ValueError(f"{path}: expected a JSON list of records, got {type(data).__name__}")
    return [_record(obj, f"{path.name}[{i}]") for i, obj in enumerate(data)]


def load_all(paths: Iterable[str | Path]) -> list[Record]:
    """Records from every file in ``paths`` that exists (missing files are skipped)."""
    out: list[Record] = []
    for p in paths:
        if Path(p).is_file():
            out.extend(load(p))
    return out


def select(records: Iterable[Record], **where) -> list[Record]:
    """The records whose fields equal the given values, sorted by M (e.g. ``device="cpu", dtype="float64"``)."""
    bad = set(where) - set(Record.__dataclass_fields__)
    if bad:
        raise ValueError(f"unknown fields {sorted(bad)}")
    chosen = [r for r in records if all(getattr(r, k) == v for k, v in where.items())]
    return sorted(chosen, key=lambda r: r.M)


def series(records: Iterable[Record]) -> dict[tuple[str, str, str], list[Record]]:
    """Records grouped by (device, landscape, dtype), each group sorted by M."""
    groups: dict[tuple[str, str, str], list[Record]] = {}
    for r in records:
        groups.setdefault((r.device, r.landscape, r.dtype), []).append(r)
    return {k: sorted(v, key=lambda r: r.M) for k, v in sorted(groups.items())}


def speedups(records: Iterable[Record]) -> dict[tuple[str, str, str, str], list[tuple[int, float]]]:
    """Batched throughput over the plain loop's, within each series of one run.

    Series are keyed by (device, device_name, landscape, dtype). The loop's cost per
    trajectory-step does not depend on M, so its rate (the mean over the records of the series
    that timed it) divides the batched rate at every M of the same series. Series without a loop
    timing are left out. Returns, per series, the list of (M, speed-up) sorted by M.
    """
    groups: dict[tuple[str, str, str, str], list[Record]] = {}
    for r in records:
        groups.setdefault((r.device, r.device_name, r.landscape, r.dtype), []).append(r)
    out = {}
    for key, recs in sorted(groups.items()):
        loops = [r.loop_traj_steps_per_s for r in recs if r.loop_traj_steps_per_s is not None]
        if loops:
            loop = sum(loops) / len(loops)
            out[key] = [(r.M, r.batched_traj_steps_per_s / loop) for r in sorted(recs, key=lambda r: r.M)]
    return out


def plot(ax, records: Iterable[Record]):
    """Speed-up of the batched simulator over a plain loop against M, one line per series (:func:`speedups`).

    With no usable records the axes say so in words (the notebook still runs before any benchmark).
    """
    from .plotting import COLORS

    sp = speedups(records)
    if not sp:
        ax.text(0.5, 0.5, "no benchmark results recorded yet\n(run benchmarks/bench_sgd.py)", ha="center",
                va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return ax
    styles = {"cpu": "o-", "cuda": "s--"}
    for ((device, name, landscape, dtype), pts), color in zip(sp.items(), COLORS * 4):
        ax.loglog(*zip(*pts), styles[device], color=color, ms=4,
                  label=f"{'GPU' if device == 'cuda' else 'CPU'} ({name}): {landscape}, {dtype}")
    ax.axhline(1.0, color="grey", lw=0.8, ls=":")
    ax.set_xlabel("trajectories $M$")
    ax.set_ylabel("speed-up over a plain loop")
    ax.legend(loc="best", fontsize="small")
    return ax


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _sci(x: float) -> str:
    """x in the form 3.06 × 10⁹ (three significant digits)."""
    exp = int(math.floor(math.log10(x)))
    mant = x / 10**exp
    if round(mant, 2) >= 10:
        mant, exp = mant / 10, exp + 1
    return f"{mant:.2f} × 10{str(exp).translate(_SUPERSCRIPT)}"


def _fold(x: float) -> str:
    return f"{x:,.0f}-fold" if x >= 10 else f"{x:.1f}-fold"


_NAMES = {"cpu": "the CPU", "cuda": "the GPU"}


def summary(records: Iterable[Record]) -> str:
    """One sentence per device with its speed-ups over a plain loop, each measured within one run.

    States, for the device, the speed-up where both were timed at the same M (the record's
    ``ratio``) and the largest speed-up over M (:func:`speedups`); no absolute rates.
    """
    recs = list(records)
    sp = speedups(recs)
    if not sp:
        return ("No benchmark results with a plain-loop timing have been recorded yet; "
                "`python benchmarks/bench_sgd.py` writes them to `benchmarks/results/`.")
    out = []
    for device in DEVICES:
        mine = {k: v for k, v in sp.items() if k[0] == device}
        if not mine:
            continue
        (_, name, land, dtype), pts = max(mine.items(), key=lambda kv: max(x for _, x in kv[1]))
        M_best, best = max(pts, key=lambda p: p[1])
        text = (f"On {_NAMES[device]} ({name}), within one run, the batched simulator performs up to "
                f"{_fold(best)} as many trajectory-steps per second as a plain loop over trajectories "
                f"({land}, {dtype}, M = {M_best:,})")
        same = [r for r in recs if r.device == device and r.ratio is not None]
        if same:
            top = max(same, key=lambda r: r.ratio)
            text += (f"; timed at the same M = {top.M:,} ({top.landscape}, {top.dtype}) the ratio is "
                     f"{_fold(top.ratio)}")
        out.append(text + ".")
    return " ".join(out)


def headline(records: Iterable[Record]) -> str:
    """A short clause for a figure caption: the largest speed-up per device, e.g. "up to 9,507-fold on the GPU"."""
    sp = speedups(records)
    parts = []
    for device in DEVICES:
        vals = [x for k, pts in sp.items() if k[0] == device for _, x in pts]
        if vals:
            name = next(k[1] for k in sp if k[0] == device)
            parts.append(f"up to {_fold(max(vals))} on {_NAMES[device]} ({name})")
    if not parts:
        return "no speed-up has been recorded yet"
    return " and ".join(parts)
