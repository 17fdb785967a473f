"""``python -m tfpose.cli``: the ``tfpose`` command."""

import sys

from tfpose.cli import main

sys.exit(main())
