"""Shared fixtures: the lecture solution is derived once per test session."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


@pytest.fixture(scope="session")
def lecture():
    from symbackprop.solution import solve

    return solve()


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def need(ok: bool, what: str) -> None:
    """Skip on a developer machine without a tool; FAIL when CI is set (CI must run every test)."""
    if ok:
        return
    if in_ci():
        pytest.fail(f"{what} missing (CI is set, so this is an error, not a skip)")
    pytest.skip(f"{what} missing; set CI=true to make this a failure")


TEX_TOOLS = ("latexmk", "pdflatex", "pdftotext", "pdftocairo")


@pytest.fixture
def tex() -> None:
    """The LaTeX tool chain: skipped without it locally, a failure without it in CI."""
    from symbackprop.pdf import tex_available

    missing = [p for p in TEX_TOOLS if shutil.which(p) is None]
    need(not missing and tex_available(), f"LaTeX tools ({', '.join(missing) or 'latexmk/pdflatex'})")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "tex: needs the LaTeX tool chain (every test using the `tex` fixture)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that uses the ``tex`` fixture is marked ``tex``: ``-m "not tex"`` leaves LaTeX out."""
    for item in items:
        if "tex" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.tex)
