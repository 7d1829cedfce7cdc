"""hybridcore-packer: parse arguments, call one API function, print, return the exit code.

Human text goes to stderr; ``--json`` prints the result object on stdout.
Heavy modules are imported inside the command functions so that
``--version`` and ``--help`` stay fast.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, NoReturn

from hybridcore import __version__
from hybridcore.cli.progress import progress_display

if TYPE_CHECKING:
    from hybridcore.packer.base.artifact_record import ArtifactRecord
    from hybridcore.packer.base.errors import HybridcoreError
    from hybridcore.packer.base.result import Result

__all__ = ["main"]

PROG = "hybridcore-packer"


class _Parser(argparse.ArgumentParser):
    """A usage error is a configuration error of ours: exit code 1, not argparse's 2."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(1, f"{self.prog}: error: {message}\n")


def _key_value(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name, value


def _positive(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


def _selection(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--var",
        action="append",
        type=_key_value,
        default=[],
        metavar="K=V",
        help="template variable (never a secret: use env() and --secret-env)",
    )
    parser.add_argument("--var-file", action="append", default=[], metavar="FILE")
    parser.add_argument("--only", action="append", default=[], metavar="BUILD")
    parser.add_argument("--except", dest="except_", action="append", default=[], metavar="BUILD")
    parser.add_argument(
        "--secret-env",
        action="append",
        default=[],
        metavar="NAME",
        help="environment variable holding a secret: passed to Packer, redacted everywhere",
    )


def _junit_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--junit", default=None, metavar="FILE", help="also write a JUnit XML report to FILE"
    )


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Run Packer fmt, validate and build predictably.")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    parser.add_argument(
        "--workdir",
        default=None,
        help="where records and logs are written (default: the current directory)",
    )
    parser.add_argument(
        "--env",
        default=os.environ.get("HYBRIDCORE_ENV", "dev"),
        help="environment name, passed to Packer as HYBRIDCORE_ENV",
    )
    parser.add_argument(
        "--packer",
        default=None,
        help="packer executable (default: $HYBRIDCORE_PACKER_BIN, else packer on PATH)",
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
    parser.add_argument(
        "--log-json",
        default=None,
        metavar="FILE",
        help="also write log lines as JSON objects to FILE",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug output")
    parser.add_argument(
        "--timeout",
        type=_positive,
        default=None,
        metavar="SECONDS",
        help="stop packer (gracefully) after this long",
    )
    parser.add_argument(
        "--kill-after",
        type=_positive,
        default=120.0,
        metavar="SECONDS",
        help="kill packer this long after asking it to stop (default 120)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    fmt = commands.add_parser("fmt", help="packer fmt")
    fmt.add_argument("--check", action="store_true")
    fmt.add_argument("--recursive", action="store_true")
    fmt.add_argument("--diff", action="store_true")
    _junit_option(fmt)
    fmt.add_argument("paths", nargs="+", metavar="PATH")

    validate = commands.add_parser("validate", help="packer validate")
    _selection(validate)
    validate.add_argument("--syntax-only", action="store_true")
    _junit_option(validate)
    validate.add_argument("paths", nargs="+", metavar="PATH")

    build = commands.add_parser("build", help="packer build")
    _selection(build)
    build.add_argument("--force", action="store_true")
    build.add_argument(
        "--on-error", default="cleanup", choices=["cleanup", "abort", "run-cleanup-provisioner"]
    )
    build.add_argument(
        "--parallel-builds",
        type=int,
        default=None,
        metavar="N",
        help="packer's own -parallel-builds limit inside one process",
    )
    build.add_argument(
        "--provisioner",
        action="append",
        default=None,
        metavar="NAME",
        help="enable this provisioner toggle (enable_NAME); others are disabled",
    )
    build.add_argument(
        "--parallel",
        type=int,
        default=None,
        metavar="N",
        help="run each selected build as its own packer process, at most N at once",
    )
    build.add_argument(
        "--fail-fast",
        action="store_true",
        help="with --parallel: stop the other builds at the first failure",
    )
    build.add_argument(
        "--log-keep",
        type=int,
        default=None,
        metavar="DAYS",
        help="keep this build's raw logs DAYS days (default $HYBRIDCORE_LOG_MAX_DAYS, else 7)",
    )
    build.add_argument(
        "--skip-unchanged",
        action="store_true",
        help="do not build what is up to date (same inputs digest, artifact record exists)",
    )
    build.add_argument(
        "--no-cache", action="store_true", help="give this run a private, empty packer cache"
    )
    build.add_argument("--cache-dir", default=None, metavar="DIR")
    _junit_option(build)
    build.add_argument("paths", nargs="+", metavar="PATH")

    for name, text in (
        ("drift", "list inputs changed since each build's last hash manifest"),
        ("verify", "publish gate: pass only if the inputs are what the records were built from"),
    ):
        check = commands.add_parser(name, help=text)
        _selection(check)
        check.add_argument(
            "--provisioner",
            action="append",
            default=None,
            metavar="NAME",
            help="the provisioner toggles the build used (enable_NAME), as for build",
        )
        if name == "drift":
            check.add_argument(
                "--full", action="store_true", help="re-hash every file (ignore the stat cache)"
            )
        _junit_option(check)
        check.add_argument("paths", nargs="+", metavar="PATH")

    retention = commands.add_parser("retention", help="raw log retention")
    retention_commands = retention.add_subparsers(dest="retention_command", required=True)
    purge = retention_commands.add_parser("purge", help="delete raw logs past retain_until")
    purge.add_argument("--dry-run", action="store_true", help="list, delete nothing")

    diag = commands.add_parser("diag", help="write a scrubbed diagnostics bundle (.tar.gz)")
    diag.add_argument("--output", default=None, metavar="FILE")
    diag.add_argument("--only", action="append", default=[], metavar="BUILD")

    upgrade = commands.add_parser(
        "upgrade-check", help="smoke-test two Packer binaries and diff what automation sees"
    )
    upgrade.add_argument("--from", dest="old_packer", required=True, metavar="OLD_PACKER")
    upgrade.add_argument("--to", dest="new_packer", required=True, metavar="NEW_PACKER")
    upgrade.add_argument("--only", action="append", default=[], metavar="BUILD")
    upgrade.add_argument("--var-file", action="append", default=[], metavar="FILE")
    upgrade.add_argument(
        "--report-dir",
        default=None,
        metavar="DIR",
        help="where the Markdown and JSON reports go (default: the workdir)",
    )
    upgrade.add_argument("path", metavar="PATH")

    spec = commands.add_parser("spec", help="the capability spec in the repository")
    spec_commands = spec.add_subparsers(dest="spec_command", required=True)
    spec_check = spec_commands.add_parser(
        "check", help="Open Issues pointer, remediation summary, requirement-to-test traceability"
    )
    spec_check.add_argument("--repo", default=".", metavar="DIR")

    artifacts = commands.add_parser("artifacts", help="list artifact records")
    artifacts.add_argument("builds", nargs="*", metavar="BUILD")
    artifacts.add_argument("--history", action="store_true", help="every record, not the latest")

    manifest = commands.add_parser("manifest", help="work with Packer manifests")
    manifest_commands = manifest.add_subparsers(dest="manifest_command", required=True)
    manifest_import = manifest_commands.add_parser(
        "import", help="turn an existing Packer manifest into artifact records"
    )
    manifest_import.add_argument("file", metavar="FILE")
    manifest_import.add_argument(
        "--write", action="store_true", help="store the records under --workdir/artifacts/"
    )

    schema = commands.add_parser("schema", help="print a JSON Schema")
    schema.add_argument("name", choices=["result", "artifact-record"])
    return parser


def _schema(name: str) -> int:
    from importlib import resources

    text = resources.files("hybridcore.packer").joinpath("schemas", f"{name}.schema.json")
    sys.stdout.write(text.read_text(encoding="utf-8"))
    return 0


def _fail(error: HybridcoreError) -> int:
    sys.stderr.write(f"{PROG}: error: {error.message}\n{PROG}: hint: {error.remediation}\n")
    return error.exit_code


def _print_records(records: Sequence[ArtifactRecord], as_json: bool) -> None:
    if as_json:
        payload = [record.model_dump(mode="json") for record in records]
        sys.stdout.write(json.dumps(payload, indent=2, sort_keys=True) + "\n")
        return
    rows = [("BUILD", "PLATFORM", "ARTIFACT ID", "IMAGES", "FINISHED", "COMMAND")]
    for record in records:
        images = ", ".join(f"{i.region}:{i.id}" if i.region else i.id for i in record.images)
        rows.append(
            (
                record.build,
                record.platform,
                record.artifact_id or "-",
                images or "-",
                record.provenance.finished_at or "-",
                record.provenance.command_id or record.provenance.source,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        sys.stdout.write(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
            + "\n"
        )


def _artifacts(args: argparse.Namespace) -> int:
    from hybridcore.packer.store.artifact_records import ArtifactRegistry

    registry = ArtifactRegistry(Path(args.workdir) if args.workdir else Path.cwd())
    builds = args.builds or registry.builds()
    records = []
    for build in builds:
        history = registry.load(build)
        if not history:
            sys.stderr.write(f"{PROG}: no artifact record for build {build!r}\n")
            return 1
        records += history if args.history else history[-1:]
    _print_records(records, args.json)
    return 0


def _check(args: argparse.Namespace) -> int:
    from hybridcore.packer.commands import inputs_check as checks

    common = {
        "only": args.only,
        "except_": args.except_,
        "vars": dict(args.var),
        "var_files": args.var_file,
        "secrets": args.secret_env,
        "workdir": args.workdir,
        "packer": args.packer,
        "provisioners": args.provisioner,
    }
    if args.command == "drift":
        report = checks.drift(args.paths, full=args.full, **common)
    else:
        report = checks.verify(args.paths, **common)
    if args.json:
        sys.stdout.write(report.to_json())
    for build in report.builds:
        sys.stderr.write(f"{PROG}: [{build.build}] {build.status}: {build.message}\n")
    status = "ok" if report.exit_code == 0 else f"exit {report.exit_code} ({report.classification})"
    sys.stderr.write(f"{PROG}: {args.command} {status}: {report.message}\n")
    if report.remediation:
        sys.stderr.write(f"{PROG}: hint: {report.remediation}\n")
    from hybridcore.cli import ci_reports
    from hybridcore.cli.junit import write_junit

    ci_reports.publish(report)
    return write_junit(args.junit, report)


def _retention_purge(args: argparse.Namespace) -> int:
    from hybridcore.packer.commands.diag import purge_logs

    report = purge_logs(Path(args.workdir) if args.workdir else Path.cwd(), dry_run=args.dry_run)
    if args.json:
        sys.stdout.write(json.dumps(report.to_dict(), indent=2, sort_keys=True) + "\n")
    verb = "would delete" if args.dry_run else "deleted"
    sys.stderr.write(
        f"{PROG}: retention: {verb} {len(report.deleted)} raw log(s), "
        f"{report.bytes_freed} bytes; {report.kept} run(s) kept\n"
    )
    return 0


def _diag(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from hybridcore.packer.base.errors import HybridcoreError
    from hybridcore.packer.commands.diag import make_bundle, recorded_secret_names
    from hybridcore.packer.run.version import locate_packer, version_cache
    from hybridcore.redaction.engine import Redactor

    workdir = Path(args.workdir) if args.workdir else Path.cwd()
    stamp = f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
    output = Path(args.output) if args.output else workdir / f"hybridcore-diag-{stamp}.tar.gz"
    try:
        version: str | None = locate_packer(args.packer, cache=version_cache(workdir)).version_text
    except HybridcoreError:
        version = None
    # the secrets the recorded commands used, by name, with their values from this environment
    names = recorded_secret_names(workdir)
    redactor = Redactor(os.environ[name] for name in names if os.environ.get(name))
    report = make_bundle(
        workdir,
        output,
        redactor=redactor,
        only=args.only,
        packer_version=version,
        env_names=sorted(os.environ),
    )
    if args.json:
        sys.stdout.write(json.dumps(report.to_dict(), indent=2, sort_keys=True) + "\n")
    sys.stderr.write(f"{PROG}: diag: wrote {report.output} ({report.members} members)\n")
    return 0


def _upgrade_check(args: argparse.Namespace) -> int:
    from hybridcore.packer.commands.upgrade_check import upgrade_check

    workdir = Path(args.workdir) if args.workdir else Path.cwd()
    report = upgrade_check(
        args.path,
        old_packer=args.old_packer,
        new_packer=args.new_packer,
        only=args.only,
        var_files=args.var_file,
        workdir=workdir / "upgrade-check",
    )
    markdown, data = report.write(Path(args.report_dir) if args.report_dir else workdir)
    if args.json:
        sys.stdout.write(json.dumps(report.to_dict(), indent=2, sort_keys=True) + "\n")
    sys.stderr.write(report.to_markdown())
    sys.stderr.write(f"{PROG}: upgrade-check reports: {markdown} {data}\n")
    return report.exit_code


def _spec_check(args: argparse.Namespace) -> int:
    from hybridcore.packer.commands.spec_check import check_spec

    problems = check_spec(Path(args.repo))
    for problem in problems:
        sys.stderr.write(f"{PROG}: spec check: {problem}\n")
    if not problems:
        sys.stderr.write(f"{PROG}: spec check: ok\n")
    return 1 if problems else 0


def _manifest_import(args: argparse.Namespace) -> int:
    from hybridcore.packer.store.artifact_records import import_manifest

    workdir = Path(args.workdir) if args.workdir else Path.cwd()
    records = import_manifest(Path(args.file), workdir=workdir, write=args.write)
    _print_records(records, args.json)
    if args.write:
        sys.stderr.write(
            f"{PROG}: recorded {len(records)} record(s) under {workdir / 'artifacts'}\n"
        )
    return 0


def _run(args: argparse.Namespace) -> Result:
    import logging

    from hybridcore import packer
    from hybridcore.logs import init_logging

    command_id = packer.new_command_id()
    workdir = Path(args.workdir) if args.workdir else Path.cwd()
    try:
        init_logging(
            args.env,
            "packer",
            workdir / "logs" / "packer" / command_id,
            json_lines=args.log_json,
            console_level=logging.DEBUG if args.verbose else logging.INFO,
        )
    except OSError as exc:
        raise packer.HybridcoreError(
            f"cannot write logs under --workdir {workdir}: {exc.strerror or exc}.",
            exit_code=1,
            rule="workdir_unwritable",
            remediation="Make --workdir an existing, writable directory with free space.",
        ) from exc
    from hybridcore.cli.ci_reports import attach_sections

    attach_sections()
    if args.command == "fmt":
        return packer.fmt(
            args.paths,
            check=args.check,
            recursive=args.recursive,
            diff=args.diff,
            workdir=args.workdir,
            env=args.env,
            packer=args.packer,
            timeout=args.timeout,
            kill_after=args.kill_after,
            command_id=command_id,
        )
    if args.command == "validate":
        return packer.validate(
            args.paths,
            dict(args.var),
            var_files=args.var_file,
            only=args.only,
            except_=args.except_,
            syntax_only=args.syntax_only,
            secrets=args.secret_env,
            workdir=args.workdir,
            env=args.env,
            packer=args.packer,
            timeout=args.timeout,
            kill_after=args.kill_after,
            command_id=command_id,
        )
    with progress_display(PROG, live=bool(args.parallel) and sys.stderr.isatty()) as shown:
        return _build(args, packer, command_id, shown if args.parallel else None)


def _build(
    args: argparse.Namespace,
    packer: ModuleType,
    command_id: str,
    progress: Callable[[str, str], None] | None,
) -> Result:
    result: Result = packer.build(
        args.paths,
        dict(args.var),
        args.provisioner,
        parallel=args.parallel,
        fail_fast=args.fail_fast,
        skip_unchanged=args.skip_unchanged,
        log_keep_days=args.log_keep,
        progress=progress,
        var_files=args.var_file,
        only=args.only,
        except_=args.except_,
        force=args.force,
        on_error=args.on_error,
        parallel_builds=args.parallel_builds,
        use_cache=not args.no_cache,
        cache_dir=args.cache_dir,
        secrets=args.secret_env,
        workdir=args.workdir,
        env=args.env,
        packer=args.packer,
        timeout=args.timeout,
        kill_after=args.kill_after,
        command_id=command_id,
    )
    return result


def _report(result: Result, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(result.to_json())
    status = "ok" if result.exit_code == 0 else f"exit {result.exit_code} ({result.classification})"
    sys.stderr.write(f"{PROG}: {status}: {result.message}\n")
    if result.exit_code and result.remediation and result.remediation not in result.message:
        sys.stderr.write(f"{PROG}: hint: {result.remediation}\n")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "schema":
        return _schema(args.name)
    if args.command in ("drift", "verify"):
        return _check(args)
    if args.command in ("artifacts", "manifest", "retention", "diag", "upgrade-check", "spec"):
        from hybridcore.packer.base.errors import HybridcoreError

        handler = {
            "artifacts": _artifacts,
            "manifest": _manifest_import,
            "retention": _retention_purge,
            "diag": _diag,
            "upgrade-check": _upgrade_check,
            "spec": _spec_check,
        }[args.command]
        try:
            return handler(args)
        except HybridcoreError as error:
            return _fail(error)
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    from hybridcore.packer.base.errors import HybridcoreError

    try:
        result = _run(args)
    except HybridcoreError as error:
        return _fail(error)
    except KeyboardInterrupt:
        sys.stderr.write(f"{PROG}: interrupted before packer started\n")
        return 2
    finally:
        signal.signal(signal.SIGTERM, previous)
    from hybridcore.cli import ci_reports
    from hybridcore.cli.junit import write_junit

    ci_reports.publish(result)  # first: it closes GitLab's last section above the summary
    _report(result, args.json)
    return write_junit(args.junit, result)
