"""The command line: parse, call one command, render. The only layer that prints."""

from hybridcore.cli.main import main

__all__ = ["main"]
