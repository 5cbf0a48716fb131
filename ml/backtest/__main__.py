"""`python -m ml.backtest`: see `ml.backtest.cli`."""

import sys

from ml.backtest.cli import main

if __name__ == "__main__":
    sys.exit(main())
