"""`python -m hybridcore.cli`: the same entry point as the console script."""

import sys

from hybridcore.cli.main import main

sys.exit(main())
