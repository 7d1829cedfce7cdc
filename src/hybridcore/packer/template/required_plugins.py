"""The plugins a template requires: its ``packer { required_plugins { ... } }`` block."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from hybridcore.packer.base.input_files import read_input_text
from hybridcore.packer.store.plugins import PluginRequirement
from hybridcore.packer.template.facts import template_files
from hybridcore.packer.template.hcl_eval import labelled, unquote
from hybridcore.packer.template.hcl_parse import parse_hcl

__all__ = ["required_plugins"]


def _from_doc(doc: dict[str, object]) -> Iterable[PluginRequirement]:
    blocks = doc.get("packer", [])
    for block in blocks if isinstance(blocks, list) else []:
        if not isinstance(block, dict):
            continue
        for entries in block.get("required_plugins", []):
            for name, spec in labelled([entries] if isinstance(entries, dict) else []):
                if isinstance(spec, dict) and spec.get("source"):
                    yield PluginRequirement(
                        name=name,
                        source=unquote(spec["source"]),
                        constraint=unquote(spec.get("version", "")),
                    )


def required_plugins(targets: Iterable[Path]) -> list[PluginRequirement]:
    """Every plugin the templates at `targets` require, once each, sorted by source.
    A file that does not parse is left to Packer, which names the error."""
    found: dict[tuple[str, str], PluginRequirement] = {}
    for target in targets:
        for path in template_files(target):
            text = read_input_text(path, what="template file")
            try:
                doc = parse_hcl(text)
            except Exception:  # Packer reports a template it cannot parse, with its line
                continue
            for requirement in _from_doc(doc):
                found.setdefault((requirement.source, requirement.constraint), requirement)
    return sorted(found.values(), key=lambda r: (r.source, r.constraint))
