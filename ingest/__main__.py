"""`python -m ingest`: see `ingest.cli`."""

import sys

from ingest.cli import main

sys.exit(main())
