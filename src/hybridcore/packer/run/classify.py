"""Packer exit status + output text -> exit-code class and a remediation hint.

| code | class     | retry policy                                   |
|------|-----------|------------------------------------------------|
| 0    | ok        | none                                           |
| 1    | config    | never retried; the operator fixes the input    |
| 2    | transient | retried once automatically, then escalated     |
| 3    | security  | abort at once; manual remediation              |

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

__all__ = ["CLASS_CODES", "RULES", "Classification", "Rule", "classify"]

CLASS_CODES = {"ok": 0, "config": 1, "transient": 2, "security": 3}


@dataclass(frozen=True)
class Rule:
    name: str
    klass: str
    pattern: re.Pattern[str]
    remediation: str

    @property
    def exit_code(self) -> int:
        return CLASS_CODES[self.klass]


@dataclass(frozen=True)
class Classification:
    exit_code: int
    klass: str
    rule: str
    remediation: str | None
    evidence: str | None = None  # the output line that decided, if a pattern did

    @property
    def retryable(self) -> bool:
        return self.klass == "transient"


def _rule(name: str, klass: str, pattern: str, remediation: str) -> Rule:
    return Rule(name, klass, re.compile(pattern, re.IGNORECASE | re.MULTILINE), remediation)


_NETWORK = "A network hiccup between Packer and the endpoint; retrying usually succeeds. "
_THROTTLE = "The cloud API throttled the requests; retry later or lower --parallel. "

RULES: tuple[Rule, ...] = (
    # --- security (3): a person must act ---------------------------------------------------
    _rule(
        "unauthorized_operation",
        "security",
        r"UnauthorizedOperation|AuthorizationFailed|AuthorizationPermissionMismatch",
        "The credentials lack a permission the build needs: grant the missing action or role "
        "to the identity Packer uses (see the error for the action name).",
    ),
    _rule(
        "access_denied",
        "security",
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
        "security",
        r"NoCredentialProviders|no valid credential sources|AuthFailure|InvalidClientTokenId|"
        r"SignatureDoesNotMatch|ExpiredToken|invalid_client|AADSTS\d+|"
        r"Cannot complete login due to an incorrect user name or password",
        "Packer found no valid credentials: export the cloud credentials as environment "
        "variables (and pass them with --secret-env) or refresh an expired token.",
    ),
    # --- transient (2): retry once; within the class the specific rules come first --------
    _rule("io_timeout", "transient", r"i/o timeout", _NETWORK + "Check DNS and proxies."),
    _rule("connection_reset", "transient", r"connection reset by peer", _NETWORK),
    _rule(
        "tls_handshake_timeout",
        "transient",
        r"TLS handshake timeout",
        _NETWORK + "A slow or overloaded TLS endpoint.",
    ),
    _rule(
        "deadline_exceeded",
        "transient",
        r"context deadline exceeded",
        "An API call timed out; retrying usually succeeds. If it persists, raise the "
        "builder's timeout settings.",
    ),
    _rule(
        "api_eof",
        "transient",
        r"""\b(Get|Post|Put|Patch|Delete|Head) "?https?://[^\s"]+"?: (unexpected )?EOF\b""",
        _NETWORK + "The API closed the connection mid-request.",
    ),
    _rule(
        "throttled",
        "transient",
        # No bare "429": it also matches line numbers, sizes and durations in the output.
        r"RequestLimitExceeded|(?-i:\bThrottling\b)|ThrottlingException|Rate exceeded|"
        r"TooManyRequests|Too Many Requests|StatusCode=429|Status=429|status code:? 429|"
        r"\bError 429\b|\bRESPONSE 429\b",
        _THROTTLE,
    ),
    _rule(
        "insufficient_capacity",
        "transient",
        r"InsufficientInstanceCapacity|SkuNotAvailable|ZonalAllocationFailed|AllocationFailed",
        "The region has no capacity for this instance size right now; retry, or choose "
        "another size or zone.",
    ),
    _rule(
        "server_error",
        "transient",
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
        "transient",
        r"Timeout waiting for (SSH|WinRM)",
        "The VM booted but never answered SSH/WinRM in time: a slow boot retries well; if it "
        "repeats, check the boot command, the network and the communicator credentials.",
    ),
    _rule(
        "iso_download",
        "transient",
        # Packer >= 1.4 (packer-plugin-sdk StepDownload): "error downloading ISO: [<errors>]";
        # Packer < 1.4: "ISO download failed.". A checksum mismatch is not a download hiccup
        # (see iso_checksum below).
        r"error downloading [^:\n]{1,40}: \[(?!Checksums did not match)|\bISO download failed",
        "The ISO could not be downloaded: a mirror hiccup retries well; if it repeats, check "
        "iso_url and that the mirror still serves that version.",
    ),
    # --- config (1): fix the input ---------------------------------------------------------
    _rule(
        "unset_variable",
        "config",
        r"Unset variable|No value for required variable|\bvariable not set: ",
        "A variable has no value: set it in a var file (--var-file) or with --var, or give it "
        "a default.",
    ),
    _rule(
        "undefined_variable",
        "config",
        # Only the error: Packer prints "Warning: Undefined variable" for a var-file value
        # that no template declares, on builds that succeed.
        r"Error: Undefined (-var |-var-file )?variable|"
        r"Reference to undeclared input variable",
        "A variable is not declared in the template: declare it with a `variable` block or "
        "fix its name.",
    ),
    _rule(
        "unsupported_argument",
        "config",
        r"Unsupported argument|Unsupported block type|Missing required argument",
        "The template uses an argument the builder or provisioner does not take: check the "
        "spelling against the plugin's documentation for this Packer version.",
    ),
    _rule(
        "unknown_source_type",
        "config",
        r"Unknown source type|Unknown builder type|Unknown provisioner type|"
        r"Unknown post-processor type|unknown (builder|provisioner|post-processor) type|"
        r"\bis unknown by Packer\b",
        "The template names a plugin Packer does not know: install it (`packer init`) or fix "
        "the type name.",
    ),
    _rule(
        "missing_plugins",
        "config",
        # Not a bare "packer init": Packer >= 1.10 prints a "Bundled plugins used" warning
        # that mentions it on every build of a template without required_plugins.
        r"Missing plugins|plugins are required, but not installed|"
        r"Did you run packer init|no plugin installed for",
        "Plugins are missing: run `packer init` for the template (or install them into "
        "PACKER_PLUGIN_PATH).",
    ),
    _rule(
        "iso_checksum",
        "config",
        r"Checksums did not match|checksums didn't match expected",
        "The downloaded ISO does not match iso_checksum: update iso_checksum (the mirror may "
        "have replaced the file) or fix iso_url; retrying downloads the same file again.",
    ),
    _rule(
        "no_template",
        "config",
        r"no such file or directory|could not parse template|Failed to initialize build",
        "Packer could not read the template or a file it names: check the path.",
    ),
    _rule(
        "hcl_syntax",
        "config",
        r"Argument or block definition required|Invalid expression|Unclosed configuration block|"
        r"Invalid block definition|failed to parse HCL|Unsupported attribute|Invalid reference|"
        r"Error parsing JSON|Error: .*\n\n\s+on .* line \d+",
        "The template is not valid HCL2 (or legacy JSON): fix the file and line named in the "
        "error (`hybridcore-packer validate --syntax-only PATH` checks syntax alone).",
    ),
    _rule(
        "multiple_errors",
        "config",
        r"\d+ error\(s\) occurred",
        "The configuration has errors: fix each one listed, then validate again.",
    ),
)

# `packer fmt -check` says "unformatted" with exit status 3 and names only the files.
_FMT_UNFORMATTED = Classification(
    1,
    "config",
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


def classify(command: str, packer_exit_code: int, text: str) -> Classification:
    """Class of a finished Packer run from its exit status and output text."""
    if packer_exit_code == 0:
        return Classification(0, "ok", "ok", None)
    if command == "fmt" and packer_exit_code == 3:
        return _FMT_UNFORMATTED
    for rule in RULES:
        match = rule.pattern.search(text)
        if match:
            evidence = _line_at(text, match.start())
            return Classification(rule.exit_code, rule.klass, rule.name, rule.remediation, evidence)
    return Classification(1, "config", "unrecognised_failure", _UNKNOWN_HINT)
