"""``python -m service.cli``: the ``streetscan`` command."""

import sys

from service.cli import main

sys.exit(main())
