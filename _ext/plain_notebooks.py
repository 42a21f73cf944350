"""The jupyter builder's notebooks, read as plain Jupyter (a tiny Sphinx extension).

``make book`` runs sphinx-tojupyter's ``jupyter`` builder, which writes every
page as a notebook with the glued numbers filled in, the theorem boxes as
Markdown and the references as links; ``scripts/plain_notebooks.py`` then
finishes them (macros written out, a set-up cell).  This extension changes only
what the ``jupyter`` builder does:

* cells tagged ``remove-input`` keep their code (the page hides it, but a
  notebook without it would not run);
* ``ipython3`` code blocks (every code cell of a MyST-NB notebook) become code
  cells instead of Markdown fences;
* a box is named by its own kind: "Lemma 3.2", although lemmas share the
  theorem counter; a proof starts with one "Proof.", not two;
  "Assumption 1 (local Łojasiewicz condition)" is not repeated in brackets;
* a figure keeps its alt text instead of repeating the image's address.
"""

from __future__ import annotations

import json

from docutils import nodes

REMOVED = ("remove-input",)


def keep_removed_input(app, docname: str, source: list[str]) -> None:
    if app.builder.name != "jupyter" or not app.env.doc2path(docname).endswith(".ipynb"):
        return
    nb = json.loads(source[0])
    for cell in nb.get("cells", []):
        tags = cell.get("metadata", {}).get("tags")
        if tags:
            cell["metadata"]["tags"] = [t for t in tags if t not in REMOVED]
    source[0] = json.dumps(nb)


def _patch_translator() -> None:
    from sphinx_tojupyter.writers.translate_all import JupyterTranslator as T

    if getattr(T, "_lojasgd_patched", False):
        return
    T._lojasgd_patched = True
    original_format = T._format_proof_title

    def _format_proof_title(self, node, directive_name, display_name=None):
        realtype = node.get("realtype") or directive_name
        countertype = node.get("countertype") or directive_name
        header = original_format(self, node, countertype, realtype.title())
        return header

    T._format_proof_title = _format_proof_title

    def visit_proof_node(self, node):
        # sphinx-proof writes "Proof. " at the start of the proof's text already
        self.add_markdown_cell()

    T.visit_proof_node = visit_proof_node

    original_unenum = T.visit_unenumerable_node

    def visit_unenumerable_node(self, node):
        title = node.children[0].astext().strip() if node.children and isinstance(node.children[0], nodes.title) else ""
        kind = (node.get("realtype") or node.get("type") or "").title()
        if title and kind and title.startswith(kind + " "):
            self.add_markdown_cell()
            self.markdown_lines.append(f"**{title}**\n\n")
            self._remove_title_node(node)
            return
        original_unenum(self, node)

    T.visit_unenumerable_node = visit_unenumerable_node

    original_image = T.visit_image

    def visit_image(self, node):
        before = len(self.markdown_lines)
        original_image(self, node)
        uri_alt = node.get("alt") or "figure"
        for i in range(before, len(self.markdown_lines)):
            line = self.markdown_lines[i]
            if line.startswith("!["):
                uri = line[2 : line.index("](")]
                self.markdown_lines[i] = f"![{uri_alt}]({uri})" if line.endswith(f"]({uri})") else line

    T.visit_image = visit_image


def configure(app, config) -> None:
    config.tojupyter_lang_synonyms = ["ipython3", "ipython", "python", "python3"]
    config.tojupyter_drop_solutions = False
    config.tojupyter_drop_tests = False


def setup(app):
    app.connect("config-inited", configure)
    app.connect("source-read", keep_removed_input)
    _patch_translator()
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
