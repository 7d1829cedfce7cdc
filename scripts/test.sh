#!/usr/bin/env bash
# Install everything the tests need, then lint, type-check and run the whole test suite
# (unit tests and integration tests against the real packer binary).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh --test
echo "packer: $(command -v packer) ($(packer version | head -n 1))"
# The CI recipe tests lint with shellcheck (Debian's) and actionlint (built from its Go module).
if ! command -v shellcheck >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq shellcheck >/dev/null
fi
echo "actionlint: $(scripts/install-actionlint.sh)"
.venv/bin/ruff check src tests bench
.venv/bin/ruff format --check src tests bench
.venv/bin/mypy --strict src
.venv/bin/lint-imports
.venv/bin/hybridcore-packer spec check
# The OpenSpec CLI checks the spec's format; it comes from the npm registry.
if command -v npm >/dev/null 2>&1 && \
   npm install --silent --no-audit --no-fund --prefix .openspec @fission-ai/openspec@1 >/dev/null 2>&1; then
  OPENSPEC_TELEMETRY=0 .openspec/node_modules/.bin/openspec validate --specs --strict
else
  echo "test.sh: npm or @fission-ai/openspec unavailable: openspec validate not run" >&2
fi
exec .venv/bin/python -m pytest "$@"
