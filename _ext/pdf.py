"""LaTeX settings for `make pdf` (a tiny Sphinx extension; only LaTeX output is affected).

* sphinx-jupyterbook-latex's document class ``jupyterBook.cls`` requires
  ``bbm.sty`` (in Debian's large texlive-fonts-extra) only for shorthands the
  book never uses: ``_ext/latex/bbm.sty``, a stand-in that maps ``\\mathbbm``
  to ``\\mathbb``, is copied next to ``book.tex``.
* Display math fits the line and may carry ``\\tag`` (``FitDisplayMath``).
* Wide tables (chapter 5's thirteen columns) are set in small type with
  narrow gaps, so every column is on the page (``WideTables``).
* Boxes and figures are numbered by chapter, as on the site (``latex_numbering``).
* Long code lines wrap (Sphinx's ``sphinxsetup`` ``verbatimwrapslines``).
"""

from __future__ import annotations

import re
from pathlib import Path

from docutils import nodes
from sphinx.transforms.post_transforms import SphinxPostTransform

HERE = Path(__file__).resolve().parent

LATEX_PREAMBLE = r"""
% --- _ext/pdf.py ---
\usepackage{adjustbox}
% Long lines in code and outputs wrap, also at any character.
\sphinxsetup{verbatimwrapslines=true, verbatimforcewraps=true, verbatimmaxunderfull=2}
"""

TAG = re.compile(r"\\tag\*?\{(?:[^{}]|\{[^{}]*\})*\}")


class FitDisplayMath(SphinxPostTransform):
    """LaTeX only: every ``$$ ... $$`` display fits the line, and may carry a ``\\tag``.

    Sphinx wraps a display in ``equation*`` + ``split``, where amsmath refuses
    ``\\tag`` and where a long formula runs into the margin.  Here the formula
    (several lines as ``aligned``/``gathered``) is set in a box that
    ``adjustbox`` shrinks to the line width when, and only when, it is wider;
    the tag stays outside the box, in ``equation*``, where amsmath allows it.
    """

    default_priority = 400
    formats = ("latex",)

    def run(self, **kwargs) -> None:
        for node in self.document.findall(nodes.math_block):
            if node.get("nowrap"):
                continue  # amsmath environments written out by the author
            text = node.astext().strip()
            if re.search(r"\\begin\{(equation|align|gather|multline|flalign)", text):
                continue
            tags = TAG.findall(text)
            body = TAG.sub("", text).strip()
            body = re.sub(r"\n\s*\n", r" \\\\ ", body)  # blank-line separated parts: one line each
            if "\\\\" in body:
                inner = "aligned" if "&" in body else "gathered"
                body = f"\\begin{{{inner}}}{body}\\end{{{inner}}}"
            env = "equation" if node.get("number") else "equation*"
            label = ""
            if node.get("label"):
                label = f"\\label{{equation:{node['docname']}:{node['label']}}}"
            room = "\\linewidth-4em" if (tags or node.get("number")) else "\\linewidth"
            tex = (f"\\begin{{{env}}}{label}\n\\adjustbox{{max width=\\dimexpr {room}\\relax}}"
                   f"{{$\\displaystyle {body}$}}{''.join(tags)}\n\\end{{{env}}}")
            node.children = [nodes.Text(tex)]
            node["nowrap"] = True


class WideTables(SphinxPostTransform):
    """LaTeX only: tables of more than seven columns in small type, narrow gaps, no column squeezed."""

    default_priority = 400
    formats = ("latex",)

    def run(self, **kwargs) -> None:
        for table in list(self.document.findall(nodes.table)):
            groups = list(table.findall(nodes.tgroup))
            if not groups or int(groups[0].get("cols", 0)) <= 7:
                continue
            size = "\\scriptsize" if int(groups[0]["cols"]) > 10 else "\\footnotesize"
            # \tymin: no column narrower than a number such as 1.16e+03 (tabulary
            # would squeeze it below that and the digits would run into the next column)
            before = nodes.raw("", f"\\begingroup{size}\\setlength{{\\tabcolsep}}{{2pt}}"
                                   "\\setlength{\\tymin}{4.4em}\n", format="latex")
            after = nodes.raw("", "\\endgroup\n", format="latex")
            parent = table.parent
            i = parent.index(table)
            parent.insert(i + 1, after)
            parent.insert(i, before)


def latex_numbering(app) -> None:
    """Number boxes by chapter (Theorem 3.1), as on the site, and figures too (Fig. 1.1).

    sphinx-jupyterbook-latex sets ``numfig_secnum_depth = 2`` when the table of
    contents has parts.  The LaTeX writer needs that value (it counts the part
    level) to number figures by chapter, but sphinx-proof's numbers come from the
    table of contents, which it would number by section (Theorem 3.2.1).  So the
    numbers of the boxes are assigned with depth 1 and the writer gets depth 2.
    """
    if app.builder.format == "latex":
        app.env.lojasgd_latex_depth = app.config.numfig_secnum_depth
        app.config.numfig_secnum_depth = 1


def latex_writer_numbering(app, env) -> None:
    """After the numbers are assigned (end of reading), before the LaTeX writer starts."""
    depth = getattr(env, "lojasgd_latex_depth", None)
    if app.builder.format == "latex" and depth is not None:
        app.config.numfig_secnum_depth = depth


def latex_settings(app, config) -> None:
    config.latex_additional_files = list(config.latex_additional_files) + [str(HERE / "latex" / "bbm.sty")]
    elements = dict(config.latex_elements or {})
    elements["preamble"] = elements.get("preamble", "") + LATEX_PREAMBLE
    elements.setdefault("papersize", "a4paper")
    elements.setdefault("pointsize", "11pt")
    # xindy is a separate Debian package; makeindex (in TeX Live's binaries) suffices.
    config.latex_use_xindy = False
    config.latex_elements = elements


def setup(app):
    # after sphinx-jupyterbook-latex's own config-inited handler (priority 500)
    app.connect("config-inited", latex_settings, priority=900)
    app.connect("builder-inited", latex_numbering, priority=900)
    app.connect("env-check-consistency", latex_writer_numbering)
    app.add_post_transform(FitDisplayMath)
    app.add_post_transform(WideTables)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
