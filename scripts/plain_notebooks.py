"""Finish the jupyter builder's chapters as notebooks that run in any Jupyter.

``make book`` runs sphinx-tojupyter's ``jupyter`` builder (``_build/jupyter``:
glued numbers filled in, boxes as Markdown, references as links; see
``_ext/plain_notebooks.py``) and then this script, which writes
``_build/notebooks/chapters/*.ipynb`` and ``_build/notebooks/bibliography.ipynb``
(the site's "Get the code" page and each chapter's download button offer them):

* the book's macros (``\\R``, ``\\E``, ``\\norm{x}``, ... from ``_config.yml``) are
  written out in standard LaTeX, so any Markdown renderer shows them;
* the works a chapter cites are listed at its end, and its citations point there;
* after the title, a note says where the notebook comes from, and a set-up cell
  lets it run with only the ``lojasgd`` wheel installed: ``myst_nb.glue`` (which
  stores numbers for the book's text) becomes a no-op when myst-nb is absent,
  and a chapter that reads ``data/``, ``benchmarks/results/`` or ``scripts/``
  unpacks them from the source archive placed next to it, or says where to get it;
* every code block is a code cell (any left as a Markdown fence is converted).

Usage, from the repository root (``make book`` does it):

    .venv/bin/python scripts/plain_notebooks.py _build/jupyter _build/notebooks
"""

from __future__ import annotations

import argparse
import re
import sys
import tomllib
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "_ext"))
from macros import expand, table_from_config_file  # noqa: E402

FENCE = re.compile(r"^```(?:ipython3|ipython|python3?)\n(.*?)\n?```\s*$", re.S)
MATH = re.compile(r"(\$\$.*?\$\$|\$[^$\n]+?\$|\\begin\{(\w+\*?)\}.*?\\end\{\2\})", re.S)
BIB_LINK = re.compile(r"\.\./bibliography\.ipynb#(id\d+)")
BIB_ENTRY = re.compile(r"<a id='(id\d+)'></a>\n(.*?)(?=\n<a id='|\Z)", re.S)
NEEDS_SOURCE = re.compile(r"""\w+\s*/\s*["'](data|benchmarks|scripts)["']""")

SETUP = '''\
# Set-up for running this chapter outside the book: any Jupyter with the lojasgd wheel
# installed ({wheel}).  In the book the same code runs without this cell.
import sys
import types

try:
    import myst_nb  # noqa: F401  the book's build tool; its glue() stores numbers for the text
except ImportError:
    myst_nb = types.ModuleType("myst_nb")

    def _glue(name, variable, display=True):
        """Stand-in for myst_nb.glue: shows the value unless display=False."""
        if display:
            from IPython.display import display as show
            show(variable)

    myst_nb.glue = _glue
    sys.modules["myst_nb"] = myst_nb
'''

SETUP_DATA = '''
# This chapter reads data/, benchmarks/results/ and scripts/ of the book's source archive.
import tarfile
from pathlib import Path

ARCHIVE = "{archive}"
NEEDED = ("data", "benchmarks/results", "scripts")
BOOK_URL = "{book_url}"  # the published site, if any ("" when built locally)


def _have(folder):
    return all((folder / d).is_dir() for d in NEEDED)


if not (_have(Path.cwd()) or _have(Path.cwd().parent)):
    archive = Path.cwd() / ARCHIVE
    if not archive.is_file() and BOOK_URL:
        import urllib.request
        urllib.request.urlretrieve(f"{{BOOK_URL.rstrip('/')}}/bundle/{{ARCHIVE}}", archive)
    if not archive.is_file():
        raise FileNotFoundError(
            f"This chapter reads {{', '.join(NEEDED)}} from the book's source archive {{ARCHIVE}}. "
            f"Download it from the book's 'Get the code' page (code.html; the file is bundle/{{ARCHIVE}}) "
            f"into {{Path.cwd()}}, or run this notebook in the chapters/ folder of the unpacked archive.")
    with tarfile.open(archive) as tar:
        members = []
        for m in tar.getmembers():
            inner = m.name.split("/", 1)[1] if "/" in m.name else ""
            if inner.startswith(NEEDED) and (m.isfile() or m.isdir()):
                m.name = inner
                members.append(m)
        kwargs = {{"filter": "data"}} if hasattr(tarfile, "data_filter") else {{}}
        tar.extractall(Path.cwd(), members=members, **kwargs)
    print(f"unpacked {{', '.join(NEEDED)}} from {{ARCHIVE}} into {{Path.cwd()}}")
'''


def metadata() -> dict:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return {"version": data["project"]["version"], "title": data["tool"]["lojasgd-book"]["title"]}


def expand_math(text: str, table) -> str:
    return MATH.sub(lambda m: expand(m.group(0), table), text)


def bibliography_entries(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    nb = nbformat.read(path, as_version=4)
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    return {k: v.strip() for k, v in BIB_ENTRY.findall(text)}


def finish(nb, table, meta: dict, commit: str, bib: dict[str, str], book_url: str):
    cells = []
    for cell in nb.cells:
        src = cell.source
        if cell.cell_type == "markdown":
            if src.lstrip().startswith("$$") and "\\newcommand" in src and not cells:
                continue  # the macro header: the macros are written out below instead
            m = FENCE.match(src.strip())
            if m:
                cells.append(new_code_cell(m.group(1)))
                continue
            src = BIB_LINK.sub(r"#\1", expand_math(src, table))
            if src.strip():
                cells.append(new_markdown_cell(src))
        elif cell.cell_type == "code":
            cells.append(new_code_cell(src))
        else:
            cells.append(cell)
    code = "\n".join(c.source for c in cells if c.cell_type == "code")
    wheel = f"pip install lojasgd-{meta['version']}-py3-none-any.whl"
    note = (
        f"*From the book* {meta['title']} *(version {meta['version']}, commit `{commit[:12]}`), "
        "as a plain Jupyter notebook: numbers written in, statements and proofs as Markdown, "
        f"macros written out. It runs with only the `lojasgd` wheel installed (`{wheel}`); "
        "the wheel, the source archive and the other chapters are on the book's "
        "\"Get the code\" page.*"
    )
    setup = SETUP.format(wheel=wheel)
    if NEEDS_SOURCE.search(code):
        setup += SETUP_DATA.format(archive=f"lojasgd-{meta['version']}-src.tar.gz", book_url=book_url)
    first = 1 if cells and cells[0].cell_type == "markdown" and cells[0].source.startswith("# ") else 0
    cells[first:first] = [new_markdown_cell(note), new_code_cell(setup.rstrip() + "\n")]
    cited = list(dict.fromkeys(re.findall(r"\]\(#(id\d+)\)", "\n".join(c.source for c in cells))))
    if cited and bib:
        refs = "\n\n".join(f"<a id='{k}'></a>\n{bib[k]}" for k in cited if k in bib)
        cells.append(new_markdown_cell("## References\n\n" + refs))
    out = new_notebook(cells=cells)
    out.metadata = {
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
        "lojasgd": {"version": meta["version"], "commit": commit, "generated_by": "scripts/plain_notebooks.py"},
    }
    if nb.metadata.get("title"):
        out.metadata["title"] = nb.metadata["title"]
    nbformat.validate(out)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="the jupyter builder's output, e.g. _build/jupyter")
    parser.add_argument("dest", type=Path, help="where to write, e.g. _build/notebooks")
    parser.add_argument("--commit", default="", help="the commit the book is built from")
    parser.add_argument("--book-url", default="", help="address of the published site, if any")
    args = parser.parse_args(argv)
    table = table_from_config_file(ROOT / "_config.yml")
    meta = metadata()
    bib = bibliography_entries(args.source / "bibliography.ipynb")
    chapters = sorted((args.source / "chapters").glob("*.ipynb"))
    if not chapters:
        print(f"no chapters in {args.source / 'chapters'}: run the jupyter builder first", file=sys.stderr)
        return 1
    (args.dest / "chapters").mkdir(parents=True, exist_ok=True)
    for path in chapters:
        nb = nbformat.read(path, as_version=4)
        nbformat.write(finish(nb, table, meta, args.commit, bib, args.book_url), args.dest / "chapters" / path.name)
    bibnb = args.source / "bibliography.ipynb"
    if bibnb.is_file():
        nb = nbformat.read(bibnb, as_version=4)
        cells = [new_markdown_cell(expand_math(c.source, table)) for c in nb.cells
                 if c.cell_type == "markdown" and "\\newcommand" not in c.source]
        out = new_notebook(cells=cells)
        out.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
        nbformat.write(out, args.dest / "bibliography.ipynb")
    print(f"plain notebooks: {len(chapters)} chapters -> {args.dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
