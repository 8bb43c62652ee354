"""``python -m symbackprop`` works like the ``symbackprop`` script."""

from .cli import run

run()
