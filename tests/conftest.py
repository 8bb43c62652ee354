"""Shared fixtures: the lecture solution is derived once per test session.

Markers: ``tex`` and ``node`` (set here on every test that uses the ``tex`` or ``node`` fixture)
need outside tools; ``python -m pytest -m "not tex"`` is the fast inner loop.
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
JS = ROOT / "tests" / "js"


def need_tex() -> None:
    from symbackprop.io.pdf import tex_available

    missing = [p for p in TEX_TOOLS if shutil.which(p) is None]
    need(not missing and tex_available(), f"LaTeX tools ({', '.join(missing) or 'latexmk/pdflatex'})")


def need_node() -> None:
    need(shutil.which("node") is not None, "node")
    need((JS / "node_modules" / "katex").is_dir(), f"katex (run: npm ci --prefix {JS})")


@pytest.fixture
def tex() -> None:
    """The LaTeX tool chain: a test that asks for it is marked ``tex`` and checked before setup."""


@pytest.fixture
def node() -> str:
    """node with KaTeX installed in tests/js: a test that asks for it is marked ``node`` and checked
    before setup."""
    found = shutil.which("node")
    assert found is not None
    return found


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that asks for the ``tex`` (``node``) fixture is a ``tex`` (``node``) test: one place
    decides the markers."""
    for item in items:
        for tool in ("tex", "node"):
            if tool in getattr(item, "fixturenames", ()):
                item.add_marker(getattr(pytest.mark, tool))


def pytest_runtest_setup(item: pytest.Item) -> None:
    """A ``tex`` or ``node`` test without its tool is skipped (failed in CI) before any of its
    fixtures is built: a module fixture may solve and compile for a minute first."""
    if item.get_closest_marker("tex"):
        need_tex()
    if item.get_closest_marker("node"):
        need_node()
