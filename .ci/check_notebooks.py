"""Structural checks on the committed chapter notebooks (run by `make test`).

nbval is the execution gate: it re-runs each notebook and compares outputs.
This script catches, before that, what nbval does not see:

* the file is a valid nbformat-4 notebook;
* every code cell with source was executed, in order, from a fresh kernel
  (execution counts exactly 1..N), as `make notebooks` leaves it;
* no committed output is an error;
* no cell calls ``matplotlib.use(...)`` (it silently breaks glued figures);
* no glued value is a numpy scalar, array or torch tensor: its text form
  ("np.float64(0.5)", "tensor(0.5)") would be pasted verbatim into the prose, or
  break a format spec such as ``{glue:text}`key:.3f```.  Glue ``float(x)``/``int(x)``.

Usage: python .ci/check_notebooks.py chapters/*.ipynb
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat


GLUE_TEXT = "application/papermill.record/text/plain"
BAD_GLUE = re.compile(r"^(?:np\.\w+\(|array\(|tensor\()")


def problems(path: Path) -> list[str]:
    try:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
    except Exception as exc:  # noqa: BLE001 - report any parse/validation error
        return [f"not a valid notebook: {exc}"]

    found: list[str] = []
    code = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
    counts = [c.get("execution_count") for c in code]
    if any(n is None for n in counts):
        found.append("some code cells were never executed (run `make notebooks`)")
    elif counts != list(range(1, len(counts) + 1)):
        found.append(
            f"execution counts {counts} are not 1..{len(counts)}: "
            "re-execute from a fresh kernel (`make notebooks`)"
        )
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        if "matplotlib.use(" in cell.source:
            found.append(f"cell {i} calls matplotlib.use(); remove it")
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                found.append(f"cell {i} has a committed error output ({out.get('ename')})")
            text = out.get("data", {}).get(GLUE_TEXT, "")
            if BAD_GLUE.match(text):
                name = out.get("metadata", {}).get("scrapbook", {}).get("name", "?")
                found.append(
                    f"cell {i} glues {name!r} as {text[:40]!r}: glue float(x) or int(x) instead"
                )
    return found


def main(argv: list[str]) -> int:
    paths = [Path(a) for a in argv]
    if not paths:
        print("check_notebooks: no notebooks given", file=sys.stderr)
        return 2
    bad = 0
    for path in paths:
        for msg in problems(path):
            print(f"{path}: {msg}", file=sys.stderr)
            bad += 1
    if bad:
        print(f"check_notebooks: {bad} problem(s) in {len(paths)} notebook(s)", file=sys.stderr)
        return 1
    print(f"check_notebooks: {len(paths)} notebook(s) OK")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
