"""symbackprop: backpropagation lecture material from a network spec.

The pipeline, each stage importing only from the ones before it::

    spec.load_spec -> network.build_network -> derive.derive -> numeric.evaluate
        -> context (pre-rendered LaTeX) -> render (Jinja2 templates) -> pdf

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
    "solve": "solution", "Solution": "solution", "UnknownQuantity": "solution",
    "load_spec": "spec", "loads_spec": "spec", "Spec": "spec",
    "derive": "derive", "evaluate": "numeric", "build_network": "network",
}
__all__ = ["__version__", *_API]


def __getattr__(name: str) -> Any:
    if name in _API:
        import importlib

        return getattr(importlib.import_module(f".{_API[name]}", __name__), name)
    raise AttributeError(f"module 'symbackprop' has no attribute {name!r}")
