"""Citation metadata: CITATION.cff is valid CFF 1.2.0 and agrees with pyproject.toml.

The version and release date live in pyproject.toml only; scripts/sync_citation.py
writes them into CITATION.cff and CITATION.bib.  The CFF schema is the official
CFF 1.2.0 JSON schema (CC BY 4.0, citation-file-format), as shipped in the
cffconvert 2.0.0 wheel (tests/data/cff-schema-1.2.0.json); cffconvert itself pins
jsonschema<4, which clashes with the Jupyter stack, so jsonschema validates here.
"""

import json
import subprocess
import sys
import tomllib
from importlib.metadata import version as dist_version
from pathlib import Path

import jsonschema
import pytest
import yaml
from pybtex.database import parse_file

import lojasgd

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
VERSION = PYPROJECT["project"]["version"]
DATE = PYPROJECT["tool"]["lojasgd-book"]["date-released"]


@pytest.fixture(scope="module")
def cff():
    # CFF is YAML 1.2; dates are strings in the schema, so load them as such
    return yaml.load((ROOT / "CITATION.cff").read_text(encoding="utf-8"), Loader=yaml.BaseLoader)


def _typed(cff_text):
    """Like the CFF tools: YAML scalars keep their types (numbers stay numbers)."""
    data = yaml.safe_load(cff_text)

    def fix(x):  # PyYAML turns unquoted dates into datetime.date; CFF wants strings
        if isinstance(x, dict):
            return {k: fix(v) for k, v in x.items()}
        if isinstance(x, list):
            return [fix(v) for v in x]
        return x.isoformat() if hasattr(x, "isoformat") else x

    return fix(data)


def test_cff_is_valid_against_the_cff_1_2_0_schema():
    schema = json.loads((ROOT / "tests" / "data" / "cff-schema-1.2.0.json").read_text(encoding="utf-8"))
    data = _typed((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    validator = jsonschema.Draft7Validator(schema)
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


def test_cff_has_a_preferred_citation_of_this_version(cff):
    pc = cff["preferred-citation"]
    assert pc["version"] == cff["version"] == VERSION
    assert pc["date-released"] == cff["date-released"] == DATE
    assert pc["year"] == DATE[:4]
    assert pc["title"] == cff["title"] == PYPROJECT["tool"]["lojasgd-book"]["title"]


def test_citation_files_are_in_sync_with_pyproject():
    run = subprocess.run([sys.executable, str(ROOT / "scripts" / "sync_citation.py"), "--check"],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


def test_bibtex_has_the_book_and_the_paper():
    bib = parse_file(str(ROOT / "CITATION.bib"))
    assert set(bib.entries) == {"lojasgdbook", "anlu2025"}
    book = bib.entries["lojasgdbook"]
    assert f"Version {VERSION}" in book.fields["note"] and book.fields["year"] == DATE[:4]
    assert bib.entries["anlu2025"].fields["doi"] == "10.4208/jml.240724"


def test_package_version_is_the_book_version():
    assert dist_version("lojasgd") == VERSION
    assert lojasgd.__version__ == VERSION
