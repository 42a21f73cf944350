"""Smoke test of the installed package (the frame's own test).

Keeps `pytest tests/` meaningful even before the module tests exist: pytest's
exit status 5 ("nothing collected") is treated as a failure by `make test`.
"""

from importlib.metadata import version

import lojasgd


def test_package_imports_from_src_layout():
    assert lojasgd.__name__ == "lojasgd"
    assert lojasgd.__file__ is not None and "src" in lojasgd.__file__


def test_distribution_version_is_a_string():
    v = version("lojasgd")
    assert isinstance(v, str) and v.count(".") >= 1
