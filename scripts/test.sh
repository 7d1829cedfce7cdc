#!/usr/bin/env bash
# Install everything the tests need, then lint, type-check and run the whole test suite:
# unit tests and integration tests against Debian's Packer 1.6.6, then the integration
# tests again against Packer 1.9.5 built from its Go module (scripts/install-packer.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh --test
scripts/install-postgres.sh  # the registry tests start a private PostgreSQL server
packer_166="$(scripts/install-packer.sh 1.6.6)"
packer_195="$(scripts/install-packer.sh 1.9.5)"
# The plugin example's qemu plugin makes its disk with a real qemu-img.
if ! command -v qemu-img >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    qemu-utils >/dev/null
fi
# The CI recipe tests lint with shellcheck (Debian's) and actionlint (built from its Go module);
# the pipeline rehearsal runs the GitHub recipe's promote step, which reads JSON with jq.
if ! command -v shellcheck >/dev/null 2>&1 || ! command -v jq >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq shellcheck jq >/dev/null
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
echo "test.sh: the whole suite with Packer 1.6.6 ($packer_166)"
PATH="$(dirname "$packer_166"):$PATH" .venv/bin/python -m pytest "$@"
echo "test.sh: the integration tests again with Packer 1.9.5 ($packer_195)"
PATH="$(dirname "$packer_195"):$PATH" .venv/bin/python -m pytest -m integration "$@" tests/integration
echo "test.sh: Packer versions tested: 1.6.6, 1.9.5"
