"""`python -m hybridcore.cli`: the same entry point as the console script."""

from hybridcore.cli.main import entry

entry()
