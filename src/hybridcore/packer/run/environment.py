"""The child environment for one Packer process, built as data.

The child inherits the caller's environment (cloud SDKs read their own
variables), minus any Packer logging settings, plus what the tool decides:

| variable           | value                                            |
|--------------------|--------------------------------------------------|
| PACKER_LOG         | 1: debug logs on, written to PACKER_LOG_PATH only |
| PACKER_LOG_PATH    | the per-attempt raw log (a pipe the tool scrubs)  |
| HYBRIDCORE_ENV     | the --env name                                    |
| CHECKPOINT_DISABLE | 1: no update check calls home                     |
| PACKER_CACHE_DIR   | the cache directory                               |
| PACKER_NO_COLOR    | 1: no ANSI colour codes in captured output        |
| PACKER_PLUGIN_PATH | the workdir's shared plugin directory (`init`)    |
| TMPDIR             | a private directory removed after the run: Packer |
|                    | keeps an unscrubbed copy of its log and the       |
|                    | provisioners' scripts there                       |

Secret values are set only here, never in argv. `os.environ` is never mutated.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

__all__ = ["child_environment"]

_DROPPED = ("PACKER_LOG", "PACKER_LOG_PATH")


def child_environment(
    base: Mapping[str, str],
    *,
    log_path: Path,
    hybridcore_env: str,
    cache_dir: Path,
    secrets: Mapping[str, str],
    temp_dir: Path | None = None,
    plugin_dir: Path | None = None,
) -> dict[str, str]:
    """A fresh dict for `subprocess.Popen(env=...)`."""
    env = {key: value for key, value in base.items() if key not in _DROPPED}
    env.update(secrets)
    env.update(
        {
            "PACKER_LOG": "1",
            "PACKER_LOG_PATH": str(log_path),
            "HYBRIDCORE_ENV": hybridcore_env,
            "CHECKPOINT_DISABLE": "1",
            "PACKER_CACHE_DIR": str(cache_dir),
            "PACKER_NO_COLOR": "1",
        }
    )
    if temp_dir is not None:
        env["TMPDIR"] = str(temp_dir)
    if plugin_dir is not None:  # ours first; a caller's own plugin folders still count
        given = [part for part in base.get("PACKER_PLUGIN_PATH", "").split(os.pathsep) if part]
        env["PACKER_PLUGIN_PATH"] = os.pathsep.join([str(plugin_dir), *given])
    return env
