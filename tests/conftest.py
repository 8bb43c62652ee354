"""Shared fixtures: the lecture solution is derived once per test session.

Markers: ``tex`` and ``node`` (set here on every test that uses the ``tex`` or ``node`` fixture)
need outside tools; ``python -m pytest -m "not tex"`` is the fast inner loop.  The randomized sweeps draw all
their cases in CI and a prefix of them in the inner loop (tests/sweeps.py; ``SYMBACKPROP_SWEEPS=full``).
Hypothesis runs derandomized, so two runs draw the same cases (on every pytest-xdist worker too).

Where pytest-xdist is installed (the test and dev extras), a run that names no test files (the whole
suite, ``-m "not tex"``, CI) runs on every core unless ``-n`` says otherwise (``-n 0``: one process);
a run of a few named files starts no workers (their start costs more than it saves), nor does one
without pytest-xdist.  Each test module goes to one worker as a whole, so that its module fixtures
are built once, except the modules in ``SPREAD`` (many independent cases, no costly module
fixture), whose tests are spread one by one.  (Not ``--dist loadgroup``: with pytest 9.2 it
silently stops grouping, pytest-xdist issue 1386.)
"""

from __future__ import annotations

import gc
import os
import shutil
from pathlib import Path

import pytest

# Selenium's trio registers a Hypothesis plugin that imports trio (a third of a second in every test
# process); no test here uses trio, so Hypothesis loads no plugins.
os.environ.setdefault("HYPOTHESIS_NO_PLUGINS", "1")

# A test process keeps SymPy's caches and the derivations of hundreds of networks: with Python's default
# thresholds (700, 10, 10) its collector walked the whole heap (up to 400,000 objects) some 35 times a run,
# about a tenth of the suite's CPU time.  Collecting after 50,000 allocations, and the whole heap 400 times
# less often, leaves the same garbage collected, a little later.
gc.set_threshold(50_000, 20, 20)

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


@pytest.fixture(autouse=True)
def _derive_afresh_when_patched(request):
    """A test that monkeypatches may change what a derivation is (an activation, a rule): it derives
    afresh, and leaves no derivation of its patched engine behind (derive keeps one per structure);
    the tests after it have the derivations of before."""
    if "monkeypatch" not in request.fixturenames:
        yield
        return
    from symbackprop.engine.derive import derivations_set_aside

    with derivations_set_aside():
        yield


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


@pytest.fixture(scope="session")
def tex() -> None:
    """The LaTeX tool chain: a test that asks for it (or for a fixture that does) is marked ``tex``
    and checked before setup; session-scoped, so module fixtures that compile can ask for it too."""


@pytest.fixture
def node() -> str:
    """node with KaTeX installed in tests/js: a test that asks for it is marked ``node`` and checked
    before setup."""
    found = shutil.which("node")
    assert found is not None
    return found


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads -n
def pytest_cmdline_main(config: pytest.Config) -> None:
    """``-n auto --dist loadscope`` for a run of the testpaths, unless the command line chose: set
    here, not in addopts, so that an environment without pytest-xdist still runs the tests."""
    option = config.option
    if not hasattr(option, "numprocesses") or hasattr(config, "workerinput"):
        return
    if option.numprocesses is None and config.args == config.getini("testpaths"):
        option.numprocesses = "auto"
    if option.numprocesses and option.dist == "no":
        option.dist = "loadscope"


def pytest_configure(config: pytest.Config) -> None:
    """Where tests run (not in pytest-xdist's controller, which only hands them out: Hypothesis is a third of
    a second of its start, before any worker starts), Hypothesis runs derandomized, before the test modules
    are imported (their ``@settings`` start from the profile).

    In a pytest-xdist worker an exam or a class marking runs in the worker's process: the other workers
    keep the other cores busy, so forked helpers would only compete with them (and drop what they
    computed and cached).  test_exam_parallel and test_graph_exam build with two processes explicitly."""
    worker = hasattr(config, "workerinput")
    if worker or not getattr(config.option, "numprocesses", None):
        from hypothesis import settings

        settings.register_profile("symbackprop", derandomize=True, deadline=None, print_blob=True)
        settings.load_profile("symbackprop")
    if worker:
        import symbackprop.exam.build
        import symbackprop.workers

        for module in (symbackprop.workers, symbackprop.exam.build):
            module.available_workers = lambda: 1


#: test modules whose tests pytest-xdist spreads over the workers one by one
SPREAD = frozenset({"test_oracle.py"})


def pytest_collection_finish(session: pytest.Session) -> None:
    """What importing and collecting made (the modules, SymPy's tables) lives to the end: the collector stops
    walking it (one collection first, so no garbage is kept)."""
    gc.collect()
    gc.freeze()


def pytest_sessionfinish() -> None:
    """At the end pytest collects the whole heap five times over, to bring out exceptions raised in
    finalizers (about half a second each on a heap of thousands of derivations): one collection here brings
    them out, the same way; what survives it is frozen, so pytest's collections walk only what is new."""
    gc.collect()
    gc.freeze()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that asks for the ``tex`` (``node``) fixture is a ``tex`` (``node``) test: one place
    decides the markers."""
    for item in items:
        for tool in ("tex", "node"):
            if tool in getattr(item, "fixturenames", ()):
                item.add_marker(getattr(pytest.mark, tool))


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """With ``--dist loadscope`` (set above): each module is one unit of work, so that its module
    fixtures are built once, except that the tests of the ``SPREAD`` modules go one by one (the
    largest units are handed out first, the single tests last)."""
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ModuleScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return nodeid if Path(module).name in SPREAD else module

    return ModuleScheduling(config, log)


def pytest_runtest_setup(item: pytest.Item) -> None:
    """A ``tex`` or ``node`` test without its tool is skipped (failed in CI) before any of its
    fixtures is built: a module fixture may solve and compile for a minute first."""
    if item.get_closest_marker("tex"):
        need_tex()
    if item.get_closest_marker("node"):
        need_node()


#: the oracle summary of each pytest-xdist worker (test_oracle.py), printed merged at the end
ORACLE_PARTS: list[dict] = []


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:
    part = getattr(node, "workeroutput", {}).get("oracle_summary")
    if part:
        ORACLE_PARTS.append(part)


def pytest_terminal_summary(terminalreporter) -> None:
    if ORACLE_PARTS:
        from test_oracle import merge, summary_lines

        for line in summary_lines(merge(ORACLE_PARTS)):
            terminalreporter.write_line(line)


@pytest.fixture(autouse=True)
def _mpmath_precision_restored():
    """A test that sets ``mpmath.mp.dps`` leaves it as it found it (xdist runs modules in one process)."""
    import mpmath

    dps = mpmath.mp.dps
    yield
    mpmath.mp.dps = dps
