"""Where everything under ``--workdir`` goes: docs/guide.md section 3 as code.

Every store, command and the CLI asks a `Workdir` (and, for one command's logs, its
`CommandDir`) for a path; nobody else spells one. A build or run name becomes one
file-name component through `safe_name`, injectively. tests/unit/test_layout.py holds
the guide's table and these attributes to each other.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from hybridcore.logs import LOG_FILE_NAME
from hybridcore.packer.base.settings import Settings

__all__ = [
    "LINKED_NAMES",
    "RESULT_NAME",
    "SCRUB_LEDGER_NAME",
    "CommandDir",
    "Workdir",
    "command_dir",
    "legacy_safe_name",
    "plugin_dir",
    "safe_name",
]

RESULT_NAME = "result.json"
SCRUB_LEDGER_NAME = "scrub.json"
_WORKSPACE_NAME = "work"
_CACHE_VIEW_NAME = "cache"
# a parallel build's mirror and cache views link into the user's tree: never walked
LINKED_NAMES = frozenset({_WORKSPACE_NAME, _CACHE_VIEW_NAME})

_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-]+")
_KEPT = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")
_MAX_NAME = 120


def _encoded(char: str) -> str:
    return "".join(f"%{byte:02X}" for byte in char.encode("utf-8", "surrogatepass"))


def safe_name(name: str) -> str:
    """`name` as one file-name component, injectively: two names never share a file.
    Letters, digits, `_`, `-` and `.` stay; anything else (and `%`, and a leading `.`) is
    percent-encoded as UTF-8, so `a b`, `a_b`, `a/b` and `semi,comma` stay apart. A result
    longer than 120 characters is cut and ends in a digest of the whole name."""
    text = "".join(char if char in _KEPT else _encoded(char) for char in name)
    if text.startswith("."):
        text = "%2E" + text[1:]
    if not text:
        return "%"  # a lone '%' is no encoding of a non-empty name
    if len(text) > _MAX_NAME:
        digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:16]
        text = f"{text[: _MAX_NAME - 17]}~{digest}"
    return text


def legacy_safe_name(name: str) -> str:
    """The file name releases before 0.3 gave a build (not injective: `a b` and `a_b`
    shared one); read as a fallback so existing records keep working."""
    cleaned = _UNSAFE.sub("_", name).strip("._") or "_"
    return cleaned[:120]


def _build_file(directory: Path, build: str, suffix: str, existing: bool) -> Path:
    """``<directory>/<safe_name(build)><suffix>``; with `existing`, the legacy name when
    only a file of that name is there (a record written before names were injective)."""
    path = directory / f"{safe_name(build)}{suffix}"
    if existing and not path.exists():
        legacy = directory / f"{legacy_safe_name(build)}{suffix}"
        if legacy.exists():
            return legacy
    return path


@dataclass(frozen=True)
class CommandDir:
    """``logs/packer/<command_id>/``: one command's result, logs and runs."""

    path: Path

    @property
    def result_file(self) -> Path:
        """The result object (`--json` prints it)."""
        return self.path / RESULT_NAME

    @property
    def scrub_ledger_file(self) -> Path:
        """What was scrubbed in each kept file, with its sha256."""
        return self.path / SCRUB_LEDGER_NAME

    @property
    def tool_log_file(self) -> Path:
        """The tool's own log of the command."""
        return self.path / LOG_FILE_NAME

    @property
    def cache_view_dir(self) -> Path:
        """The command's view of the shared ISO cache (links)."""
        return self.path / _CACHE_VIEW_NAME

    def run_dir(self, run: str) -> Path:
        """One run's raw logs, captured manifests, crash log and views."""
        return self.path / safe_name(run)

    def raw_log_file(self, run: str, attempt: int) -> Path:
        """Packer's debug log of one attempt, scrubbed."""
        return self.run_dir(run) / f"attempt-{attempt}.packer.log"

    def manifest_copy_file(self, run: str, index: int = 0) -> Path:
        """The run's entries of a Packer manifest the template writes (the template's
        second manifest: ``manifest-1.json``, ...), scrubbed."""
        name = "manifest.json" if index == 0 else f"manifest-{index}.json"
        return self.run_dir(run) / name

    def crash_log_file(self, run: str) -> Path:
        """A `crash.log` Packer wrote during the run, moved here and scrubbed."""
        return self.run_dir(run) / "crash.log"

    def workspace_dir(self, run: str) -> Path:
        """A parallel build's mirrored working directory (links into the user's tree)."""
        return self.run_dir(run) / _WORKSPACE_NAME

    def run_cache_view_dir(self, run: str) -> Path:
        """A parallel build's own view of the shared ISO cache (links)."""
        return self.run_dir(run) / _CACHE_VIEW_NAME


@dataclass(frozen=True)
class Workdir:
    """The paths of one ``--workdir`` (`root`)."""

    root: Path

    # -- artifacts/ ------------------------------------------------------------------------------

    @property
    def artifacts_dir(self) -> Path:
        return self.root / "artifacts"

    def record_file(self, build: str, *, existing: bool = False) -> Path:
        """The build's artifact records, history kept (`existing`: or the file an older
        release wrote, under its legacy name)."""
        return _build_file(self.artifacts_dir, build, ".json", existing)

    def inputs_manifest_file(self, build: str, *, existing: bool = False) -> Path:
        """The inputs and digest of the build's last success, sealed (`existing`: as for
        `record_file`)."""
        return _build_file(self.artifacts_dir, build, ".hash.json", existing)

    # -- state/ ----------------------------------------------------------------------------------

    @property
    def state_dir(self) -> Path:
        return self.root / "state"

    @property
    def registry_file(self) -> Path:
        """The embedded registry (SQLite) when no --registry is given."""
        return self.state_dir / "registry.db"

    @property
    def packer_state_dir(self) -> Path:
        return self.state_dir / "packer"

    @property
    def plugins_dir(self) -> Path:
        """The plugin directory every packer run shares (unless --plugin-dir)."""
        return self.packer_state_dir / "plugins"

    @property
    def summaries_dir(self) -> Path:
        return self.packer_state_dir / "logs"

    def log_summary_file(self, build: str) -> Path:
        """The build's log summaries: raw logs, retention, scrub ledger, bundles."""
        return _build_file(self.summaries_dir, build, ".json", False)

    @property
    def locks_dir(self) -> Path:
        return self.packer_state_dir / "locks"

    def lock_file(self, state_file: Path) -> Path:
        """The lock every writer of `state_file` (a record file or, ``summary-``, a log
        summary) takes."""
        prefix = "summary-" if state_file.parent == self.summaries_dir else ""
        return self.locks_dir / f"{prefix}{state_file.name}.lock"

    @property
    def hash_cache_file(self) -> Path:
        """Input hashes by file identity (a cache: safe to delete)."""
        return self.packer_state_dir / "hash-cache.json"

    @property
    def version_cache_file(self) -> Path:
        """The Packer version of each unchanged binary (a cache: safe to delete)."""
        return self.packer_state_dir / "packer-version.json"

    # -- logs/ -----------------------------------------------------------------------------------

    @property
    def logs_dir(self) -> Path:
        return self.root / "logs"

    @property
    def commands_dir(self) -> Path:
        return self.logs_dir / "packer"

    def command(self, command_id: str) -> CommandDir:
        """The directory of one command of fmt, validate, build or init."""
        return CommandDir(self.commands_dir / command_id)

    def crash_dir(self, command_id: str) -> Path:
        """The traceback of an internal error in a command that keeps no log."""
        return self.logs_dir / "hybridcore" / command_id

    # -- beside them -----------------------------------------------------------------------------

    @property
    def iso_cache_dir(self) -> Path:
        """The shared ISO cache (unless --cache-dir)."""
        return self.root / "packer_cache"

    @property
    def upgrade_check_dir(self) -> Path:
        """Where `upgrade-check` runs both Packers."""
        return self.root / "upgrade-check"

    def diag_bundle_file(self, stamp: str) -> Path:
        """`diag`'s bundle unless --output."""
        return self.root / f"hybridcore-diag-{stamp}.tar.gz"

    def own_dirs(self) -> tuple[Path, ...]:
        """The directories the tool owns: none may lead out of the workdir."""
        return (
            self.artifacts_dir,
            self.logs_dir,
            self.commands_dir,
            self.state_dir,
            self.packer_state_dir,
            self.summaries_dir,
            self.locks_dir,
            self.iso_cache_dir,
        )


def command_dir(settings: Settings) -> CommandDir:
    """The directory of the command `settings` belong to."""
    return Workdir(settings.workdir).command(settings.command_id)


def plugin_dir(settings: Settings) -> Path:
    """The plugin directory Packer gets: --plugin-dir, else the workdir's shared one."""
    return settings.plugin_dir or Workdir(settings.workdir).plugins_dir
