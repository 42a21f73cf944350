r"""Read the simulator's recorded throughput (``benchmarks/results/throughput_*.json``).

``benchmarks/bench_sgd.py`` measures how many trajectory-steps per second
:func:`lojasgd.sgd.simulate` performs when M trajectories run as one batched tensor
program, and how many a plain Python loop over trajectories performs, on the CPU and,
where available, on a GPU. Each results file is a JSON list of records

.. code-block:: text

    {"device": "cpu" | "cuda", "device_name": str, "landscape": "hyperbola" | "tanh-network",
     "dtype": "float64" | "float32", "M": int, "steps": int,
     "batched_traj_steps_per_s": float, "loop_traj_steps_per_s": float | null, "ratio": float | null}

where ``ratio`` is batched / loop throughput. The book reads these numbers rather than
timing anything itself; :func:`load` validates them, :func:`select` picks records,
:func:`plot` draws throughput against M and :func:`summary` states the headline numbers.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Record", "load", "load_all", "select", "series", "plot", "summary"]

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
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
        raise ValueError(f"{where}: {key}={v!r} must be a finite number > 0{' or null' if optional else ''}")
    return float(v)


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
        v = obj[key]
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"{where}: {key}={v!r} must be an integer >= 1")
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


def plot(ax, records: Iterable[Record]):
    """Batched throughput against M (lines) and the plain loop (open markers), one colour per series.

    With no records the axes say so in words (the notebook still runs before any benchmark).
    """
    from .plotting import COLORS

    groups = series(records)
    if not groups:
        ax.text(0.5, 0.5, "no benchmark results recorded yet\n(run benchmarks/bench_sgd.py)", ha="center",
                va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return ax
    any_loop = False
    for (device, landscape, dtype), color in zip(groups, COLORS * 4):
        recs = groups[(device, landscape, dtype)]
        Ms = [r.M for r in recs]
        ax.loglog(Ms, [r.batched_traj_steps_per_s for r in recs], "o-", color=color, ms=4,
                  label=f"{device}, {landscape}, {dtype}")
        loop = [(r.M, r.loop_traj_steps_per_s) for r in recs if r.loop_traj_steps_per_s is not None]
        if loop:
            any_loop = True
            ax.loglog(*zip(*loop), "o", mfc="none", color=color, ms=6)
    if any_loop:
        ax.plot([], [], "o", mfc="none", color="grey", label="plain loop (open markers)")
    ax.set_xlabel("trajectories $M$")
    ax.set_ylabel("trajectory-steps per second")
    ax.legend(loc="best")
    return ax


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _sci(x: float) -> str:
    """x in the form 3.06 × 10⁹ (three significant digits)."""
    exp = int(math.floor(math.log10(x)))
    mant = x / 10**exp
    if round(mant, 2) >= 10:
        mant, exp = mant / 10, exp + 1
    return f"{mant:.2f} × 10{str(exp).translate(_SUPERSCRIPT)}"


def summary(records: Iterable[Record]) -> str:
    """One sentence per device: the best batched throughput, where, and its ratio to a plain loop."""
    recs = list(records)
    if not recs:
        return ("No benchmark results have been recorded yet; `python benchmarks/bench_sgd.py` writes them to "
                "`benchmarks/results/`.")
    names = {"cpu": "On the CPU", "cuda": "On the GPU"}
    out = []
    for device in DEVICES:
        mine = [r for r in recs if r.device == device]
        if not mine:
            continue
        best = max(mine, key=lambda r: r.batched_traj_steps_per_s)
        text = (f"{names[device]} ({best.device_name}) the batched simulator reaches "
                f"{_sci(best.batched_traj_steps_per_s)} trajectory-steps per second "
                f"({best.landscape}, {best.dtype}, M = {best.M:,})")
        ratios = [r for r in mine if r.ratio is not None]
        if ratios:
            top = max(ratios, key=lambda r: r.ratio)
            text += (f"; its largest speed-up over a plain loop is {top.ratio:,.0f}-fold "
                     f"({top.landscape}, {top.dtype}, M = {top.M:,})")
        out.append(text + ".")
    return " ".join(out)
