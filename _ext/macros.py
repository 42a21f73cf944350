"""The book's TeX macros, defined once, for every output (a tiny Sphinx extension).

The one table is ``mathjax3_config.tex.macros`` in ``_config.yml`` (MathJax's
format: ``name: body`` or ``name: [body, number_of_arguments]``).  This
extension feeds the same table

* to LaTeX (``make pdf``): as ``\\def`` lines appended to the preamble, so that
  ``\\R``, ``\\E``, ``\\norm{x}`` ... mean the same in the PDF as on the page;
* to the generated plain-Jupyter notebooks (``scripts/plain_notebooks.py``),
  through :func:`macro_table` and :func:`expand`, which rewrite the macros into
  standard LaTeX so that any Markdown renderer shows them.

* to ``jupyter lab``: ``scripts/chapter_conventions.py`` copies the table into
  each chapter's first cell as MyST front matter (``---`` / ``math:`` / ``---``),
  which jupyterlab-myst reads; the Sphinx build drops that copy when it reads
  a chapter (:func:`drop_front_matter`), since the table above is the one in force.

``\\def`` rather than ``\\newcommand``: some names are taken in LaTeX (``\\P`` is
the pilcrow) and ``\\1`` is a control symbol that ``\\newcommand`` refuses.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml


def macro_table(config: dict) -> dict[str, tuple[str, int]]:
    """``{name: (body, nargs)}`` from a ``mathjax3_config`` dictionary."""
    macros = ((config or {}).get("tex") or {}).get("macros") or {}
    table = {}
    for name, spec in macros.items():
        if isinstance(spec, (list, tuple)):
            body, nargs = spec[0], int(spec[1]) if len(spec) > 1 else 0
        else:
            body, nargs = spec, 0
        table[str(name)] = (str(body), nargs)
    return table


def table_from_config_file(path: str | Path) -> dict[str, tuple[str, int]]:
    """The table read straight from ``_config.yml`` (for scripts outside Sphinx)."""
    cfg = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    return macro_table(cfg["sphinx"]["config"]["mathjax3_config"])


def latex_definitions(table: dict[str, tuple[str, int]]) -> str:
    lines = ["% The book's macros (from mathjax3_config in _config.yml, via _ext/macros.py)"]
    for name, (body, nargs) in table.items():
        params = "".join(f"#{i}" for i in range(1, nargs + 1))
        lines.append(f"\\def\\{name}{params}{{{body}}}")
    return "\n".join(lines) + "\n"


def _read_group(text: str, i: int) -> tuple[str, int] | None:
    """The argument starting at text[i] (a braced group or one token) and the index after it."""
    while i < len(text) and text[i] == " ":
        i += 1
    if i >= len(text):
        return None
    if text[i] != "{":
        if text[i] == "\\":
            m = re.match(r"\\([A-Za-z]+|.)", text[i:])
            return m.group(0), i + len(m.group(0))
        return text[i], i + 1
    depth, j = 0, i
    while j < len(text):
        c = text[j]
        if c == "\\":
            j += 2
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return text[i + 1 : j], j + 1
        j += 1
    return None


def expand(tex: str, table: dict[str, tuple[str, int]], rounds: int = 5) -> str:
    """Replace every macro of the table in a TeX string by its body (arguments substituted)."""
    names = sorted(table, key=len, reverse=True)
    letters = [n for n in names if n.isalpha()]
    symbols = [re.escape(n) for n in names if not n.isalpha()]
    parts = []
    if letters:
        parts.append(r"\\(" + "|".join(letters) + r")(?![A-Za-z])")
    if symbols:
        parts.append(r"\\(" + "|".join(symbols) + r")")
    pattern = re.compile("|".join(parts))
    for _ in range(rounds):
        out, pos, changed = [], 0, False
        for m in pattern.finditer(tex):
            if m.start() < pos:
                continue
            # an escaped backslash (\\R) is a line break followed by R, not the macro
            k, slashes = m.start() - 1, 0
            while k >= 0 and tex[k] == "\\":
                slashes += 1
                k -= 1
            if slashes % 2:
                continue
            name = m.group(1) or m.group(2)
            body, nargs = table[name]
            end = m.end()
            args = []
            for _ in range(nargs):
                got = _read_group(tex, end)
                if got is None:
                    break
                args.append(got[0])
                end = got[1]
            if len(args) < nargs:
                continue
            for n, a in enumerate(args, 1):
                body = body.replace(f"#{n}", a)
            if nargs == 0 and end < len(tex) and tex[end].isalpha():
                body += " "  # \R x -> \mathbb{R} x; never glue a letter to a command
            out.append(tex[pos : m.start()])
            out.append(body)
            pos, changed = end, True
        out.append(tex[pos:])
        tex = "".join(out)
        if not changed:
            break
    return tex


FRONT_MATTER = re.compile(r"\A---\nmath:\n(?:  .*\n)*---\n")


def drop_front_matter(app, docname: str, source: list[str]) -> None:
    """Remove the jupyterlab-myst copy of the macro table from a chapter's first cell."""
    if not app.env.doc2path(docname).endswith(".ipynb") or "math:" not in source[0]:
        return
    nb = json.loads(source[0])
    cells = nb.get("cells", [])
    if cells and cells[0].get("cell_type") == "markdown":
        text = "".join(cells[0]["source"]) if isinstance(cells[0]["source"], list) else cells[0]["source"]
        cells[0]["source"] = FRONT_MATTER.sub("", text)
        source[0] = json.dumps(nb)


def add_to_latex_preamble(app, config) -> None:
    table = macro_table(config.mathjax3_config)
    if not table:
        return
    elements = dict(config.latex_elements or {})
    elements["preamble"] = elements.get("preamble", "") + "\n" + latex_definitions(table)
    config.latex_elements = elements


def setup(app):
    app.connect("config-inited", add_to_latex_preamble)
    app.connect("source-read", drop_front_matter)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
