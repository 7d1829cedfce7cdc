#!/usr/bin/env bash
# Lay out a local plugin mirror in DIR for `hybridcore-packer init --plugin-mirror DIR`:
# the plugins the examples need, built from their Go modules (pins in tools/), cached in
# .cache/plugins/. The layout is the one Packer 1.9 installs into and lists plugins from
# (packer/plugin-getter: <host>/<namespace>/<type>/packer-plugin-<type>_v<version>_x<api>_<os>_<arch>
# beside a _SHA256SUM file holding the binary's hex sha256), so a mirror can be copied into
# PACKER_PLUGIN_PATH as it is. Packer's own `init` only downloads from GitHub.
set -euo pipefail
cd "$(dirname "$0")/.."
mirror="${1:?usage: scripts/plugin-mirror.sh DIR}"

say() { echo "plugin-mirror: $*" >&2; }

# name  module                                   version  api   tools folder
PLUGINS=(
  "qemu github.com/hashicorp/packer-plugin-qemu 1.0.9 x5.0 tools/plugin-qemu-1.0.9"
)
os="linux"; arch="$(go env GOARCH 2>/dev/null || echo amd64)"

for entry in "${PLUGINS[@]}"; do
  read -r name module version api folder <<<"$entry"
  built="$PWD/.cache/plugins/$name-$version/packer-plugin-$name"
  if [ ! -x "$built" ] || ! "$built" describe 2>/dev/null | grep -q "\"version\":\"$version\""; then
    command -v go >/dev/null || { say "building plugins needs Go (go on PATH)"; exit 1; }
    say "building $module v$version from its Go module"
    mkdir -p "$(dirname "$built")"
    (cd "$folder" && CGO_ENABLED=0 go build -mod=readonly -trimpath -ldflags "-s -w" \
      -o "$built.tmp" "$module")
    mv "$built.tmp" "$built"
  fi
  host_path="${module#*/}"                     # hashicorp/packer-plugin-qemu
  dir="$mirror/github.com/${host_path%%/*}/$name"
  file="packer-plugin-${name}_v${version}_${api}_${os}_${arch}"
  mkdir -p "$dir"
  install -m 0755 "$built" "$dir/$file"
  sha256sum "$dir/$file" | cut -d' ' -f1 > "$dir/${file}_SHA256SUM"
  say "$dir/$file"
done
