"""Scrub structured data (results, records, manifests, summaries) as data, not as text.

Text replacement over serialised JSON breaks it (a secret `"` or `null`) and
rewrites keys and names. `scrub_data` walks JSON-like data instead and scrubs
string values only: keys are never rewritten, and values under `IDENTIFIER_KEYS`
(build names, file names, paths, IDs and enums the tool or the template chose)
are kept as they are. A string that holds a JSON object or array (``jsonencode()``
in a manifest's ``custom_data``) is decoded, scrubbed inside and encoded again;
should it still hold a secret (e.g. in one of its keys), it is scrubbed as text.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Collection
from typing import Any

from hybridcore.redaction.engine import Redactor

__all__ = ["IDENTIFIER_KEYS", "scrub_data"]

IDENTIFIER_KEYS: frozenset[str] = frozenset(
    {
        # names from the template or the command line
        "build",
        "builds_selected",
        "label",
        "target",
        "targets",
        "name",
        "env",
        "argv",
        # the tool's own vocabulary (enums a placeholder would make invalid)
        "schema_version",
        "command",
        "classification",
        "rule",
        "status",
        "platform",
        "source",
        "kind",
        "builder_type",
        "builder_id",
        "areas",
        # names of secret variables, never values
        "secrets",
        "weak_secrets",
        "inherited_secrets",
        # paths of the tool's own files and of the template's inputs
        "workdir",
        "workspace",
        "path",
        "result_path",
        "manifest_path",
        "log_paths",
        "raw_logs",
        "scrub_manifest",
        "bundles",
        # identifiers and digests the tool computes
        "command_id",
        "record_id",
        "packer_run_uuid",
        "last_run_uuid",
        "git_sha",
        "digest",
        "baseline_digest",
        "inputs_digest",
        "sha256",
        "seal",
        "created_at",
        "started_at",
        "finished_at",
        "retain_until",
        "purged_at",
    }
)


def _holds_json(text: str) -> bool:
    start = text.lstrip()[:1]
    return start in ("{", "[") and text.rstrip()[-1:] in ("}", "]")


def _scrub_string(text: str, redactor: Redactor, counts: Counter[str] | None) -> str:
    if _holds_json(text):
        try:
            inner = json.loads(text)
        except ValueError:
            inner = None
        if isinstance(inner, dict | list):
            scrubbed = scrub_data(inner, redactor, counts, keep=())
            if scrubbed != inner:
                text = json.dumps(scrubbed, ensure_ascii=False, separators=(",", ":"))
            if not redactor.contains_secret(text):
                return text
    return redactor.scrub(text, counts)


def scrub_data(
    data: Any,
    redactor: Redactor,
    counts: Counter[str] | None = None,
    *,
    keep: Collection[str] = IDENTIFIER_KEYS,
) -> Any:
    """A copy of `data` (dicts, lists, strings, numbers) with every string value
    scrubbed, except those under a key in `keep`. Keys are never rewritten."""
    if isinstance(data, str):
        return _scrub_string(data, redactor, counts)
    if isinstance(data, dict):
        return {
            key: value if key in keep else scrub_data(value, redactor, counts, keep=keep)
            for key, value in data.items()
        }
    if isinstance(data, list | tuple):
        return [scrub_data(item, redactor, counts, keep=keep) for item in data]
    return data
