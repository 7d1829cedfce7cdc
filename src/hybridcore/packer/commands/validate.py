"""`validate`: ``packer validate`` of each target template."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

from typing_extensions import Unpack

from hybridcore.packer.base.result import Result
from hybridcore.packer.base.settings import Settings, SettingsArgs
from hybridcore.packer.commands._command import Command, execute
from hybridcore.packer.commands._plugins import check_plugins_installed
from hybridcore.packer.commands._prepare import check_var_files, prepare
from hybridcore.packer.run.argv import validate_argv
from hybridcore.packer.run.options import ValidateOptions, check_build_names
from hybridcore.packer.run.runner import Invocation, run_label
from hybridcore.packer.template.facts import Targets

__all__ = ["validate"]


def validate(
    targets: Targets,
    vars: Mapping[str, object] | None = None,
    *,
    var_files: Iterable[str | os.PathLike[str]] = (),
    only: Iterable[str] = (),
    except_: Iterable[str] = (),
    syntax_only: bool = False,
    evaluate_datasources: bool = False,
    secrets: Iterable[str] = (),
    env_allow: Iterable[str] | None = None,
    **settings: Unpack[SettingsArgs],
) -> Result:
    """``packer validate`` of each target template.

    `env_allow`: pass Packer only these of the caller's environment variables (plus
    what Packer needs and the secrets); None passes the whole environment.
    """
    command = Command("validate", Settings.of("validate", **settings))
    command.env_allow = tuple(env_allow) if env_allow is not None else None
    environ = dict(os.environ)
    var_files = tuple(var_files)

    def steps() -> None:
        prepared = prepare(command, targets, vars, None, secrets, environ, var_files)
        options = ValidateOptions(
            vars=prepared.variables,
            var_files=check_var_files(var_files, command.settings.cwd),
            only=check_build_names(only, "--only"),
            except_=check_build_names(except_, "--except"),
            syntax_only=syntax_only,
            evaluate_datasources=evaluate_datasources,
        )
        binary = command.find_packer()
        check_plugins_installed(command.settings, prepared.paths, binary, environ)
        invocations = [
            Invocation(
                label=run_label(path, options.only),
                target=str(path),
                argv=validate_argv(binary, options, str(path)),
            )
            for path in prepared.paths
        ]
        command.run_all(command.context(binary, environ), invocations)

    return execute(command, steps)
