"""Packer exit status + output text -> exit class (`ExitClass`) and a remediation hint.

Rules are data: the first rule whose pattern matches the failure text wins,
and the table is ordered security, then transient, then configuration, so a
wrapped message such as ``1 error(s) occurred: ... i/o timeout`` is transient.
Within a class the more specific rules come first (``InsufficientInstanceCapacity``
arrives with ``status code: 500`` and is reported as capacity, not as a 5xx).
Exit status 0 is always ok, and ``packer fmt -check``'s status 3 ("unformatted")
is a configuration error, whatever the text. A failure no rule recognises is a
configuration error (never blindly retried).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hybridcore.packer.base.exit_class import ExitClass

__all__ = ["INIT_RULES", "RULES", "Classification", "Rule", "classify"]

_SECURITY, _TRANSIENT, _CONFIG = ExitClass.SECURITY, ExitClass.TRANSIENT, ExitClass.CONFIG


@dataclass(frozen=True)
class Rule:
    name: str
    exit_class: ExitClass
    pattern: re.Pattern[str]
    remediation: str

    @property
    def klass(self) -> str:
        return self.exit_class.name

    @property
    def exit_code(self) -> int:
        return self.exit_class.code


@dataclass(frozen=True)
class Classification:
    exit_class: ExitClass
    rule: str
    remediation: str | None
    evidence: str | None = None  # the output line that decided, if a pattern did

    @property
    def klass(self) -> str:
        return self.exit_class.name

    @property
    def exit_code(self) -> int:
        return self.exit_class.code

    @property
    def retryable(self) -> bool:
        return self.exit_class.retryable


def _rule(name: str, exit_class: ExitClass, pattern: str, remediation: str) -> Rule:
    return Rule(name, exit_class, re.compile(pattern, re.IGNORECASE | re.MULTILINE), remediation)


_NETWORK = "A network hiccup between Packer and the endpoint; retrying usually succeeds. "
_THROTTLE = "The cloud API throttled the requests; retry later or lower --parallel. "

RULES: tuple[Rule, ...] = (
    # --- security (3): a person must act ---------------------------------------------------
    _rule(
        "unauthorized_operation",
        _SECURITY,
        r"UnauthorizedOperation|AuthorizationFailed|AuthorizationPermissionMismatch",
        "The credentials lack a permission the build needs: grant the missing action or role "
        "to the identity Packer uses (see the error for the action name).",
    ),
    _rule(
        "access_denied",
        _SECURITY,
        # googleapi puts the reason after the message ("Error 403: ..., forbidden"), Proxmox
        # says "403 Permission check failed", vSphere (govmomi) reports a NoPermission fault or,
        # behind a proxy, an url.Error ending in ": Forbidden".
        r"\b403\b[^\n]{0,40}forbidden|forbidden[^\n]{0,40}\b403\b|StatusCode=403|Status=403|"
        r"status code:? 403|\bError 403\b|\b403 Permission check failed|"
        r"Permission to perform this operation was denied|"
        r"""\b(Get|Post|Put|Patch|Delete|Head) "?https?://[^\s"]+"?: Forbidden\b|"""
        r"AccessDenied(Exception)?\b",
        "The endpoint refused the credentials (HTTP 403): check the role assignment or policy "
        "of the identity Packer uses.",
    ),
    _rule(
        "no_credentials",
        _SECURITY,
        r"NoCredentialProviders|no valid credential sources|AuthFailure|InvalidClientTokenId|"
        r"SignatureDoesNotMatch|ExpiredToken|invalid_client|AADSTS\d+|"
        r"Cannot complete login due to an incorrect user name or password",
        "Packer found no valid credentials: export the cloud credentials as environment "
        "variables (and pass them with --secret-env) or refresh an expired token.",
    ),
    # --- transient (2): retry once; within the class the specific rules come first --------
    _rule("io_timeout", _TRANSIENT, r"i/o timeout", _NETWORK + "Check DNS and proxies."),
    _rule("connection_reset", _TRANSIENT, r"connection reset by peer", _NETWORK),
    _rule(
        "tls_handshake_timeout",
        _TRANSIENT,
        r"TLS handshake timeout",
        _NETWORK + "A slow or overloaded TLS endpoint.",
    ),
    _rule(
        "deadline_exceeded",
        _TRANSIENT,
        r"context deadline exceeded",
        "An API call timed out; retrying usually succeeds. If it persists, raise the "
        "builder's timeout settings.",
    ),
    _rule(
        "api_eof",
        _TRANSIENT,
        r"""\b(Get|Post|Put|Patch|Delete|Head) "?https?://[^\s"]+"?: (unexpected )?EOF\b""",
        _NETWORK + "The API closed the connection mid-request.",
    ),
    _rule(
        "throttled",
        _TRANSIENT,
        # No bare "429": it also matches line numbers, sizes and durations in the output.
        r"RequestLimitExceeded|(?-i:\bThrottling\b)|ThrottlingException|Rate exceeded|"
        r"TooManyRequests|Too Many Requests|StatusCode=429|Status=429|status code:? 429|"
        r"\bError 429\b|\bRESPONSE 429\b",
        _THROTTLE,
    ),
    _rule(
        "insufficient_capacity",
        _TRANSIENT,
        r"InsufficientInstanceCapacity|SkuNotAvailable|ZonalAllocationFailed|AllocationFailed",
        "The region has no capacity for this instance size right now; retry, or choose "
        "another size or zone.",
    ),
    _rule(
        "server_error",
        _TRANSIENT,
        # AWS "Client.InternalError" is a client-side launch failure (typically the KMS key
        # of an encrypted volume), not a server hiccup, so it is not matched here.
        r"\b50[0234] (Internal Server Error|Bad Gateway|Service Unavailable|Gateway Timeout)|"
        r"StatusCode=50[0234]|Status=50[0234]|status code:? 50[0234]|InternalServerError|"
        r"ServiceUnavailable|(?<!Client\.)\bInternalError\b|"
        r"Internal error\. Please try again",
        "The cloud API had a server-side error (HTTP 5xx); retrying usually succeeds.",
    ),
    _rule(
        "communicator_timeout",
        _TRANSIENT,
        r"Timeout waiting for (SSH|WinRM)",
        "The VM booted but never answered SSH/WinRM in time: a slow boot retries well; if it "
        "repeats, check the boot command, the network and the communicator credentials.",
    ),
    _rule(
        "iso_download",
        _TRANSIENT,
        # Packer >= 1.4 (packer-plugin-sdk StepDownload): "error downloading ISO: [<errors>]";
        # Packer < 1.4: "ISO download failed.". A checksum mismatch is not a download hiccup
        # (see iso_checksum below).
        r"error downloading [^:\n]{1,40}: \[(?!Checksums did not match)|\bISO download failed",
        "The ISO could not be downloaded: a mirror hiccup retries well; if it repeats, check "
        "iso_url and that the mirror still serves that version.",
    ),
    # --- config (1): fix the input ---------------------------------------------------------
    # a failing script's own output can hold anything ("No such file or directory"): first
    _rule(
        "provisioner_failed",
        _CONFIG,
        r"Script exited with non-zero exit status|Error executing Ansible: Non-zero exit status",
        "A provisioner script or playbook failed inside the build: its output is above the "
        "error (all of it in the raw log); fix the script and build again.",
    ),
    _rule(
        "unset_variable",
        _CONFIG,
        r"Unset variable|No value for required variable|\bvariable not set: ",
        "A variable has no value: set it in a var file (--var-file) or with --var, or give it "
        "a default.",
    ),
    _rule(
        "undefined_variable",
        _CONFIG,
        # Only the error: Packer prints "Warning: Undefined variable" for a var-file value
        # that no template declares, on builds that succeed.
        r"Error: Undefined (-var |-var-file )?variable|"
        r"Reference to undeclared input variable",
        "A variable is not declared in the template: declare it with a `variable` block or "
        "fix its name.",
    ),
    _rule(
        "unsupported_argument",
        _CONFIG,
        r"Unsupported argument|Unsupported block type|Missing required argument",
        "The template uses an argument the builder or provisioner does not take: check the "
        "spelling against the plugin's documentation for this Packer version.",
    ),
    _rule(
        "unknown_source_type",
        _CONFIG,
        r"Unknown source type|Unknown builder type|Unknown provisioner type|"
        r"Unknown post-processor type|unknown (builder|provisioner|post-processor) type|"
        r"\bis unknown by Packer\b",
        "The template names a plugin Packer does not know: install it (`packer init`) or fix "
        "the type name.",
    ),
    _rule(
        "missing_plugins",
        _CONFIG,
        # Not a bare "packer init": Packer >= 1.10 prints a "Bundled plugins used" warning
        # that mentions it on every build of a template without required_plugins.
        r"Missing plugins|plugins are required, but not installed|"
        r"Did you run packer init|no plugin installed for",
        "Plugins are missing: run `packer init` for the template (or install them into "
        "PACKER_PLUGIN_PATH).",
    ),
    _rule(
        "iso_checksum",
        _CONFIG,
        r"Checksums did not match|checksums didn't match expected",
        "The downloaded ISO does not match iso_checksum: update iso_checksum (the mirror may "
        "have replaced the file) or fix iso_url; retrying downloads the same file again.",
    ),
    _rule(
        "no_template",
        _CONFIG,
        r"no such file or directory|could not parse template|Failed to initialize build",
        "Packer could not read the template or a file it names: check the path.",
    ),
    _rule(
        "hcl_syntax",
        _CONFIG,
        r"Argument or block definition required|Invalid expression|Unclosed configuration block|"
        r"Invalid block definition|failed to parse HCL|Unsupported attribute|Invalid reference|"
        r"Error parsing JSON|Error: .*\n\n\s+on .* line \d+",
        "The template is not valid HCL2 (or legacy JSON): fix the file and line named in the "
        "error (`hybridcore-packer validate --syntax-only PATH` checks syntax alone).",
    ),
    _rule(
        "multiple_errors",
        _CONFIG,
        r"\d+ error\(s\) occurred",
        "The configuration has errors: fix each one listed, then validate again.",
    ),
)

# `packer fmt -check` says "unformatted" with exit status 3 and names only the files.
_FMT_UNFORMATTED = Classification(
    ExitClass.CONFIG,
    "fmt_check",
    "Files are not in canonical format: run `hybridcore-packer fmt PATH` and commit the result.",
)
_UNKNOWN_HINT = (
    "Packer failed for a reason no rule recognises; read the raw log (log_paths) and the "
    "error above. It is treated as a configuration error and not retried."
)


def _line_at(text: str, index: int, limit: int = 300) -> str:
    """The line holding `index`; of a long line, at most `limit` characters around it."""
    start = text.rfind("\n", 0, index) + 1
    end = text.find("\n", index)
    end = len(text) if end < 0 else end
    start = max(start, min(index - limit // 3, end - limit))
    return text[start : min(end, start + limit)].strip()


_PLUGIN_SOURCE = (
    " Or install offline from a local mirror: `hybridcore-packer init --plugin-mirror DIR` "
    "(scripts/plugin-mirror.sh builds one)."
)

# `packer init` talks to GitHub's API for every required plugin: its failures first.
INIT_RULES: tuple[Rule, ...] = (
    _rule(
        "plugin_checksum_mismatch",
        _SECURITY,
        r"checksums? (did not|didn't|does not) match|ChecksumError",
        "A downloaded plugin does not match its published checksum: do not use it; check "
        "for a proxy that alters downloads, then run init again.",
    ),
    _rule(
        "plugin_version_unmet",
        _CONFIG,
        r"no release version found|no plugin(s)? found matching",
        "No release of the plugin meets the template's version constraint: change the "
        "constraint in required_plugins.",
    ),
    _rule(
        "plugin_rate_limited",
        _TRANSIENT,
        r"rate limit",
        "GitHub's API rate limit stopped `packer init`: export PACKER_GITHUB_API_TOKEN (a "
        "token lifts the limit) and retry." + _PLUGIN_SOURCE,
    ),
    _rule(
        "plugin_download",
        _TRANSIENT,
        r'Failed getting the "[^"]+" plugin',
        "`packer init` could not download a plugin (network or GitHub): retry, or set "
        "PACKER_GITHUB_API_TOKEN if GitHub throttles this runner." + _PLUGIN_SOURCE,
    ),
)


def classify(command: str, packer_exit_code: int, text: str) -> Classification:
    """Class of a finished Packer run from its exit status and output text."""
    if packer_exit_code == 0:
        return Classification(ExitClass.OK, "ok", None)
    if command == "fmt" and packer_exit_code == 3:
        return _FMT_UNFORMATTED
    for rule in (*INIT_RULES, *RULES) if command == "init" else RULES:
        match = rule.pattern.search(text)
        if match:
            evidence = _line_at(text, match.start())
            return Classification(rule.exit_class, rule.name, rule.remediation, evidence)
    return Classification(ExitClass.CONFIG, "unrecognised_failure", _UNKNOWN_HINT)
