"""The built site in a real browser: every page opened from disk, with the network off.

Run by ``make test-browser`` (the last stage of ``make test``) after ``make book``;
``pytest tests/`` does not collect this folder (``norecursedirs`` in pyproject.toml).
Debian's ``chromium`` and ``chromium-driver`` (``make browser-deps`` installs them as
root), driven by Selenium, load each page of ``_build/html`` through ``file://`` with
every host name unresolvable, and check, on every page:

* the math is typeset by the MathJax served from the site: MathJax output present
  wherever the page has math, no MathJax error node, no raw ``\\(``, ``\\[`` or ``$$``
  left in the visible text, and nothing was fetched from the network;
* every image loaded; no "??" (an unresolved reference) in the visible text;
* no element is wider than its column, at 1400 px and at 400 px, unless it sits in a
  box that scrolls (display math, tables, code);
* every link to a local file points at a file that exists (download buttons, the
  bundle on the "Get the code" page, the plain notebooks; also the page's scripts,
  style sheets and favicon).

It also checks that search finds "Lojasiewicz" typed without the Ł.  A missing browser
or an unbuilt site is a failure, never a skip.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "_build" / "html"
SKIP_DIRS = {"_static", "_sources", "_images", "bundle", "_downloads"}
WIDTHS = (1400, 400)
# Debian's chromium and chromium-driver; the Makefile's CHROMIUM/CHROMEDRIVER override them
CHROMIUM = shutil.which(os.environ.get("CHROMIUM", "chromium")) or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which(os.environ.get("CHROMEDRIVER", "chromedriver")) or "/usr/bin/chromedriver"


def _is_redirect(p: Path) -> bool:
    """A stub that only redirects (Jupyter Book's index.html): it has no page to check."""
    head = p.read_text(encoding="utf-8", errors="replace")[:400].lower()
    return 'http-equiv="refresh"' in head and "<body" not in head


def pages() -> list[Path]:
    if not (SITE / "index.html").is_file():
        return []
    return sorted(p for p in SITE.rglob("*.html")
                  if not (set(p.relative_to(SITE).parts[:-1]) & SKIP_DIRS) and not _is_redirect(p))


def test_redirects_point_at_pages_that_exist():
    stubs = [p for p in SITE.rglob("*.html") if _is_redirect(p)]
    assert (SITE / "index.html") in stubs or (SITE / "index.html").is_file()
    for p in stubs:
        target = p.read_text(encoding="utf-8").split("url=", 1)[1].split('"', 1)[0]
        assert (p.parent / target).is_file(), f"{p.name} redirects to a missing page {target}"


# JavaScript run in the page -------------------------------------------------
WAIT_FOR_MATHJAX = """
const done = arguments[arguments.length - 1];
if (typeof MathJax === 'undefined' || !MathJax.startup) { done('none'); return; }
MathJax.startup.promise.then(() => done('typeset'), (e) => done('error: ' + e));
"""

VISIBLE_TEXT = """
const main = document.querySelector('main') || document.body;
const clone = main.cloneNode(true);
clone.querySelectorAll('pre, code, script, style, textarea, mjx-container, .highlight, '
  + '.cell_input, details:not([open]) > :not(summary)').forEach(e => e.remove());
return clone.textContent;
"""

MATH_STATE = """
return {
  sources: document.querySelectorAll('span.math, div.math').length,
  typeset: document.querySelectorAll('mjx-container').length,
  errors: document.querySelectorAll('mjx-merror, [data-mjx-error]').length,
  errorText: Array.from(document.querySelectorAll('mjx-merror, [data-mjx-error]')).slice(0, 3)
               .map(e => e.getAttribute('data-mjx-error') || e.textContent),
  network: performance.getEntriesByType('resource').map(r => r.name)
             .filter(n => !n.startsWith('file:') && !n.startsWith('data:') && !n.startsWith('blob:')),
};
"""

NO_ALT = """
return Array.from(document.querySelectorAll('figure img'))
  .filter(img => !(img.getAttribute('alt') || '').trim())
  .map(img => (img.getAttribute('src') || '').slice(0, 80));
"""

BROKEN_IMAGES = """
return Array.from(document.images)
  .filter(img => !(img.complete && img.naturalWidth > 0))
  .map(img => img.getAttribute('src').slice(0, 120));
"""

# Elements whose box sticks out of the article's column, unless an ancestor inside the
# column clips or scrolls them; and the page's own horizontal overflow.
OVERFLOW = """
const col = document.querySelector('article.bd-article') || document.querySelector('main');
const box = col.getBoundingClientRect();
const bad = [];
const clipped = (el) => {
  for (let a = el.parentElement; a && a !== col; a = a.parentElement) {
    const o = getComputedStyle(a).overflowX;
    if (o === 'auto' || o === 'scroll' || o === 'hidden' || o === 'clip') return true;
  }
  return false;
};
for (const el of col.querySelectorAll('*')) {
  const r = el.getBoundingClientRect();
  if (r.width === 0 || r.height === 0) continue;
  const st = getComputedStyle(el);
  if (st.position === 'fixed' || st.visibility === 'hidden') continue;
  if ((r.right > box.right + 1 || r.left < box.left - 1) && !clipped(el)) {
    const id = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
      + (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : '');
    bad.push(`${id} [${Math.round(r.left)}, ${Math.round(r.right)}] in [${Math.round(box.left)}, ${Math.round(box.right)}]: `
      + (el.textContent || '').trim().slice(0, 60));
  }
}
const doc = document.documentElement;
return {bad: bad.slice(0, 15), count: bad.length, pageOverflow: doc.scrollWidth - doc.clientWidth};
"""

LOCAL_LINKS = """
const urls = [];
document.querySelectorAll('a[href], link[href]').forEach(e => urls.push(e.href));
document.querySelectorAll('script[src], img[src]').forEach(e => urls.push(e.src));
return urls.filter(h => h.startsWith('file:'));
"""


# The browser ------------------------------------------------------------------
@pytest.fixture(scope="module")
def driver():
    missing = [name for name, path in (("chromium", CHROMIUM), ("chromedriver", CHROMEDRIVER))
               if not Path(path).is_file()]
    if missing:
        pytest.fail(f"the browser test needs {', '.join(missing)}: "
                    "sudo apt-get install chromium chromium-driver (or `make browser-deps` as root)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="lojasgd-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in (
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage", "--allow-file-access-from-files",
        # the network is off: no host name resolves, no proxy answers
        "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
        f"--user-data-dir={profile}", "--window-size=1400,1000",
    ):
        opts.add_argument(arg)
    browser = webdriver.Chrome(options=opts, service=Service(CHROMEDRIVER))
    browser.set_script_timeout(120)
    browser.set_page_load_timeout(120)
    yield browser
    browser.quit()
    shutil.rmtree(profile, ignore_errors=True)


def test_the_site_is_built():
    assert pages(), f"no built site in {SITE}: run `make book` first"
    names = {p.relative_to(SITE).as_posix() for p in pages()}
    assert {"intro.html", "code.html", "prf-prf.html", "api.html", "chapters/03_main_theorem.html"} <= names


def _file(url: str) -> Path:
    return Path(unquote(urlparse(url).path))


@pytest.mark.parametrize("page", pages(), ids=lambda p: p.relative_to(SITE).as_posix())
def test_page(driver, page):
    driver.set_window_size(1400, 1000)
    driver.get(page.as_uri())
    state = driver.execute_async_script(WAIT_FOR_MATHJAX)
    assert not state.startswith("error"), f"MathJax failed: {state}"
    math = driver.execute_script(MATH_STATE)
    problems = []
    if math["sources"]:
        if state != "typeset" or not math["typeset"]:
            problems.append(f"{math['sources']} math elements but no MathJax output ({state})")
        elif math["typeset"] < math["sources"]:
            problems.append(f"only {math['typeset']} of {math['sources']} math elements typeset")
    if math["errors"]:
        problems.append(f"{math['errors']} MathJax errors, e.g. {math['errorText']}")
    if math["network"]:
        problems.append(f"tried the network: {math['network'][:5]}")
    text = driver.execute_script(VISIBLE_TEXT)
    for raw in ("\\(", "\\[", "$$"):
        if raw in text:
            i = text.index(raw)
            problems.append(f"raw TeX {raw!r} in the text: ...{text[max(0, i - 40):i + 40]!r}...")
    if "??" in text:
        i = text.index("??")
        problems.append(f"unresolved reference '??': ...{text[max(0, i - 60):i + 20]!r}...")
    broken = driver.execute_script(BROKEN_IMAGES)
    if broken:
        problems.append(f"{len(broken)} images did not load: {broken[:3]}")
    no_alt = driver.execute_script(NO_ALT)
    if no_alt and page.name not in {"genindex.html", "search.html"}:
        problems.append(f"{len(no_alt)} figures without an alt text: {no_alt[:3]}")
    for url in driver.execute_script(LOCAL_LINKS):
        target = _file(url)
        if not target.exists():
            problems.append(f"link to a missing file: {target.relative_to(SITE) if SITE in target.parents else target}")
    for width in WIDTHS:
        driver.set_window_size(width, 1000)
        driver.execute_script("return document.body.offsetHeight")  # let the layout settle
        over = driver.execute_script(OVERFLOW)
        if over["count"] or over["pageOverflow"] > 1:
            problems.append(f"at {width} px: {over['count']} elements wider than the column "
                            f"(page overflows by {over['pageOverflow']} px): {over['bad']}")
    assert not problems, "\n".join(problems)


def test_chapters_offer_the_plain_notebook(driver):
    for page in sorted((SITE / "chapters").glob("*.html")):
        driver.get(page.as_uri())
        links = driver.execute_script(
            "return Array.from(document.querySelectorAll('a.btn-download-plain-notebook-button')).map(a => a.href)")
        assert len(links) == 1, f"{page.name}: no plain-notebook download"
        assert _file(links[0]).is_file()
        assert _file(links[0]).name == page.with_suffix(".ipynb").name


def test_search_finds_lojasiewicz_without_the_accent(driver):
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get((SITE / "search.html").as_uri() + "?q=Lojasiewicz")
    found = WebDriverWait(driver, 60).until(
        lambda d: d.execute_script("return document.querySelectorAll('#search-results li').length"))
    assert found >= 3, f"search for 'Lojasiewicz' found {found} pages"
