"""``python -m ecgviewer`` is the same as the ``ecgviewer`` command."""

import sys

from ecgviewer.cli import main

sys.exit(main())
