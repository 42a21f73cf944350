"""Search finds "Lojasiewicz" typed without the Ł (a tiny Sphinx extension).

Sphinx's search matches whole (stemmed) words, so "lojasiewicz" never finds
"Łojasiewicz".  For every word of a page that has a letter outside ASCII, this
adds its ASCII spelling (Ł -> L, é -> e, ...) to the page's
``<meta name="keywords">``, which Sphinx's search index reads as words of the page.
HTML builds only.
"""

from __future__ import annotations

import re
import unicodedata

from docutils import nodes

# letters that Unicode does not decompose into an ASCII letter plus accents
SPECIAL = str.maketrans({"Ł": "L", "ł": "l", "Ø": "O", "ø": "o", "Đ": "D", "đ": "d", "ß": "ss", "Æ": "AE", "æ": "ae"})
WORD = re.compile(r"[^\W\d_]+(?:[-'][^\W\d_]+)*")


def ascii_fold(word: str) -> str:
    word = word.translate(SPECIAL)
    return unicodedata.normalize("NFKD", word).encode("ascii", "ignore").decode("ascii")


def ascii_spellings(text: str) -> list[str]:
    """ASCII spellings of the Latin words of ``text`` that are not ASCII already."""
    found = set()
    for word in WORD.findall(text):
        if word.isascii():
            continue
        folded = ascii_fold(word)
        # only words that stay words: skip Greek letters, symbols, ...
        if len(folded) >= 3 and len(folded) >= len(word) - 1 and folded.isalpha():
            found.add(folded)
    return sorted(found)


def add_keywords(app, doctree: nodes.document) -> None:
    if app.builder.format != "html":
        return
    words = ascii_spellings(doctree.astext())
    if words:
        doctree.insert(0, nodes.meta(name="keywords", content=", ".join(words)))


def setup(app):
    app.connect("doctree-read", add_keywords)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
