#!/usr/bin/env bash
# Install what is needed, then build the bundled example project with hybridcore-packer.
# Records and logs go to .hybridcore/example (override with WORKDIR=...).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
WORKDIR="${WORKDIR:-.hybridcore/example}"
exec .venv/bin/hybridcore-packer --workdir "$WORKDIR" --env example \
  build --var-file examples/hybrid/ci.pkrvars.hcl \
  "$@" examples/hybrid
