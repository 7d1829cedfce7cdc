"""Public API of hybridcore-packer: fmt, validate and build over real Packer, and the
registry's queries (each returns a `RegistryReport`, failures included)."""

from hybridcore.packer.base.errors import HybridcoreError
from hybridcore.packer.base.result import SCHEMA_VERSION, Artifact, Result, RunResult, result_schema
from hybridcore.packer.commands._pipeline import build, fmt, new_command_id, validate
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

__all__ = [
    "SCHEMA_VERSION",
    "Artifact",
    "HybridcoreError",
    "RegistryReport",
    "Result",
    "RunResult",
    "build",
    "fmt",
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
