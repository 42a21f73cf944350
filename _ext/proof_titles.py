"""Full titles for unnumbered assumptions (a tiny Sphinx extension).

The book keeps the paper's names for its assumptions, "Assumption 1" to
"Assumption 4", instead of chapter-prefixed numbers.  They are written as

    ```{prf:assumption} Assumption 1 (local Łojasiewicz condition)
    :label: assumption-1
    :nonumber:
    ...
    ```

sphinx-proof 0.4.0 would render that box as
"Assumption (Assumption 1 (local Łojasiewicz condition))" and a bare
``{prf:ref}`assumption-1``` as "Assumption".  This extension makes the box read
"Assumption 1 (local Łojasiewicz condition)" and the bare reference
"Assumption 1".  It touches only unnumbered ``prf:assumption`` boxes whose
title starts with "Assumption "; everything else is left to sphinx-proof.
"""

from __future__ import annotations

from docutils import nodes
from sphinx_proof.nodes import (
    depart_unenumerable_node,
    unenumerable_node,
    visit_unenumerable_node,
)

FULL_TITLE = "prf-full-title"
PREFIX = "Assumption "


def _strip_title_format(title: nodes.Element) -> None:
    """Remove the " (" ... ")" that proof_title_format wrapped around the title."""
    texts = list(title.findall(nodes.Text))
    first, last = texts[0], texts[-1]
    if first is last:
        first.parent.replace(first, nodes.Text(str(first)[2:-1]))
        return
    first.parent.replace(first, nodes.Text(str(first)[2:]))
    last.parent.replace(last, nodes.Text(str(last)[:-1]))


def mark_full_titles(app, doctree: nodes.document) -> None:
    env = app.env
    if not hasattr(env, "prf_full_titles"):
        env.prf_full_titles = {}
    for node in doctree.findall(unenumerable_node):
        if node.get("realtype") != "assumption" or not node.children:
            continue
        title = node.children[0]
        text = title.astext()
        if not (text.startswith(" (" + PREFIX) and text.endswith(")")):
            continue
        _strip_title_format(title)
        node["classes"].append(FULL_TITLE)
        full = title.astext()
        short = full.split(" (", 1)[0].strip()  # "Assumption 1"
        env.prf_full_titles[node["label"]] = (env.docname, short)


def purge(app, env, docname: str) -> None:
    titles = getattr(env, "prf_full_titles", {})
    for label in [k for k, (doc, _) in titles.items() if doc == docname]:
        del titles[label]


def merge(app, env, docnames, other) -> None:
    env.prf_full_titles = {**getattr(env, "prf_full_titles", {}), **getattr(other, "prf_full_titles", {})}


def fix_bare_references(app, doctree: nodes.document, fromdocname: str) -> None:
    """A bare {prf:ref} to such an assumption reads "Assumption 1", not "Assumption"."""
    titles = getattr(app.env, "prf_full_titles", {})
    if not titles:
        return
    for ref in doctree.findall(nodes.reference):
        target = ref.get("refid") or ref.get("refuri", "").rpartition("#")[2]
        if target in titles and ref.astext().strip() == PREFIX.strip():
            ref.children = [nodes.Text(titles[target][1])]


def depart_unenumerable(self, node) -> None:
    if FULL_TITLE in node.get("classes", []) and self.builder.format == "html":
        self.body.append("</div>")  # no "Assumption " caption: the title says it
    else:
        depart_unenumerable_node(self, node)


def setup(app):
    app.setup_extension("sphinx_proof")
    app.add_node(
        unenumerable_node,
        override=True,
        html=(visit_unenumerable_node, depart_unenumerable),
        latex=(visit_unenumerable_node, depart_unenumerable_node),
    )
    app.connect("doctree-read", mark_full_titles)
    app.connect("env-purge-doc", purge)
    app.connect("env-merge-info", merge)
    app.connect("doctree-resolved", fix_bare_references)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
