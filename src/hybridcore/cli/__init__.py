"""The command line: parse, call one command, render. The only layer that prints."""

from hybridcore.cli.main import entry, main

__all__ = ["entry", "main"]
