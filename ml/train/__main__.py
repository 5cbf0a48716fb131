"""`python -m ml.train`: see `ml.train.cli`."""

import sys

from ml.train.cli import main

if __name__ == "__main__":
    sys.exit(main())
