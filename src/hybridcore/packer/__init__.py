"""Public API of hybridcore-packer: init, fmt, validate and build over real Packer."""

from hybridcore.packer.base.errors import HybridcoreError
from hybridcore.packer.base.exit_class import ExitClass
from hybridcore.packer.base.result import SCHEMA_VERSION, Artifact, Result, RunResult, result_schema
from hybridcore.packer.base.settings import new_command_id
from hybridcore.packer.commands.build import build
from hybridcore.packer.commands.fmt import fmt
from hybridcore.packer.commands.init import init
from hybridcore.packer.commands.validate import validate

__all__ = [
    "SCHEMA_VERSION",
    "Artifact",
    "ExitClass",
    "HybridcoreError",
    "Result",
    "RunResult",
    "build",
    "fmt",
    "init",
    "new_command_id",
    "result_schema",
    "validate",
]
