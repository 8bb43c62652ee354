"""``python -m symbackprop`` works like the ``symbackprop`` script."""

import sys

from .cli import main

sys.exit(main())
