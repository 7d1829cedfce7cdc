"""Public API of hybridcore-packer: fmt, validate and build over real Packer."""

from hybridcore.packer.api import build, fmt, new_command_id, validate
from hybridcore.packer.errors import HybridcoreError
from hybridcore.packer.result import SCHEMA_VERSION, Artifact, Result, RunResult, result_schema

__all__ = [
    "SCHEMA_VERSION",
    "Artifact",
    "HybridcoreError",
    "Result",
    "RunResult",
    "build",
    "fmt",
    "new_command_id",
    "result_schema",
    "validate",
]
