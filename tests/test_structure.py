"""The house's plan holds (README "Architecture"): each room (folder or top-level module) imports only from
the rooms below it, no modules import each other in a loop, and every module says its one job in a docstring.

Read from the source with ``ast`` (imports inside functions too), so an import that runs back up or closes a
loop fails here before anyone draws the house."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "symbackprop"

#: the rooms from the ground up; a room may import its own modules and any room on a lower floor
FLOORS = [
    {"__init__", "errors", "hints", "workers", "data"},
    {"io"},
    {"engine"},
    {"notation"},
    {"layout"},
    {"documents"},
    {"exam"},
    {"marking"},
    {"practice"},
    {"cli"},
    {"__main__"},
]
FLOOR = {room: k for k, rooms in enumerate(FLOORS) for room in rooms}


def _modules() -> dict[str, Path]:
    """Dotted name (``engine.spec``) of every module under the package."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
        if parts[-1] == "__init__" and len(parts) > 1:
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The package's modules that ``name`` imports, anywhere in it (a module, or the package a name comes from)."""
    package = name.split(".")[:-1] if path.name != "__init__.py" else name.split(".")
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        targets: list[str] = []
        if isinstance(node, ast.ImportFrom):
            base = (package[:len(package) - node.level + 1] if node.level else []) + \
                (node.module.split(".") if node.module else [])
            if not node.level:
                if base[:1] != ["symbackprop"]:
                    continue
                base = base[1:]
            targets = [".".join(base + [alias.name]) for alias in node.names] + [".".join(base)]
        elif isinstance(node, ast.Import):
            targets = [alias.name.removeprefix("symbackprop.") for alias in node.names
                       if alias.name.startswith("symbackprop.")]
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def _room(module: str) -> str:
    return module.split(".")[0]


def test_every_room_is_on_a_floor():
    assert {_room(m) for m in _modules()} <= set(FLOOR), "a new room: give it a floor in FLOORS and in the README"


def test_no_room_imports_one_above_it():
    modules = _modules()
    up = [(m, t) for m, path in modules.items() for t in _imports(m, path, set(modules))
          if _room(t) != _room(m) and FLOOR[_room(t)] >= FLOOR[_room(m)]]
    assert up == []


def test_no_modules_import_each_other_in_a_loop():
    modules = _modules()
    graph = {m: _imports(m, path, set(modules)) - {m.rpartition(".")[0]} for m, path in modules.items()}
    state: dict[str, int] = {}
    loops = []

    def visit(m: str, trail: list[str]) -> None:
        state[m] = 1
        for t in sorted(graph[m]):
            if state.get(t) == 1:
                loops.append(trail[trail.index(t):] + [m, t] if t in trail else [m, t])
            elif t not in state:
                visit(t, trail + [m])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [])
    assert loops == []


def test_every_module_says_its_job():
    missing = [m for m, path in _modules().items()
               if path.stat().st_size and not (ast.get_docstring(ast.parse(path.read_text())) or "").strip()]
    assert missing == []
