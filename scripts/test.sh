#!/usr/bin/env bash
# Install everything the tests need, then lint, type-check and run the whole test suite
# (unit tests and integration tests against the real packer binary).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh --test
echo "packer: $(command -v packer) ($(packer version | head -n 1))"
.venv/bin/ruff check src tests bench
.venv/bin/ruff format --check src tests bench
.venv/bin/mypy --strict src
exec .venv/bin/python -m pytest "$@"
