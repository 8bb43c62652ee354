"""symbackprop: backpropagation lecture material from a network spec.

The rooms, each importing only from the ones before it (README "Architecture")::

    io -> engine (spec -> network -> derive -> evaluate -> solution) -> notation
        -> documents (Jinja2 templates) -> exam, marking -> cli

The Python API (see README.md)::

    >>> from symbackprop import solve
    >>> solve().display("dE/dw5")
    '0.028'

The names below are imported on first use, so ``import symbackprop`` stays cheap.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_API = {
    "solve": "engine.solution", "Solution": "engine.solution", "UnknownQuantity": "engine.solution",
    "load_spec": "engine.spec", "loads_spec": "engine.spec", "Spec": "engine.spec",
    "derive": "engine.derive", "evaluate": "engine.evaluate", "build_network": "engine.network",
    "explain": "documents.snippets",
}
__all__ = ["__version__", *_API]


def __getattr__(name: str) -> Any:
    if name in _API:
        import importlib

        return getattr(importlib.import_module(f".{_API[name]}", __name__), name)
    raise AttributeError(f"module 'symbackprop' has no attribute {name!r}")
