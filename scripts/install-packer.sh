#!/usr/bin/env bash
# Print the path of a working `packer` of VERSION on stdout (progress on stderr).
#   1.6.6  Debian's package.
#   1.9.5  built from its Go module (the last MPL-2.0 release; 1.10 and later are BUSL and
#          never built here) with the pins in tools/packer-1.9.5, into .cache/packer/1.9.5/,
#          reused when present. A cold build takes a few minutes on two cores.
set -euo pipefail
cd "$(dirname "$0")/.."
export CHECKPOINT_DISABLE=1  # `packer version` would otherwise ask HashiCorp for updates
version="${1:-}"

say() { echo "install-packer: $*" >&2; }

works() {  # works BINARY VERSION: the binary runs and says it is that version
  [ -x "$1" ] && "$1" version 2>/dev/null | head -n 1 | grep -qx "Packer v$2"
}

case "$version" in
  1.6.6)
    if ! works /usr/bin/packer 1.6.6; then
      say "installing Debian's packer"
      SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
      DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq packer >/dev/null 2>&1 || {
        $SUDO apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq packer >/dev/null
      }
    fi
    works /usr/bin/packer 1.6.6 || { say "/usr/bin/packer is not Packer 1.6.6"; exit 1; }
    echo /usr/bin/packer
    ;;
  1.9.5)
    target="$PWD/.cache/packer/1.9.5/packer"
    if ! works "$target" 1.9.5; then
      command -v go >/dev/null || { say "building Packer 1.9.5 needs Go (go on PATH)"; exit 1; }
      say "building Packer 1.9.5 from its Go module (a few minutes the first time)"
      mkdir -p "$(dirname "$target")"
      (cd tools/packer-1.9.5 && CGO_ENABLED=0 go build -mod=readonly -trimpath \
        -ldflags "-s -w" -o "$target.tmp" github.com/hashicorp/packer)
      mv "$target.tmp" "$target"
      works "$target" 1.9.5 || { say "the built binary does not run as Packer 1.9.5"; exit 1; }
    fi
    echo "$target"
    ;;
  *)
    say "usage: scripts/install-packer.sh 1.6.6|1.9.5 (other versions are not built here;"
    say "Packer 1.10 and later are BUSL-licensed)"
    exit 1
    ;;
esac
