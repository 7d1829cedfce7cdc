"""`hybridcore-packer registry ...` and the registry options of other commands:
argparse wiring and rendering. Heavy modules load inside the handlers."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hybridcore.packer.base.artifact_record import ArtifactRecord
    from hybridcore.packer.commands.registry import RegistryReport

__all__ = [
    "add_build_options",
    "add_commands",
    "add_global_option",
    "build_kwargs",
    "import_written",
    "refused",
    "run",
]

PROG = "hybridcore-packer"


def add_global_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--registry",
        default=None,
        metavar="URL",
        help="registry database: postgresql://USER@HOST:PORT/DB (no password here: use "
        "$HYBRIDCORE_REGISTRY_PASSWORD or $HYBRIDCORE_REGISTRY_URL) or sqlite:///PATH "
        "(default: $HYBRIDCORE_REGISTRY_URL, else <workdir>/state/registry.db)",
    )


def _label(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name, value


def add_build_options(build: argparse.ArgumentParser) -> None:
    build.add_argument(
        "--label",
        action="append",
        type=_label,
        default=[],
        metavar="K=V",
        help="label the registered versions (repeatable)",
    )


def build_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """The registry arguments of `packer.build`."""
    return {"registry": args.registry, "labels": dict(getattr(args, "label", []) or [])}


def _json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="print the report as JSON"
    )


def add_commands(commands: Any) -> None:
    """Add `registry` and its sub-commands to the main parser's sub-parsers."""
    registry = commands.add_parser("registry", help="versions, channels, revocation, lookups")
    sub = registry.add_subparsers(dest="registry_command", required=True, metavar="COMMAND")
    parsers = [
        sub.add_parser("migrate", help="upgrade the registry's schema to this tool's"),
        sub.add_parser("import", help="load the workdir's artifact records into the registry"),
    ]
    versions = sub.add_parser("versions", help="versions of a build, newest first")
    versions.add_argument("build", metavar="BUILD")
    versions.add_argument("--limit", type=int, default=None, metavar="N")
    parsers.append(versions)

    channel = sub.add_parser("channel", help="channels: set, get, history, rollback")
    channel_sub = channel.add_subparsers(dest="channel_command", required=True, metavar="ACTION")
    set_ = channel_sub.add_parser("set", help="point a channel at a version (compare-and-set)")
    set_.add_argument("build", metavar="BUILD")
    set_.add_argument("channel", metavar="CHANNEL")
    set_.add_argument("version", metavar="VERSION", help="N, vN, BUILD@N or a version ID")
    set_.add_argument(
        "--expect",
        default=None,
        metavar="CURRENT",
        help="only if the channel points at CURRENT now ('none': not assigned yet); "
        "else exit 1 (channel_conflict)",
    )
    get = channel_sub.add_parser("get", help="the version a channel points to")
    get.add_argument("build", metavar="BUILD")
    get.add_argument("channel", metavar="CHANNEL")
    get.add_argument("--platform", default=None, metavar="P")
    get.add_argument("--region", default=None, metavar="R")
    history = channel_sub.add_parser("history", help="past assignments, oldest first")
    history.add_argument("build", metavar="BUILD")
    history.add_argument("channel", nargs="?", default=None, metavar="CHANNEL")
    rollback = channel_sub.add_parser("rollback", help="back to the previous assignment")
    rollback.add_argument("build", metavar="BUILD")
    rollback.add_argument("channel", metavar="CHANNEL")
    parsers += [set_, get, history, rollback]

    revoke = sub.add_parser("revoke", help="hide a version from lookups")
    revoke.add_argument("version", metavar="VERSION", help="BUILD@N or a version ID")
    revoke.add_argument("--reason", required=True, metavar="TEXT")
    revoke.add_argument("--cascade", action="store_true", help="every descendant too")
    restore = sub.add_parser("restore", help="lift a revocation")
    restore.add_argument("version", metavar="VERSION")
    parsers += [
        revoke,
        restore,
        sub.add_parser("outdated", help="children of revoked or superseded parents"),
        sub.add_parser(
            "lookup",
            help="Terraform external data source: JSON query on stdin, JSON answer on stdout",
        ),
    ]
    for parser in parsers:
        _json_flag(parser)


def _fail(message: str, remediation: str | None) -> None:
    sys.stderr.write(f"{PROG}: error: {message}\n")
    if remediation:
        sys.stderr.write(f"{PROG}: hint: {remediation}\n")


def refused(args: argparse.Namespace) -> int | None:
    """Exit 3 for a password in --registry, whatever the command (None: not refused)."""
    if not getattr(args, "registry", None):
        return None
    from pathlib import Path

    from hybridcore.packer.base.errors import HybridcoreError
    from hybridcore.packer.store.registry.target import resolve_target

    try:
        resolve_target(args.registry, workdir=Path(args.workdir or "."), environ={})
    except HybridcoreError as error:
        if error.exit_code == 3:
            _fail(error.message, error.remediation)
            return error.exit_code
    return None


def _table(rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        line = "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        sys.stdout.write(line.rstrip() + "\n")


def _images(report: RegistryReport) -> list[str]:
    if report.channel is None:
        return []
    return [f"{i.platform}/{i.region or '-'}: {i.image_id}" for i in report.channel.version.images]


def _render(report: RegistryReport) -> None:
    """Human text: a table of what was asked for on stdout, the outcome on stderr."""
    if report.versions:
        rows = [["VERSION", "ID", "DIGEST", "IMAGES", "CREATED", "STATE"]]
        for v in report.versions:
            state = f"revoked: {v.revoked.reason}" if v.revoked else "ok"
            images = ", ".join(f"{i.region or i.platform}:{i.image_id}" for i in v.images)
            rows.append(
                [
                    v.ref,
                    v.version_id,
                    (v.inputs_digest or "-")[:12],
                    images or "-",
                    v.created_at,
                    state,
                ]
            )
        _table(rows)
    if report.history:
        rows = [["CHANNEL", "ACTION", "VERSION", "PREVIOUS", "BY", "AT"]]
        for e in report.history:
            rows.append(
                [
                    e.channel,
                    e.action,
                    f"{e.build}@{e.number}",
                    e.previous_id or "-",
                    e.actor or "-",
                    e.at,
                ]
            )
        _table(rows)
    if report.outdated:
        rows = [["CHILD", "PARENT", "IMAGE", "REASON"]]
        for o in report.outdated:
            child = o.child + (" (revoked)" if o.child_revoked else "")
            rows.append([child, o.parent, o.image_id, o.reason])
        _table(rows)
    for line in _images(report):
        sys.stdout.write(line + "\n")
    if report.exit_code:
        _fail(report.message, report.remediation)
    else:
        sys.stderr.write(f"{PROG}: {report.message}\n")


def _lookup(args: argparse.Namespace, common: dict[str, Any]) -> int:
    from hybridcore.packer.commands.registry import lookup

    try:
        query = json.loads(sys.stdin.read() or "{}")
    except ValueError as exc:
        _fail(
            f"registry lookup: stdin is not JSON ({exc}).",
            'Send one JSON object of strings, e.g. {"build": "azure-arm.ubuntu", '
            '"channel": "production", "platform": "azure", "region": "northeurope"}.',
        )
        return 1
    if not isinstance(query, dict):
        _fail("registry lookup: stdin is not a JSON object.", "Send one JSON object of strings.")
        return 1
    report = lookup(query, **common)
    if args.json:
        sys.stdout.write(report.to_json())
    elif report.exit_code == 0 and report.lookup is not None:
        sys.stdout.write(json.dumps(report.lookup, sort_keys=True) + "\n")
    if report.exit_code:
        _fail(report.message, report.remediation)
    return report.exit_code


def run(args: argparse.Namespace) -> int:
    """Run one `registry` sub-command; returns its exit code."""
    from hybridcore.packer.commands import registry as commands

    common: dict[str, Any] = {"registry": args.registry, "workdir": args.workdir}
    name = args.registry_command
    if name == "lookup":
        return _lookup(args, common)
    handlers: dict[str, Callable[[], RegistryReport]] = {
        "migrate": lambda: commands.registry_migrate(**common),
        "import": lambda: commands.import_records(**common),
        "versions": lambda: commands.versions(args.build, limit=args.limit, **common),
        "revoke": lambda: commands.revoke(
            args.version, reason=args.reason, cascade=args.cascade, **common
        ),
        "restore": lambda: commands.restore(args.version, **common),
        "outdated": lambda: commands.outdated(**common),
    }
    if name == "channel":
        action = args.channel_command
        handlers["channel"] = {
            "set": lambda: commands.channel_set(
                args.build, args.channel, args.version, expect=args.expect, **common
            ),
            "get": lambda: commands.channel_get(
                args.build, args.channel, platform=args.platform, region=args.region, **common
            ),
            "history": lambda: commands.channel_history(args.build, args.channel, **common),
            "rollback": lambda: commands.channel_rollback(args.build, args.channel, **common),
        }[action]
    report = handlers[name]()
    if args.json:
        sys.stdout.write(report.to_json())
        if report.exit_code:
            _fail(report.message, report.remediation)
    else:
        _render(report)
    return report.exit_code


def import_written(args: argparse.Namespace, records: list[ArtifactRecord]) -> int:
    """`manifest import --write`: the records join the registry too."""
    from hybridcore.packer.commands.registry import import_records

    report = import_records(records, registry=args.registry, workdir=args.workdir)
    if report.exit_code:
        _fail(report.message, report.remediation)
    else:
        sys.stderr.write(f"{PROG}: {report.message}\n")
    return report.exit_code
