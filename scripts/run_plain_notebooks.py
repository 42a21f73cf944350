"""Execute the site's plain notebooks as a reader would: each in an empty folder.

``make test-plain-notebooks`` runs this with the Python of a fresh virtual
environment that has only the wheel from the site's bundle installed (plus
ipykernel and nbclient to run a kernel).  Each chapter is copied alone into a new
temporary folder and executed top to bottom in a fresh kernel; a chapter whose
set-up cell asks for the source archive (chapter 6: data/, benchmarks/results/,
scripts/) gets the archive next to it, as the "Get the code" page says.  Any
error fails the run.

Usage, from the repository root, after ``make book``:

    VENV/bin/python scripts/run_plain_notebooks.py _build/html/bundle
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError


def main(argv: list[str]) -> int:
    bundle = Path(argv[0]) if argv else Path("_build/html/bundle")
    chapters = sorted((bundle / "notebooks" / "chapters").glob("*.ipynb"))
    archives = sorted(bundle.glob("lojasgd-*-src.tar.gz"))
    if not chapters:
        print(f"no notebooks in {bundle / 'notebooks' / 'chapters'}: run make book first", file=sys.stderr)
        return 1
    failed = 0
    for path in chapters:
        nb = nbformat.read(path, as_version=4)
        needs_archive = any("ARCHIVE = " in c.source for c in nb.cells if c.cell_type == "code")
        with tempfile.TemporaryDirectory(prefix="plain-nb-") as tmp:
            shutil.copy2(path, tmp)
            if needs_archive and archives:
                shutil.copy2(archives[0], tmp)
            start = time.time()
            try:
                NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": tmp}}).execute()
            except CellExecutionError as err:
                failed += 1
                print(f"FAILED {path.name}: {str(err).strip().splitlines()[-1]}", flush=True)
                continue
        cells = sum(c.cell_type == "code" for c in nb.cells)
        extra = " (with the source archive)" if needs_archive else ""
        print(f"ok {path.name}: {cells} code cells in {time.time() - start:.0f} s, empty folder{extra}", flush=True)
    print(f"{len(chapters) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
