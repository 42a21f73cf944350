"""What a reader takes away from the site: version, commit, code, notebooks, PDF, citation.

A Sphinx extension.  On every HTML build it

* reads the version and release date from ``pyproject.toml`` (the one place
  they are kept; ``CITATION.cff`` and ``CITATION.bib`` are generated from it by
  ``scripts/sync_citation.py``, and the tests check that they agree), and the
  commit from git (or, in a source archive, from ``_ext/COMMIT``, which
  ``git archive`` fills in through ``.gitattributes``' ``export-subst``);
* writes into ``_build/html/bundle/``: ``git archive`` of exactly that commit,
  a wheel of ``lojasgd`` built from the archive (``pip wheel --no-deps``), the
  citation files, the plain-Jupyter notebooks made by ``make book``
  (``_build/notebooks``, see ``scripts/plain_notebooks.py``) and the PDF when
  ``make pdf`` has built one;
* provides the directive ``{bundle-downloads}`` used by ``code.md`` (the
  "Get the code" page), a header button to that page, the page download
  menu's plain notebook and PDF, and the footer (version, commit, licences);
* switches the Binder/Colab launch buttons on only when ``repository.url`` in
  ``_config.yml`` is set, and the repository button with them.
"""

from __future__ import annotations

import hashlib
import html
import shutil
import subprocess
import sys
import tarfile
import tempfile
import tomllib
from pathlib import Path

from docutils import nodes
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

ROOT = Path(__file__).resolve().parent.parent
BUNDLE = "bundle"            # folder of the site that holds the downloads
CODE_PAGE = "code"           # docname of the "Get the code" page
NOTEBOOKS = ROOT / "_build" / "notebooks"   # written by scripts/plain_notebooks.py
PDF = ROOT / "_build" / "latex" / "book.pdf"  # written by `make pdf`
MIT = "https://opensource.org/license/mit"
CC_BY = "https://creativecommons.org/licenses/by/4.0/"

logger = logging.getLogger(__name__)


# ---------------------------------------------------------------------------
# Version, date, commit
def project_metadata(root: Path = ROOT) -> dict:
    data = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    book = data.get("tool", {}).get("lojasgd-book", {})
    return {
        "name": data["project"]["name"],
        "version": data["project"]["version"],
        "date": book["date-released"],
        "title": book["title"],
    }


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return out.stdout.strip()


def commit_info() -> dict:
    """``{"commit", "short", "dirty", "git"}``: the commit the site is built from."""
    head = _git("rev-parse", "HEAD")
    if head:
        status = _git("status", "--porcelain", "--untracked-files=no")
        return {"commit": head, "short": head[:12], "dirty": bool(status), "git": True}
    stamp = (ROOT / "_ext" / "COMMIT").read_text(encoding="utf-8").strip()
    if stamp.startswith("$Format"):
        stamp = "unknown"
    return {"commit": stamp, "short": stamp[:12], "dirty": False, "git": False}


def bundle_names(meta: dict) -> dict:
    v = meta["version"]
    return {
        "archive": f"lojasgd-{v}-src.tar.gz",
        "wheel": f"lojasgd-{v}-py3-none-any.whl",
        "notebooks": f"lojasgd-{v}-notebooks.zip",
        "pdf": f"lojasgd-{v}-book.pdf",
        "bib": "CITATION.bib",
        "cff": "CITATION.cff",
    }


# ---------------------------------------------------------------------------
# Writing the bundle (HTML builds only)
def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_bundle(app) -> None:
    previous = getattr(app.env, "lojasgd_bundle", {})
    info = app.env.lojasgd_bundle = {"files": {}}
    app.env.lojasgd_bundle_changed = False
    if app.builder.format != "html":
        return
    meta, commit, names = app.config.lojasgd_meta, app.config.lojasgd_commit, bundle_names(app.config.lojasgd_meta)
    out = Path(app.outdir) / BUNDLE
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    prefix = f"lojasgd-{meta['version']}"
    with tempfile.TemporaryDirectory() as tmp:
        if commit["git"]:
            archive = out / names["archive"]
            subprocess.run(["git", "archive", "--format=tar.gz", f"--prefix={prefix}/",
                            "-o", str(archive), commit["commit"]], cwd=ROOT, check=True)
            with tarfile.open(archive) as tar:
                tar.extractall(tmp, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
            source = Path(tmp) / prefix
        else:  # building from a source archive: the wheel comes from this tree
            source = ROOT
        logger.info(f"[bundle] building the wheel of lojasgd {meta['version']}")
        wheel = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(source)]
        try:  # offline, with the environment's setuptools
            subprocess.run(wheel + ["--no-build-isolation"], check=True, stdout=subprocess.DEVNULL)
        except subprocess.CalledProcessError:  # an environment without setuptools
            subprocess.run(wheel, check=True, stdout=subprocess.DEVNULL)
    for key in ("bib", "cff"):
        shutil.copy2(ROOT / names[key], out / names[key])
    if NOTEBOOKS.is_dir():
        shutil.copytree(NOTEBOOKS, out / "notebooks")
        shutil.make_archive(str(out / names["notebooks"]).removesuffix(".zip"), "zip", NOTEBOOKS)
    if PDF.is_file():
        shutil.copy2(PDF, out / names["pdf"])
    for key, name in names.items():
        path = out / name
        if path.is_file():
            info["files"][key] = {"name": name, "size": path.stat().st_size, "sha256": _sha256(path)}
    info["notebooks"] = sorted(p.relative_to(out / "notebooks").as_posix()
                               for p in (out / "notebooks").rglob("*.ipynb")) if NOTEBOOKS.is_dir() else []
    # every page's download menu lists the bundle: a new file (the PDF) means new pages
    app.env.lojasgd_bundle_changed = (set(info["files"]) != set(previous.get("files", {}))
                                      or info["notebooks"] != previous.get("notebooks"))


def documents_to_reread(app, env, added, changed, removed):
    """The "Get the code" page on every build (it lists what this build wrote); every
    page when the bundle gained or lost a file (each page's download menu lists it) or
    when the previous build used another builder (HTML, plain notebooks and LaTeX
    share ``_build/.doctrees``, and each adds its own touches while reading)."""
    previous = getattr(env, "lojasgd_builder", None)
    env.lojasgd_builder = app.builder.name
    docs = {CODE_PAGE} & set(env.found_docs)
    if (previous is not None and previous != app.builder.name) or getattr(env, "lojasgd_bundle_changed", False):
        docs |= set(env.found_docs)
    return sorted(docs - set(added))


# ---------------------------------------------------------------------------
# The directive on the "Get the code" page
def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e5 else f"{n / 1e3:.0f} kB"


class BundleDownloads(SphinxDirective):
    """``{bundle-downloads}``: version, commit, download table, commands, BibTeX."""

    has_content = False

    def run(self):
        meta, commit = self.config.lojasgd_meta, self.config.lojasgd_commit
        names = bundle_names(meta)
        files = getattr(self.env, "lojasgd_bundle", {}).get("files", {})
        repo = self.config.html_theme_options.get("repository_url") or ""
        result = []

        facts = nodes.bullet_list()
        line = nodes.paragraph()
        line += nodes.strong(text="Version: ")
        line += nodes.literal(text=meta["version"])
        line += nodes.Text(f", released {meta['date']}.")
        facts += nodes.list_item("", line)
        line = nodes.paragraph()
        line += nodes.strong(text="Built from commit: ")
        if repo and commit["git"]:
            ref = nodes.reference("", "", refuri=f"{repo.rstrip('/')}/tree/{commit['commit']}")
            ref += nodes.literal(text=commit["commit"])
            line += ref
        else:
            line += nodes.literal(text=commit["commit"])
        if commit["dirty"]:
            line += nodes.Text(" (the working tree had uncommitted changes; the archive holds the commit)")
        line += nodes.Text(".")
        facts += nodes.list_item("", line)
        result.append(facts)

        if self.env.app.builder.format == "html" and files:
            labels = {
                "archive": "Source archive (git archive of the commit: package, chapters, data, scripts, tests, requirements, README)",
                "wheel": "Wheel of the package lojasgd",
                "notebooks": "Every chapter as a plain Jupyter notebook (zip)",
                "pdf": "The whole book as a PDF",
                "bib": "BibTeX for the book and the paper",
                "cff": "CITATION.cff",
            }
            table = nodes.table(classes=["bundle-downloads"])
            group = nodes.tgroup(cols=3)
            table += group
            for width in (50, 15, 35):
                group += nodes.colspec(colwidth=width)
            head = nodes.thead()
            group += head
            row = nodes.row()
            for title in ("File", "Size", "SHA-256"):
                row += nodes.entry("", nodes.paragraph(text=title))
            head += row
            body = nodes.tbody()
            group += body
            for key in ("archive", "wheel", "notebooks", "pdf", "bib", "cff"):
                if key not in files:
                    continue
                f = files[key]
                row = nodes.row()
                para = nodes.paragraph()
                ref = nodes.reference("", "", refuri=f"{BUNDLE}/{f['name']}", classes=["bundle-file"])
                ref += nodes.literal(text=f["name"])
                para += ref
                para += nodes.Text(f": {labels[key]}")
                row += nodes.entry("", para)
                row += nodes.entry("", nodes.paragraph(text=_size(f["size"])))
                row += nodes.entry("", nodes.paragraph("", "", nodes.literal(text=f["sha256"][:12] + "…")))
                body += row
            result.append(table)
            if "pdf" not in files:
                result.append(nodes.paragraph(text="The PDF is added here by `make pdf` (it needs XeLaTeX; see the README)."))

        prefix = f"lojasgd-{meta['version']}"
        commands = (
            f"tar xzf {names['archive']}\n"
            f"cd {prefix}\n"
            "make book    # build this book: _build/html/index.html\n"
            "make test    # package tests, chapters re-run and compared, book, browser check\n"
        )
        result.append(nodes.paragraph(text="Build and test the book from the source archive (needs make and Python 3.11):"))
        result.append(nodes.literal_block(commands, commands, language="bash"))
        install = (
            "python3 -m venv .venv && . .venv/bin/activate\n"
            "# on Linux, plain PyPI's torch is the CUDA build (several GB); the CPU build is smaller:\n"
            "pip install torch --index-url https://download.pytorch.org/whl/cpu\n"
            f"pip install {names['wheel']} ipykernel\n"
            "jupyter nbconvert --to notebook --execute 01_introduction.ipynb   # or open it in Jupyter\n"
        )
        result.append(nodes.paragraph(text="Or install only the package and run a downloaded notebook:"))
        result.append(nodes.literal_block(install, install, language="bash"))

        bib = (ROOT / names["bib"]).read_text(encoding="utf-8")
        result.append(nodes.paragraph(text="To cite the book and the paper it accompanies (BibTeX):"))
        result.append(nodes.literal_block(bib, bib, language="bibtex"))
        return result


# ---------------------------------------------------------------------------
# Header button, download menu, footer
def page_context(app, pagename, templatename, context, doctree):
    meta, commit = app.config.lojasgd_meta, app.config.lojasgd_commit
    files = getattr(app.env, "lojasgd_bundle", {}).get("files", {})
    notebooks = getattr(app.env, "lojasgd_bundle", {}).get("notebooks", [])
    pathto = context["pathto"]
    code_url = pathto(CODE_PAGE)
    buttons = context.get("header_buttons")
    if buttons is not None:
        for group in buttons:
            if group.get("label") != "download-buttons":
                continue
            items = []
            rel = f"{pagename}.ipynb"
            if rel in notebooks:
                items.append({"type": "link", "url": pathto(f"{BUNDLE}/notebooks/{rel}", 1),
                              "text": ".ipynb (plain Jupyter)", "icon": "fas fa-code",
                              "tooltip": "This chapter as a notebook that runs in any Jupyter",
                              "label": "download-plain-notebook-button"})
            for b in group["buttons"]:
                if b.get("label") == "download-source-button":
                    items.append({**b, "text": f"{b['text']} (MyST source)"})
                    continue
                if b.get("label") == "download-pdf-button" and "pdf" in files:
                    items.append({"type": "link", "url": pathto(f"{BUNDLE}/{files['pdf']['name']}", 1),
                                  "text": ".pdf (the whole book)", "tooltip": "Download the book as a PDF",
                                  "icon": "fas fa-file-pdf", "label": "download-book-pdf-button"})
                items.append(b)
            group["buttons"] = items
        buttons.insert(0, {"type": "link", "url": code_url, "icon": "fas fa-box-open",
                           "text": "Get the code",
                           "tooltip": "Source, package, notebooks, PDF and how to cite",
                           "label": "get-the-code"})
    dirty = " (modified)" if commit["dirty"] else ""
    context["theme_extra_footer"] = (
        f'<p class="book-version">lojasgd {html.escape(meta["version"])} · commit '
        f'<code>{html.escape(commit["short"])}</code>{dirty} · '
        f'<a href="{code_url}">get the code</a> · '
        f'code under the <a href="{MIT}">MIT licence</a>, text under '
        f'<a href="{CC_BY}">CC BY 4.0</a></p>'
    )


# ---------------------------------------------------------------------------
def configure(app, config) -> None:
    config.lojasgd_meta = project_metadata()
    config.lojasgd_commit = commit_info()
    opts = dict(config.html_theme_options or {})
    repo = (opts.get("repository_url") or "").strip()
    if not repo:
        # off until repository.url is set: no launch buttons, no repository button
        opts["launch_buttons"] = {}
        opts["use_repository_button"] = False
    else:
        opts["use_repository_button"] = True
    config.html_theme_options = opts
    config.html_context = {**(config.html_context or {}), "lojasgd_version": config.lojasgd_meta["version"]}


def setup(app):
    app.add_config_value("lojasgd_meta", {}, "env")
    app.add_config_value("lojasgd_commit", {}, "env")
    app.add_directive("bundle-downloads", BundleDownloads)
    app.connect("config-inited", configure, priority=900)
    app.connect("builder-inited", write_bundle)
    app.connect("env-get-outdated", documents_to_reread)
    app.connect("html-page-context", page_context, priority=600)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
