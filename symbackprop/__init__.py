"""symbackprop: backpropagation lecture material from a network spec.

The pipeline, each stage importing only from the ones before it::

    spec.load_spec -> network.build_network -> derive.derive -> numeric.evaluate
        -> context (pre-rendered LaTeX) -> render (Jinja2 templates) -> pdf

The Python API re-exports the pieces a user needs; see README.md.
"""

from __future__ import annotations

__version__ = "0.1.0"
