"""The book's build helpers: the macro table (_ext/macros.py), the ASCII search
spellings (_ext/ascii_search.py) and the plain-notebook post-pass
(scripts/plain_notebooks.py).  Pure functions, no Sphinx build."""

import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "_ext"))
sys.path.insert(0, str(ROOT / "scripts"))

import ascii_search  # noqa: E402
import macros  # noqa: E402
import plain_notebooks  # noqa: E402

TABLE = macros.table_from_config_file(ROOT / "_config.yml")


def test_the_macro_table_is_the_config_one():
    assert TABLE["R"] == ("\\mathbb{R}", 0)
    assert TABLE["norm"] == ("\\left\\lVert #1 \\right\\rVert", 1)
    assert TABLE["ip"][1] == 2


@pytest.mark.parametrize("tex, want", [
    (r"x \in \R^d", r"x \in \mathbb{R}^d"),
    (r"\E F(\theta)", r"\mathbb{E} F(\theta)"),
    (r"\Prob(E)", r"\mathbb{P}(E)"),                    # longest name first: \Prob, not \P + rob
    (r"\norm{x - y}^2", r"\left\lVert x - y \right\rVert^2"),
    (r"\ip{a}{\norm{b}}", r"\left\langle a, \left\lVert b \right\rVert \right\rangle"),
    (r"\ind_{E_k}", r"\mathbf{1}_{E_k}"),
    (r"\1_{A}", r"\mathbf{1}_{A}"),
    (r"\Rightarrow \Re \epsilon", r"\Rightarrow \Re \epsilon"),  # other commands untouched
    (r"a \\R", r"a \\R"),                                 # a line break, then R
    (r"\etamax", r"\eta_{\max}"),
])
def test_expand(tex, want):
    assert macros.expand(tex, TABLE) == want


def test_latex_definitions_define_every_macro():
    tex = macros.latex_definitions(TABLE)
    assert "\\def\\R{\\mathbb{R}}" in tex
    assert "\\def\\norm#1{\\left\\lVert #1 \\right\\rVert}" in tex
    assert "\\def\\ip#1#2{" in tex
    assert tex.count("\\def") == len(TABLE)


def test_ascii_spellings():
    words = ascii_search.ascii_spellings("Łojasiewicz, Lévy and Schur; θ₀, α, Ville")
    assert words == ["Levy", "Lojasiewicz"]


def test_finish_a_notebook():
    nb = new_notebook(cells=[
        new_markdown_cell("$$\n\\newcommand{\\R}{\\mathbb{R}}\n$$"),
        new_markdown_cell("# A chapter"),
        new_markdown_cell("Take $ x \\in \\R $ and [Chatterjee 2022](../bibliography.ipynb#id3)."),
        new_markdown_cell("```ipython3\nfrom myst_nb import glue\nROOT / \"data\"\n```"),
    ])
    meta = {"version": "9.9.9", "title": "A book"}
    out = plain_notebooks.finish(nb, TABLE, meta, "0123456789abcdef", {"id3": "[Chatterjee, 2022] ..."}, "")
    kinds = [c.cell_type for c in out.cells]
    assert kinds == ["markdown", "markdown", "code", "markdown", "code", "markdown"]
    assert out.cells[0].source == "# A chapter"
    setup = out.cells[2].source
    assert "sys.modules[\"myst_nb\"]" in setup and "lojasgd-9.9.9-src.tar.gz" in setup
    assert "\\mathbb{R}" in out.cells[3].source and "\\R " not in out.cells[3].source
    assert "](#id3)" in out.cells[3].source
    assert out.cells[4].source == "from myst_nb import glue\nROOT / \"data\""
    assert out.cells[5].source.startswith("## References") and "<a id='id3'></a>" in out.cells[5].source
    assert out.metadata["kernelspec"]["name"] == "python3"
    nbformat.validate(out)


def test_the_set_up_cell_stands_in_for_glue():
    nb = new_notebook(cells=[new_markdown_cell("# T")])
    out = plain_notebooks.finish(nb, TABLE, {"version": "1", "title": "B"}, "c", {}, "")
    scope = {}
    saved = sys.modules.pop("myst_nb", None)
    try:
        import builtins
        real_import = builtins.__import__

        def no_myst_nb(name, *a, **k):
            if name == "myst_nb" and "myst_nb" not in sys.modules:
                raise ImportError(name)
            return real_import(name, *a, **k)

        builtins.__import__ = no_myst_nb
        try:
            exec(out.cells[2].source, scope)
            exec("from myst_nb import glue\nglue('x', 1.5, display=False)", scope)
        finally:
            builtins.__import__ = real_import
    finally:
        sys.modules.pop("myst_nb", None)
        if saved is not None:
            sys.modules["myst_nb"] = saved


def test_chapter_conventions_are_idempotent_and_the_build_drops_the_front_matter():
    import chapter_conventions as cc
    from nbformat.v4 import new_code_cell

    nb = new_notebook(cells=[
        new_markdown_cell("# Title\n\n$\\Prob(E) \\le 1$"),
        new_markdown_cell("By part 2 of {prf:ref}`thm-main` and {prf:ref}`thm-main` (3), "
                          "({prf:ref}`lem-x`, Part 1)."),
        new_code_cell("import math", metadata={"tags": ["remove-input"]}),
        new_code_cell("# a check\nassert 1 + 1 == 2\nassert all(\n    x > 0 for x in (1, 2)\n)"),
        new_code_cell("x = 1\nassert x"),
    ])
    assert cc.apply(nb, TABLE)
    first = nb.cells[0].source
    assert first.startswith("---\nmath:\n  '\\R': '\\mathbb{R}'\n")
    assert macros.FRONT_MATTER.sub("", first) == "# Title\n\n$\\P(E) \\le 1$"
    assert nb.cells[1].source == ("By {prf:ref}`thm-main`(2) and {prf:ref}`thm-main`(3), "
                                  "({prf:ref}`lem-x`(1)).")
    assert nb.cells[2].metadata["tags"] == ["hide-input"]  # the set-up cell: folded, not removed
    assert nb.cells[3].metadata["tags"] == ["hide-input"]
    assert "tags" not in nb.cells[4].metadata
    assert not cc.apply(nb, TABLE)  # a second run changes nothing
