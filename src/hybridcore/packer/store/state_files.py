"""The one way to touch a state file: read it (missing or damaged), write it atomically,
update it under a lock; stale temp files of killed writers removed.

State files (artifact records, inputs manifests, log summaries) are what the tool keeps
for later. One that is missing is empty; one that cannot be read was edited or damaged,
since the tool never writes a partial file: an integrity signal, exit 3.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from filelock import FileLock
from pydantic import ValidationError

from hybridcore.packer.base.errors import HybridcoreError
from hybridcore.packer.base.exit_class import ExitClass
from hybridcore.packer.store.layout import Workdir

__all__ = [
    "atomic_write_json",
    "atomic_write_text",
    "clean_stale_temp_files",
    "locked_update",
    "read_json_cache",
    "read_json_state",
]

_LOCK_TIMEOUT_S = 60
_RESTORE = "Restore the file from version control or a backup, or find out who changed it."
T = TypeVar("T")


def atomic_write_text(path: Path, text: str) -> None:
    """Write `text` to `path` so readers see the old file or the new one, never a torn one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: Path, data: Any) -> None:
    """Atomic JSON file with sorted keys and a trailing newline."""
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


def read_json_state(
    path: Path,
    parse: Callable[[Any], T],
    *,
    what: str,
    rule: str,
    remediation: str = _RESTORE,
) -> T | None:
    """`parse` of the JSON in the state file `path` (`what`, e.g. "log summary"); None when
    there is no such file. A file that cannot be read, is not JSON or that `parse` refuses
    (ValueError, e.g. a pydantic model's `model_validate`): exit 3 with `rule`."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise _damaged(path, what, rule, remediation, f"cannot be read ({exc})") from exc
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise _damaged(path, what, rule, remediation, f"is not JSON ({exc})") from exc
    try:
        return parse(data)
    except ValidationError as exc:
        first = str(exc).splitlines()[0]
        why = f"does not match the {what} schema ({first})"
        raise _damaged(path, what, rule, remediation, why) from exc
    except ValueError as exc:
        raise _damaged(path, what, rule, remediation, str(exc)) from exc


def read_json_cache(path: Path) -> dict[str, Any]:
    """The JSON object in the cache file `path`; empty when it is missing, unreadable or
    not an object: a damaged cache only costs the work it saved."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _damaged(path: Path, what: str, rule: str, remediation: str, why: str) -> HybridcoreError:
    return HybridcoreError(
        f"{what} {path} {why}: it was edited or damaged after the tool wrote it (the tool "
        "never writes a partial file).",
        klass=ExitClass.SECURITY,
        rule=rule,
        remediation=remediation,
    )


def locked_update(path: Path, *, lock: Path, update: Callable[[], Any | None]) -> bool:
    """Under the file lock `lock`, call `update` (which reads `path`) and write the JSON it
    returns to `path` atomically; nothing when it returns None. Writers that all take the
    lock never lose each other's update. Returns whether `path` was written."""
    lock.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(lock), timeout=_LOCK_TIMEOUT_S):
        data = update()
        if data is None:
            return False
        atomic_write_json(path, data)
        return True


STALE_TEMP_AGE_S = 600.0


def clean_stale_temp_files(workdir: Path, *, older_than: float = STALE_TEMP_AGE_S) -> list[Path]:
    """Remove temp files a killed writer left (``.name.*.tmp`` older than `older_than`
    seconds) beside the records and state files; newer ones may be in flight. Command
    log directories are not walked: their size grows with history, and a leftover
    there replaces nothing."""
    removed = []
    cutoff = time.time() - older_than
    layout = Workdir(workdir)
    for root in (layout.artifacts_dir, layout.state_dir):
        if not root.is_dir() or root.is_symlink():
            continue
        for current, _, files in os.walk(root):
            for name in files:
                path = Path(current) / name
                if name.startswith(".") and name.endswith(".tmp"):
                    with contextlib.suppress(OSError):
                        if path.lstat().st_mtime < cutoff:
                            path.unlink()
                            removed.append(path)
    return removed
