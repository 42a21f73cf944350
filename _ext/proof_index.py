"""The index of statements, titled and numbered (a tiny Sphinx extension).

sphinx-proof 0.4.0's "Proof Index" (``prf-prf.html``) lists raw labels
(``thm-main``) under one heading each.  This replaces it with an index titled
"Index of statements", grouped by chapter, whose entries read as in the text:
"Theorem 3.1 (Local convergence with positive probability)", "Assumption 1
(local Łojasiewicz condition)".  Link to it with ``{ref}`prf-prf```.
"""

from __future__ import annotations

from collections import defaultdict

from docutils import nodes
from sphinx_proof.domain import ProofDomain, ProofIndex

TITLE = "Index of statements"


def collect_titles(app, doctree) -> None:
    env = app.env
    titles = env.__dict__.setdefault("prf_box_titles", {})
    for node in doctree.findall(lambda n: isinstance(n, nodes.Admonition) and n.get("realtype")):
        label = node.get("label")
        if label and node.children:
            titles[label] = node.children[0].astext().strip()


def purge(app, env, docname) -> None:
    titles = getattr(env, "prf_box_titles", {})
    for label in [k for k in titles if env.__dict__.get("proof_list", {}).get(k, {}).get("docname") == docname]:
        del titles[label]


def merge(app, env, docnames, other) -> None:
    env.prf_box_titles = {**getattr(env, "prf_box_titles", {}), **getattr(other, "prf_box_titles", {})}


class StatementIndex(ProofIndex):
    name = "prf"
    localname = TITLE
    shortname = "Statements"

    def generate(self, docnames=None):
        env = self.domain.env
        proofs = getattr(env, "proof_list", {})
        titles = getattr(env, "prf_box_titles", {})
        full = getattr(env, "prf_full_titles", {})  # from proof_titles.py: "Assumption 1"
        chapters = defaultdict(list)
        for label, v in proofs.items():
            if v["realtype"] == "proof":
                continue
            doc = v["docname"]
            number = env.toc_fignumbers.get(doc, {}).get(v["countertype"], {}).get(label)
            title = titles.get(label, "")
            if label in full:
                name, sort = title or full[label][1], (0, title)
            elif number:
                name = f"{v['realtype'].title()} {'.'.join(map(str, number))}"
                if title:
                    name += f" {title}" if title.startswith("(") else f" ({title})"
                sort = (1, tuple(number))
            else:
                name, sort = f"{v['realtype'].title()} {title}".strip(), (2, title)
            secnum = env.toc_secnumbers.get(doc, {}).get("", ())
            heading = env.titles[doc].astext()
            if secnum:
                heading = f"Chapter {'.'.join(map(str, secnum))}: {heading}"
            chapters[(secnum or (999,), heading)].append((sort, (name, 0, doc, label, "", "", "")))
        content = [(heading, [entry for _, entry in sorted(entries)])
                   for (_, heading), entries in sorted(chapters.items())]
        return content, True


def setup(app):
    app.setup_extension("sphinx_proof")
    ProofDomain.indices = [StatementIndex]
    app.connect("doctree-read", collect_titles)
    app.connect("env-purge-doc", purge)
    app.connect("env-merge-info", merge)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
