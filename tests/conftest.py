"""Shared fixtures: the lecture solution is derived once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


@pytest.fixture(scope="session")
def lecture():
    from symbackprop.solution import solve

    return solve()
