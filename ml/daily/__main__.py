"""`python -m ml.daily`: see `ml.daily.cli`."""

import sys

from ml.daily.cli import main

if __name__ == "__main__":
    sys.exit(main())
