"""Options -> Packer argv. Pure functions: same input, byte-identical output; a flag the
given Packer does not have is a configuration error, not a surprise from Packer.

| option             | flag                          | note                              |
|--------------------|-------------------------------|-----------------------------------|
| evaluate_datasources | -evaluate-datasources       | validate, Packer >= 1.8.5         |
| check              | -check                        | fmt                               |
| diff               | -diff                         | fmt                               |
| write=False        | -write=false                  | fmt                               |
| recursive          | -recursive                    | fmt, Packer >= 1.7; older: one    |
|                    |                               | run per directory (we walk)       |
| vars               | -var NAME=VALUE               | sorted by name                    |
| var_files          | -var-file=PATH                | in the order given (later wins)   |
| only / except_     | -only=A,B / -except=A,B       | sorted, de-duplicated             |
| syntax_only        | -syntax-only                  | validate                          |
| force              | -force                        | build                             |
| parallel_builds    | -parallel-builds=N            | build                             |
| on_error           | -on-error=cleanup|abort|...   | build; never `ask`                |
| machine_readable   | -machine-readable             | build; on by default              |
| (always)           | -color=false                  | build                             |
| upgrade            | -upgrade                      | init, Packer >= 1.7               |
"""

from __future__ import annotations

from hybridcore.packer.base.errors import HybridcoreError
from hybridcore.packer.base.exit_class import ExitClass
from hybridcore.packer.run.options import BuildOptions, FmtOptions, ValidateOptions
from hybridcore.packer.run.version import PackerBinary

__all__ = ["build_argv", "fmt_argv", "init_argv", "validate_argv"]


def _var_flags(pairs: tuple[tuple[str, str], ...]) -> list[str]:
    argv: list[str] = []
    for name, value in sorted(pairs):
        argv += ["-var", f"{name}={value}"]
    return argv


def _selection_flags(only: tuple[str, ...], except_: tuple[str, ...]) -> list[str]:
    argv = []
    if only:
        argv.append("-only=" + ",".join(sorted(set(only))))
    if except_:
        argv.append("-except=" + ",".join(sorted(set(except_))))
    return argv


def init_argv(packer: PackerBinary, target: str, *, upgrade: bool = False) -> list[str]:
    """argv for ``packer init`` of one template file or directory (Packer >= 1.7)."""
    return [packer.path, "init", *(["-upgrade"] if upgrade else []), target]


def fmt_argv(packer: PackerBinary, options: FmtOptions, target: str) -> list[str]:
    """argv for ``packer fmt`` of one target (file or directory)."""
    argv = [packer.path, "fmt"]
    if options.check:
        argv.append("-check")
    if options.diff:
        argv.append("-diff")
    if not options.write and not options.check:
        argv.append("-write=false")
    if options.recursive and packer.at_least(1, 7):
        argv.append("-recursive")
    return [*argv, target]


def validate_argv(packer: PackerBinary, options: ValidateOptions, target: str) -> list[str]:
    """argv for ``packer validate`` of one template file or directory."""
    argv = [packer.path, "validate"]
    if options.syntax_only:
        argv.append("-syntax-only")
    if options.evaluate_datasources:
        if not packer.at_least(1, 8, 5):
            raise HybridcoreError(
                f"--evaluate-datasources needs Packer >= 1.8.5; {packer.path} is "
                f"{packer.version_text}.",
                klass=ExitClass.CONFIG,
                rule="flag_unsupported",
                remediation="Leave --evaluate-datasources out for this Packer, or use a newer "
                "one (--packer PATH).",
            )
        argv.append("-evaluate-datasources")
    argv += _selection_flags(options.only, options.except_)
    argv += [f"-var-file={path}" for path in options.var_files]
    argv += _var_flags(options.vars)
    return [*argv, target]


def build_argv(packer: PackerBinary, options: BuildOptions, target: str) -> list[str]:
    """argv for ``packer build`` of one template file or directory."""
    argv = [packer.path, "build", "-color=false"]
    if options.machine_readable:
        argv.append("-machine-readable")
    if options.force:
        argv.append("-force")
    argv.append(f"-on-error={options.on_error}")
    if options.parallel_builds is not None:
        argv.append(f"-parallel-builds={options.parallel_builds}")
    argv += _selection_flags(options.only, options.except_)
    argv += [f"-var-file={path}" for path in options.var_files]
    argv += _var_flags(options.vars)
    return [*argv, target]
