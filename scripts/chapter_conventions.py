"""Apply the book's conventions for notation, references and code folding to the chapters.

Idempotent (a second run changes nothing) and safe for nbval: it edits Markdown
cells and cell tags only, never code or outputs.  For every ``chapters/*.ipynb``:

1. one notation for probability: ``\\Prob`` becomes ``\\P`` (both are
   ``\\mathbb{P}``; ``\\P`` is the one most chapters use);
2. one form for a part of a numbered statement, "Theorem 3.1(2)":
   ``{prf:ref}`X` (2)``, ``Part 2 of {prf:ref}`X``` and ``{prf:ref}`X`, Part 2``
   all become ``{prf:ref}`X`(2)``;
3. code cells that only check claims (every statement an ``assert``, apart from
   comments and blank lines) are folded on the page (tag ``hide-input``) unless they
   are hidden already (``remove-input``/``hide-input``/``remove-cell``);
4. the set-up cell (the first code cell) is never removed from the page: a
   ``remove-input`` tag becomes ``hide-input`` (folded, one click away), so that code
   copied from a page runs;
5. the book's macros (the table ``mathjax3_config`` of ``_config.yml``) as MyST front
   matter (``math:``) at the top of the first cell, so that ``jupyter lab`` with
   jupyterlab-myst renders ``\\R``, ``\\E``, ``\\norm{x}``, ... instead of flagging them;
   rewritten from the table on every run, so it follows the table.

Usage, from the repository root (then ``make test`` as usual; outputs are unchanged):

    .venv/bin/python scripts/chapter_conventions.py            # rewrite the chapters
    .venv/bin/python scripts/chapter_conventions.py --check    # exit 1 if a chapter would change
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "_ext"))
from macros import table_from_config_file  # noqa: E402

FRONT = re.compile(r"\A---\nmath:\n(?:  .*\n)*---\n")
REF = r"\{prf:ref\}`[^`]+`"
HIDDEN = {"remove-input", "hide-input", "remove-cell", "hide-cell"}


def markdown_conventions(text: str) -> str:
    text = re.sub(r"\\Prob(?![A-Za-z])", r"\\P", text)
    text = re.sub(rf"({REF}) \((\d)\)", r"\1(\2)", text)
    text = re.sub(rf"\b[Pp]art (\d) of ({REF})", r"\2(\1)", text)
    text = re.sub(rf"({REF}), [Pp]art (\d)", r"\1(\2)", text)
    return text


def only_asserts(source: str) -> bool:
    """True when every statement of the cell is an assert (continuation lines allowed)."""
    statements = 0
    for line in source.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if line[:1] in (" ", "\t", ")", "]", "}"):
            continue  # continuation of the statement above
        if not stripped.startswith("assert "):
            return False
        statements += 1
    return statements > 0


def front_matter(table) -> str:
    """MyST front matter defining the macros (jupyterlab-myst reads it from the first cell)."""
    lines = ["---", "math:"]
    for name, (body, nargs) in table.items():
        key = "\\" + name
        lines.append(f"  '{key}': '{body.replace(chr(39), chr(39) * 2)}'")
    return "\n".join(lines) + "\n---\n"


def apply(nb, table=None) -> bool:
    changed = False
    first_code = next((c for c in nb.cells if c.cell_type == "code"), None)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            body = FRONT.sub("", cell.source) if i == 0 else cell.source
            new = markdown_conventions(body)
            if i == 0 and table:
                new = front_matter(table) + new
            if new != cell.source:
                cell.source, changed = new, True
        elif cell.cell_type == "code":
            tags = cell.metadata.get("tags", [])
            if cell is first_code and "remove-input" in tags:
                cell.metadata["tags"] = tags = [("hide-input" if t == "remove-input" else t) for t in tags]
                changed = True
            if only_asserts(cell.source) and not HIDDEN & set(tags):
                cell.metadata["tags"] = [*tags, "hide-input"]
                changed = True
    return changed


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report; exit 1 if a chapter would change")
    parser.add_argument("chapters", nargs="*", type=Path)
    args = parser.parse_args(argv)
    paths = args.chapters or sorted((ROOT / "chapters").glob("*.ipynb"))
    table = table_from_config_file(ROOT / "_config.yml")
    stale = []
    for path in paths:
        nb = nbformat.read(path, as_version=nbformat.NO_CONVERT)
        if apply(nb, table):
            stale.append(path)
            if not args.check:
                nbformat.write(nb, path)
    for path in stale:
        print(f"{'would change' if args.check else 'changed'}: {path}")
    return 1 if (args.check and stale) else 0


if __name__ == "__main__":
    sys.exit(main())
