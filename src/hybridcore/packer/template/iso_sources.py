"""What ISOs the templates want: `iso_url`/`iso_checksum` of each build's source,
resolved through variable defaults, `PKR_VAR_*`, auto var files, var files and
`--var`, in Packer's order; and the file name Packer gives each in its cache.
"""

from __future__ import annotations

import hashlib
import re
import urllib.parse
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from hybridcore.logs import get_logger
from hybridcore.packer.store.iso_cache import IsoSource
from hybridcore.packer.template.facts import template_files
from hybridcore.packer.template.hcl_eval import Scope, read_doc, scope_for, source_builds

__all__ = ["cache_name", "iso_sources", "normalize_checksum"]

_HEX_LENGTH = {"md5": 32, "sha1": 40, "sha256": 64, "sha512": 128}
_TYPE_OF_LENGTH = {length: kind for kind, length in _HEX_LENGTH.items()}
_HEX = re.compile(r"[0-9a-fA-F]+")
_FETCHABLE = {"http", "https", "file"}
log = get_logger("cache")


def normalize_checksum(text: str) -> str | None:
    """``type:hex`` (lower case) as Packer resolves `iso_checksum` before naming the cached
    file; None for ``none``, ``file:...`` and anything that names no single content."""
    kind, colon, value = text.partition(":")
    if not colon:
        kind, value = _TYPE_OF_LENGTH.get(len(text), ""), text
    kind = kind.lower()
    if _HEX_LENGTH.get(kind) != len(value) or not _HEX.fullmatch(value):
        return None
    return f"{kind}:{value.lower()}"


def cache_name(checksum: str, extension: str = "iso") -> str:
    """The file name Packer gives an ISO with this (normalised) checksum in its cache."""
    return f"{hashlib.sha1(checksum.encode()).hexdigest()}.{extension.lower()}"


def _fetchable(url: str) -> str | None:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme.lower() in _FETCHABLE:
        return None if "checksum" in urllib.parse.parse_qs(parts.query) else url
    if not parts.scheme and url.startswith("/"):
        return Path(url).as_uri()
    return None


def _iso_source(build: str, body: dict[str, Any], scope: Scope, template: str) -> IsoSource | str:
    """The source's shareable ISO, or why it has none."""
    if "iso_checksum" not in body or not ({"iso_url", "iso_urls"} & body.keys()):
        return "no iso_url/iso_checksum"
    if "iso_target_path" in body:
        return "iso_target_path puts the ISO outside the cache"
    checksum = scope.resolve(body["iso_checksum"])
    raw_urls = scope.resolve(body.get("iso_urls", body.get("iso_url")))
    extension = scope.resolve(body.get("iso_target_extension", '"iso"'))
    if not isinstance(checksum, str) or raw_urls is None or not isinstance(extension, str):
        return "iso_url, iso_checksum or iso_target_extension uses more than var./local. values"
    normalized = normalize_checksum(checksum)
    if normalized is None:
        return f"iso_checksum {checksum!r} names no single file content (none, file:, invalid)"
    urls = [raw_urls] if isinstance(raw_urls, str) else raw_urls
    fetchable = tuple(u for u in (_fetchable(url) for url in urls) if u is not None)
    if not fetchable:
        return f"no http(s)/file URL or absolute path among {urls}"
    return IsoSource(build, template, fetchable, normalized, cache_name(normalized, extension))


def iso_sources(
    target: Path,
    *,
    variables: Mapping[str, str],
    var_files: Sequence[Path],
    environ: Mapping[str, str] | None = None,
) -> list[IsoSource]:
    """The ISO of every build of `target` (a template file or a directory of them) whose
    URL and checksum resolve to plain values; the others are logged and left to Packer."""
    template = read_doc(template_files(target))
    scope = scope_for(target, template, variables, var_files, environ)
    found: list[IsoSource] = []
    for build, body in source_builds(template):
        source = _iso_source(build, body, scope, str(target))
        if isinstance(source, IsoSource):
            found.append(source)
        elif "iso_checksum" in body or "iso_url" in body or "iso_urls" in body:
            log.info("%s: ISO of %s not shared (%s); Packer fetches it", target, build, source)
    return found
