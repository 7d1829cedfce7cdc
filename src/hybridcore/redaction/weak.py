"""Values too short or too common to mask: the weak-secret rule.

Masking such a value would rewrite Packer's own output (timestamps, build
names, `null` in JSON, the words of its machine-readable lines), and a credential
that short or that common is guessable anyway. The policy (secret_policy)
refuses a declared secret that is weak, and never registers an inherited one.
"""

from __future__ import annotations

from collections.abc import Collection

__all__ = ["MIN_LENGTH", "PACKER_WORDS", "weakness"]

MIN_LENGTH = 4
_MIN_NUMBER = 8  # Packer prints 10-digit timestamps on every machine-readable line

# Words Packer itself prints: JSON literals and its machine-readable line types.
PACKER_WORDS = frozenset(
    {
        "null",
        "true",
        "false",
        "none",
        "packer",
        "build",
        "source",
        "message",
        "error",
        "artifact",
        "artifact-count",
        "builder-id",
        "string",
        "file",
        "files-count",
        "version",
        "version-prerelease",
        "version-commit",
        "target",
        "sensitive",
    }
)


def weakness(value: str, names: Collection[str] = ()) -> str | None:
    """Why `value` cannot be masked safely, or None. `names`: build, source and
    builder names of the templates (they appear on every line Packer prints, and name
    the tool's records and files)."""
    core = value.strip()
    if len(core) < MIN_LENGTH:
        return f"shorter than {MIN_LENGTH} characters"
    if core.isdigit() and len(core) < _MIN_NUMBER:
        return f"a number of fewer than {_MIN_NUMBER} digits (Packer's timestamps hold it)"
    if core.lower() in PACKER_WORDS:
        return "a word Packer prints itself"
    if any(core in name for name in names):
        return (
            "part of a build, source or builder name of the template (names are kept as "
            "they are in records and file names, so the template itself discloses it)"
        )
    if core in "<sensitive>":
        return "part of the placeholder <sensitive>"
    return None
