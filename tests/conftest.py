"""Shared fixtures: the lecture solution is derived once per test session.

Markers: ``tex`` (every test that uses the ``tex`` fixture, set here automatically) and ``node``
need outside tools; ``python -m pytest -m "not tex and not node"`` is the fast inner loop.
Hypothesis runs derandomized, so two runs draw the same cases.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from hypothesis import settings

settings.register_profile("symbackprop", derandomize=True, deadline=None, print_blob=True)
settings.load_profile("symbackprop")

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


@pytest.fixture(scope="session")
def lecture():
    from symbackprop.engine.solution import solve

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
    from symbackprop.io.pdf import tex_available

    missing = [p for p in TEX_TOOLS if shutil.which(p) is None]
    need(not missing and tex_available(), f"LaTeX tools ({', '.join(missing) or 'latexmk/pdflatex'})")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that asks for the ``tex`` fixture is a ``tex`` test: one place decides the marker."""
    for item in items:
        if "tex" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.tex)
