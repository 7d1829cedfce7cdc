"""What every command shares: where it runs and writes, which Packer, how long it may take."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypedDict

from typing_extensions import Unpack

from hybridcore.packer.base.keywords import refuse_unknown

__all__ = ["Settings", "SettingsArgs", "new_command_id"]


class SettingsArgs(TypedDict, total=False):
    """The keyword arguments every command of the public API takes.

    `workdir`: where records and logs go (default: `cwd`); `env`: the environment name
    passed to Packer as HYBRIDCORE_ENV; `packer`: the executable (default:
    $HYBRIDCORE_PACKER_BIN, else packer on PATH); `cwd`: where relative paths start
    (default: the current directory); `timeout`: seconds for the whole command;
    `kill_after`: seconds between asking Packer to stop and killing it; `command_id`: to
    choose the id (default: a new one); `plugin_dir`: the plugin directory Packer gets as
    PACKER_PLUGIN_PATH (default: ``<workdir>/state/packer/plugins``).
    """

    workdir: str | os.PathLike[str] | None
    env: str
    packer: str | None
    cwd: str | os.PathLike[str] | None
    timeout: float | None
    kill_after: float
    command_id: str | None
    plugin_dir: str | os.PathLike[str] | None


def new_command_id() -> str:
    """Sortable and unique: UTC time plus 32 random bits."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(4)}"


@dataclass(frozen=True)
class Settings:
    """One command's shared settings, resolved once: `workdir` is absolute (relative to
    `cwd`), and every command has its own `command_id`."""

    cwd: Path
    workdir: Path
    command_id: str
    env: str = "dev"
    packer: str | None = None
    timeout: float | None = None
    kill_after: float = 120.0
    plugin_dir: Path | None = None

    @classmethod
    def of(cls, command: str, /, **args: Unpack[SettingsArgs]) -> Settings:
        """Settings of `command` from the public API's keyword arguments (missing or None:
        defaults); a keyword SettingsArgs does not declare is a TypeError, as for a
        written-out signature."""
        refuse_unknown(command, args, SettingsArgs)
        cwd, workdir = args.get("cwd"), args.get("workdir")
        base = Path(cwd) if cwd is not None else Path.cwd()
        return cls(
            cwd=base,
            workdir=base / workdir if workdir is not None else base,
            command_id=args.get("command_id") or new_command_id(),
            env=args.get("env", "dev"),
            packer=args.get("packer"),
            timeout=args.get("timeout"),
            kill_after=args.get("kill_after", 120.0),
            plugin_dir=base / plugin_dir if (plugin_dir := args.get("plugin_dir")) else None,
        )
