"""hybridcore-packer: parse arguments, call one API function, print, return the exit code.

Human text goes to stderr; ``--json`` prints the result object on stdout.
Heavy modules are imported inside the command functions so that
``--version`` and ``--help`` stay fast.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from hybridcore import __version__
from hybridcore.cli import registry as registry_cli
from hybridcore.cli.console import PROG, is_terminal, out, say, use_colour
from hybridcore.cli.error_handler import error_handler
from hybridcore.cli.progress import progress_display

if TYPE_CHECKING:
    from hybridcore.packer.base.artifact_record import ArtifactRecord
    from hybridcore.packer.base.result import Result
    from hybridcore.packer.base.settings import SettingsArgs
    from hybridcore.packer.commands.plan import PlanReport

__all__ = ["main"]


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
    parser.add_argument(
        "--env-allow",
        action="append",
        default=None,
        metavar="NAME",
        help="pass Packer only these environment variables (repeatable), plus what Packer "
        "needs and the secrets",
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
    registry_cli.add_global_option(parser)
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
    parser.add_argument(
        "--plugin-dir",
        default=None,
        metavar="DIR",
        help="Packer's plugin directory (default: WORKDIR/state/packer/plugins)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    init = commands.add_parser("init", help="install the plugins templates require")
    init.add_argument("--upgrade", action="store_true", help="install newer matching versions")
    init.add_argument(
        "--plugin-mirror",
        default=None,
        metavar="DIR",
        help="install offline from this local mirror (checksums verified)",
    )
    init.add_argument("paths", nargs="+", metavar="PATH")

    fmt = commands.add_parser("fmt", help="packer fmt")
    fmt.add_argument("--check", action="store_true")
    fmt.add_argument("--recursive", action="store_true")
    fmt.add_argument("--diff", action="store_true")
    _junit_option(fmt)
    fmt.add_argument("paths", nargs="+", metavar="PATH")

    validate = commands.add_parser("validate", help="packer validate")
    _selection(validate)
    validate.add_argument("--syntax-only", action="store_true")
    validate.add_argument(
        "--evaluate-datasources",
        action="store_true",
        help="evaluate data sources while validating (Packer >= 1.8.5)",
    )
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
    registry_cli.add_build_options(build)
    _junit_option(build)
    build.add_argument("paths", nargs="+", metavar="PATH")

    for name, text in (
        ("drift", "list inputs changed since each build's last hash manifest"),
        ("verify", "publish gate: pass only if the inputs are what the records were built from"),
        ("plan", "which builds are new, changed or revoked: the matrix of CI shards to run"),
        ("gate", "after the shards: pass only if every build is registered from its inputs"),
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
        if name == "plan":
            check.add_argument(
                "--format",
                choices=["text", "json", "github", "gitlab"],
                default="text",
                help="stdout: a table (text), the plan (json), the GitHub Actions matrix, also "
                "written to $GITHUB_OUTPUT as matrix= (github), or a GitLab child pipeline",
            )
        else:
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
    registry_cli.add_commands(commands)
    return parser


def _schema(name: str) -> int:
    from importlib import resources

    text = resources.files("hybridcore.packer").joinpath("schemas", f"{name}.schema.json")
    out(text.read_text(encoding="utf-8"))
    return 0


def _print_records(records: Sequence[ArtifactRecord], as_json: bool) -> None:
    if as_json:
        payload = [record.model_dump(mode="json") for record in records]
        out(json.dumps(payload, indent=2, sort_keys=True) + "\n")
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
    out(
        "".join(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
            + "\n"
            for row in rows
        )
    )


def _artifacts(args: argparse.Namespace) -> int:
    from hybridcore.packer.base.exit_class import ExitClass
    from hybridcore.packer.store.artifact_records import ArtifactRegistry

    registry = ArtifactRegistry(Path(args.workdir) if args.workdir else Path.cwd())
    builds = args.builds or registry.builds()
    records = []
    for build in builds:
        history = registry.load(build)
        if not history:
            say(f"no artifact record for build {build!r}")
            return ExitClass.CONFIG.code
        records += history if args.history else history[-1:]
    _print_records(records, args.json)
    return 0


def _check(args: argparse.Namespace) -> int:
    from hybridcore.packer.commands import inputs_check as checks

    common = {
        **_selection_args(args),
        "workdir": args.workdir,
        "packer": args.packer,
        "provisioners": args.provisioner,
        "registry": args.registry,
    }
    if args.command == "drift":
        report = checks.drift(args.paths, full=args.full, **common)
    elif args.command == "gate":
        from hybridcore.packer.commands.plan import gate

        report = gate(args.paths, **common)
    else:
        report = checks.verify(args.paths, **common)
    if args.json:
        out(report.to_json())
    shown = report.builds
    if args.command == "gate":  # of many builds, the ones to act on
        shown = [build for build in report.builds if build.status != "verified"]
        say(f"gate: {len(report.builds) - len(shown)} of {len(report.builds)} build(s) verified")
    for build in shown:
        message = build.message.removeprefix(build.build + ": ")
        # a gate message starts with what is wrong (missing, failed, stale, ...)
        say(
            f"[{build.build}] {message}"
            if args.command == "gate"
            else f"[{build.build}] {build.status}: {message}"
        )
    status = "ok" if report.exit_code == 0 else f"exit {report.exit_code} ({report.classification})"
    say(f"{args.command} {status}: {report.message}")
    if report.remediation:
        say(f"hint: {report.remediation}")
    from hybridcore.cli import ci_reports
    from hybridcore.cli.junit import write_junit

    ci_reports.publish(report)
    return write_junit(args.junit, report)


def _plan(args: argparse.Namespace) -> int:
    from hybridcore.cli import plan_output
    from hybridcore.packer.commands.plan import plan

    form = "json" if args.json and args.format == "text" else args.format
    if args.json and form != "json":
        say(
            f"{PROG}: error: --json and --format {form} both write stdout.\n"
            f"{PROG}: hint: Use one: --format json prints the plan, --format {form} the {form} "
            "document."
        )
        return 1
    report = plan(
        args.paths,
        **_selection_args(args),
        workdir=args.workdir,
        packer=args.packer,
        provisioners=args.provisioner,
        registry=args.registry,
    )
    if form == "json":
        out(report.to_json())
    from hybridcore.cli import ci_reports

    ci_reports.publish_plan(report)
    for line in plan_output.plan_lines(report):
        say(line)
    if report.exit_code:
        say(f"plan exit {report.exit_code} ({report.classification}): {report.message}")
        if report.remediation:
            say(f"hint: {report.remediation}")
        return report.exit_code
    say(report.message)
    if report.remediation:
        say(f"hint: {report.remediation}")
    if form in ("text", "json"):
        return 0
    if form == "gitlab":
        out(plan_output.gitlab_pipeline(report))
        return 0
    return _github_plan(report)


def _github_plan(report: PlanReport) -> int:
    from hybridcore.cli import plan_output

    count = len(report.to_run)
    if count > plan_output.GITHUB_MATRIX_LIMIT:
        say(
            f"{PROG}: error: the plan has {count} builds to run; a GitHub Actions matrix runs "
            f"at most {plan_output.GITHUB_MATRIX_LIMIT} jobs.\n{PROG}: hint: Plan and build "
            "in several jobs, each with its own --only/--except selection or template directory."
        )
        return 1
    out(plan_output.github_matrix(report) + "\n")
    try:
        written = plan_output.write_github_output(report)
    except OSError as exc:
        say(
            f"{PROG}: error: cannot append to GITHUB_OUTPUT: {exc.strerror or exc}.\n"
            f"{PROG}: hint: Run plan --format github as a step of a GitHub Actions job."
        )
        return 1
    if written is None:
        say("GITHUB_OUTPUT is not set (not on GitHub Actions): the matrix is on stdout only.")
    return 0


def _retention_purge(args: argparse.Namespace) -> int:
    from hybridcore.packer.commands.diag import purge_logs

    report = purge_logs(Path(args.workdir) if args.workdir else Path.cwd(), dry_run=args.dry_run)
    if args.json:
        out(json.dumps(report.to_dict(), indent=2, sort_keys=True) + "\n")
    verb = "would delete" if args.dry_run else "deleted"
    say(
        f"retention: {verb} {len(report.deleted)} raw log(s), "
        f"{report.bytes_freed} bytes; {report.kept} run(s) kept"
    )
    return 0


def _diag(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from hybridcore.packer.base.errors import HybridcoreError
    from hybridcore.packer.commands.diag import make_bundle, recorded_secret_names
    from hybridcore.packer.run.version import locate_packer
    from hybridcore.packer.store.layout import Workdir
    from hybridcore.redaction.engine import Redactor

    workdir = Path(args.workdir) if args.workdir else Path.cwd()
    layout = Workdir(workdir)
    stamp = f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
    output = Path(args.output) if args.output else layout.diag_bundle_file(stamp)
    try:
        cache = layout.version_cache_file
        version: str | None = locate_packer(args.packer, cache=cache).version_text
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
        out(json.dumps(report.to_dict(), indent=2, sort_keys=True) + "\n")
    say(f"diag: wrote {report.output} ({report.members} members)")
    return 0


def _upgrade_check(args: argparse.Namespace) -> int:
    from hybridcore.packer.commands.upgrade_check import upgrade_check
    from hybridcore.packer.store.layout import Workdir

    workdir = Path(args.workdir) if args.workdir else Path.cwd()
    report = upgrade_check(
        args.path,
        old_packer=args.old_packer,
        new_packer=args.new_packer,
        only=args.only,
        var_files=args.var_file,
        workdir=Workdir(workdir).upgrade_check_dir,
        plugin_dir=Path(args.plugin_dir) if args.plugin_dir else None,
    )
    markdown, data = report.write(Path(args.report_dir) if args.report_dir else workdir)
    if args.json:
        out(json.dumps(report.to_dict(), indent=2, sort_keys=True) + "\n")
    sys.stderr.write(report.to_markdown())
    say(f"upgrade-check reports: {markdown} {data}")
    return report.exit_code


def _spec_check(args: argparse.Namespace) -> int:
    from hybridcore.packer.base.exit_class import ExitClass
    from hybridcore.packer.commands.spec_check import check_spec

    problems = check_spec(Path(args.repo))
    for problem in problems:
        say(f"spec check: {problem}")
    if not problems:
        say("spec check: ok")
    return (ExitClass.CONFIG if problems else ExitClass.OK).code


def _manifest_import(args: argparse.Namespace) -> int:
    from hybridcore.packer.store.artifact_records import import_manifest
    from hybridcore.packer.store.layout import Workdir

    workdir = Path(args.workdir) if args.workdir else Path.cwd()
    records = import_manifest(Path(args.file), workdir=workdir, write=args.write)
    _print_records(records, args.json)
    if args.write:
        say(f"recorded {len(records)} record(s) under {Workdir(workdir).artifacts_dir}")
        return registry_cli.import_written(args, records)
    return 0


def _run(args: argparse.Namespace) -> Result:
    import logging

    from hybridcore import packer
    from hybridcore.cli.log_lines import TerminalFormatter
    from hybridcore.logs import init_logging
    from hybridcore.packer.store.layout import Workdir

    command_id = packer.new_command_id()
    workdir = Path(args.workdir) if args.workdir else Path.cwd()
    try:
        init_logging(
            args.env,
            "packer",
            Workdir(workdir).command(command_id).path,
            json_lines=args.log_json,
            console_level=logging.DEBUG if args.verbose else logging.INFO,
            # a person at a terminal gets short lines; CI logs keep the full format
            console_formatter=TerminalFormatter(colour=use_colour()) if is_terminal() else None,
        )
    except OSError as exc:
        if args.log_json and exc.filename == str(args.log_json):
            raise packer.HybridcoreError(
                f"cannot write --log-json {args.log_json}: {exc.strerror or exc}.",
                klass=packer.ExitClass.CONFIG,
                rule="log_json_unwritable",
                remediation="Point --log-json at a file (not a directory) in a writable "
                "directory, or leave it out.",
            ) from exc
        raise packer.HybridcoreError(
            f"cannot write logs under --workdir {workdir}: {exc.strerror or exc}.",
            klass=packer.ExitClass.CONFIG,
            rule="workdir_unwritable",
            remediation="Make --workdir an existing, writable directory with free space.",
        ) from exc
    from hybridcore.cli.ci_reports import attach_sections

    attach_sections()

    shared = _settings(args, command_id)
    if args.command == "init":
        return packer.init(
            args.paths, upgrade=args.upgrade, plugin_mirror=args.plugin_mirror, **shared
        )
    if args.command == "fmt":
        return packer.fmt(
            args.paths, check=args.check, recursive=args.recursive, diff=args.diff, **shared
        )
    selection = _selection_args(args)
    if args.command == "validate":
        return packer.validate(
            args.paths,
            syntax_only=args.syntax_only,
            evaluate_datasources=args.evaluate_datasources,
            env_allow=args.env_allow,
            **selection,
            **shared,
        )
    with progress_display(PROG, live=bool(args.parallel) and sys.stderr.isatty()) as shown:
        result: Result = packer.build(
            args.paths,
            provisioners=args.provisioner,
            parallel=args.parallel,
            fail_fast=args.fail_fast,
            skip_unchanged=args.skip_unchanged,
            log_keep_days=args.log_keep,
            progress=shown if args.parallel else None,
            force=args.force,
            on_error=args.on_error,
            parallel_builds=args.parallel_builds,
            use_cache=not args.no_cache,
            cache_dir=args.cache_dir,
            env_allow=args.env_allow,
            **registry_cli.build_kwargs(args),
            **selection,
            **shared,
        )
        return result


def _settings(args: argparse.Namespace, command_id: str | None = None) -> SettingsArgs:
    """The settings every command shares, from the global options."""
    return {
        "workdir": args.workdir,
        "env": args.env,
        "packer": args.packer,
        "timeout": args.timeout,
        "kill_after": args.kill_after,
        "command_id": command_id,
        "plugin_dir": args.plugin_dir,
    }


def _selection_args(args: argparse.Namespace) -> dict[str, Any]:
    """The template options validate, build, drift and verify share."""
    return {
        "vars": dict(args.var),
        "var_files": args.var_file,
        "only": args.only,
        "except_": args.except_,
        "secrets": args.secret_env,
    }


def _report(result: Result, as_json: bool) -> None:
    from hybridcore.logs import sink_errors

    if as_json:
        out(result.to_json())
    for failure in sink_errors():
        say(f"warning: logging to {failure}; the rest of that log is missing")
    status = "ok" if result.exit_code == 0 else f"exit {result.exit_code} ({result.classification})"
    say(f"{status}: {result.message}")
    if result.exit_code and result.remediation and result.remediation not in result.message:
        say(f"hint: {result.remediation}")


_COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "schema": lambda args: _schema(args.name),
    "registry": registry_cli.run,
    "drift": _check,
    "verify": _check,
    "gate": _check,
    "plan": _plan,
    "artifacts": _artifacts,
    "manifest": _manifest_import,
    "retention": _retention_purge,
    "diag": _diag,
    "upgrade-check": _upgrade_check,
    "spec": _spec_check,
}


def _packer_command(args: argparse.Namespace) -> int:
    from hybridcore.cli import ci_reports

    result = _run(args)
    ci_reports.publish(result)  # first: it closes GitLab's last section above the summary
    _report(result, args.json)
    if getattr(args, "junit", None) is None:
        return result.exit_code
    from hybridcore.cli.junit import write_junit

    return write_junit(args.junit, result)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse `argv`, run one command inside the one error handler, return its exit code."""
    with error_handler() as outcome:
        args = _parser().parse_args(argv)
        outcome.workdir = Path(args.workdir) if args.workdir else None
        from hybridcore.packer.commands._workdir import opened_workdir

        # schema and spec write nothing under --workdir; every command cleans up after killed runs
        writes = args.command not in ("schema", "spec")
        with opened_workdir((outcome.workdir or Path.cwd()) if writes else None):
            refusal = registry_cli.refused(args)  # e.g. a password in --registry: exit 3
            run = _COMMANDS.get(args.command, _packer_command)
            outcome.code = refusal if refusal is not None else run(args)
    return outcome.code


def entry() -> None:
    """The console script: the tool's own process adopts what its builds detach (a child
    subreaper), which `main`, also called in-process by tests and tools, leaves alone.

    The objects made while the package loads, and those alive when the command ends,
    live until the process exits: the garbage collector is kept off them (``gc.freeze``)
    instead of walking them again and again (0.1-0.15 s of every command)."""
    gc.disable()
    from hybridcore.packer.run.descendants import become_subreaper

    gc.freeze()
    gc.enable()
    become_subreaper()
    code = main()
    gc.freeze()
    sys.exit(code)
