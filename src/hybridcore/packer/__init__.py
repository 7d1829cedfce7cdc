"""Public API of hybridcore-packer: init, fmt, validate and build over real Packer, and
the registry's queries (each returns a `RegistryReport`, failures included)."""

from hybridcore.packer.base.errors import HybridcoreError
from hybridcore.packer.base.exit_class import ExitClass
from hybridcore.packer.base.result import SCHEMA_VERSION, Artifact, Result, RunResult, result_schema
from hybridcore.packer.base.settings import new_command_id
from hybridcore.packer.commands.build import build
from hybridcore.packer.commands.fmt import fmt
from hybridcore.packer.commands.init import init
from hybridcore.packer.commands.registry import RegistryReport, registry_migrate
from hybridcore.packer.commands.registry import channel_get as registry_channel_get
from hybridcore.packer.commands.registry import channel_history as registry_channel_history
from hybridcore.packer.commands.registry import channel_rollback as registry_channel_rollback
from hybridcore.packer.commands.registry import channel_set as registry_channel_set
from hybridcore.packer.commands.registry import import_records as registry_import
from hybridcore.packer.commands.registry import lookup as registry_lookup
from hybridcore.packer.commands.registry import outdated as registry_outdated
from hybridcore.packer.commands.registry import restore as registry_restore
from hybridcore.packer.commands.registry import revoke as registry_revoke
from hybridcore.packer.commands.registry import versions as registry_versions
from hybridcore.packer.commands.validate import validate

__all__ = [
    "SCHEMA_VERSION",
    "Artifact",
    "ExitClass",
    "HybridcoreError",
    "RegistryReport",
    "Result",
    "RunResult",
    "build",
    "fmt",
    "init",
    "new_command_id",
    "registry_channel_get",
    "registry_channel_history",
    "registry_channel_rollback",
    "registry_channel_set",
    "registry_import",
    "registry_lookup",
    "registry_migrate",
    "registry_outdated",
    "registry_restore",
    "registry_revoke",
    "registry_versions",
    "result_schema",
    "validate",
]
