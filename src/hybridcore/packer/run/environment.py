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
| TMPDIR             | a private, locked directory removed after the run |
|                    | (or by the next command after a kill -9): Packer  |
|                    | keeps an unscrubbed copy of its log and the       |
|                    | provisioners' scripts there (see private_tmp)     |

Secret values are set only here, never in argv. `os.environ` is never mutated.

With an allow-list (``--env-allow NAME``), the child gets only the named
variables of the caller, what Packer itself needs (`PACKER_NEEDS`: PATH, HOME,
locale, proxies, CA bundles, the SSH agent; every ``PACKER_*``; ``PKR_VAR_*`` of
declared variables) and the declared secrets: a provisioner that runs `env` then
shows no CI token it was not given.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping
from pathlib import Path

__all__ = ["PACKER_NEEDS", "child_environment"]

_DROPPED = ("PACKER_LOG", "PACKER_LOG_PATH")

PACKER_NEEDS = frozenset(
    {
        "PATH",
        "HOME",
        "USER",
        "LOGNAME",
        "SHELL",
        "LANG",
        "LANGUAGE",
        "TZ",
        "TERM",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "SSH_AUTH_SOCK",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "NO_PROXY",
        "http_proxy",
        "https_proxy",
        "no_proxy",
    }
)
_NEEDED_PREFIXES = ("PACKER_", "LC_")


def _needed(name: str, allowed: Collection[str], declared: Collection[str]) -> bool:
    if name in allowed or name in PACKER_NEEDS or name.startswith(_NEEDED_PREFIXES):
        return True
    return name.startswith("PKR_VAR_") and name.removeprefix("PKR_VAR_") in declared


def child_environment(
    base: Mapping[str, str],
    *,
    log_path: Path,
    hybridcore_env: str,
    cache_dir: Path,
    secrets: Mapping[str, str],
    temp_dir: Path | None = None,
    plugin_dir: Path | None = None,
    allowed: Collection[str] | None = None,
    declared: Collection[str] = (),
) -> dict[str, str]:
    """A fresh dict for `subprocess.Popen(env=...)`; with `allowed`, only those of the
    caller's variables and what Packer needs (`declared`: the template's variables)."""
    env = {
        key: value
        for key, value in base.items()
        if key not in _DROPPED and (allowed is None or _needed(key, allowed, declared))
    }
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
