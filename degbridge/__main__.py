"""``python -m degbridge``: the same as the ``degbridge`` command."""

import sys

from .cli import main

sys.exit(main())
