#!/usr/bin/env bash
# Installs the talosctl a stack needs, checksum-verified, for the workflows (.github/actions/talosctl):
#
#   install-talosctl.sh (--version vX.Y.Z | --stack Pulumi.<stack>.yaml) <bin-dir>
#
# The version is the stack file's homelab:talosVersion (else the default in Pulumi.yaml next to it): the
# upgrade steps drive the nodes with it, and a Renovate pull request that bumps Talos brings its talosctl along.
# From the siderolabs/talos GitHub release of that version it downloads talosctl-linux-<arch> and the release's
# sha256sum.txt, checks the binary against it (sha256sum --check) and installs it as <bin-dir>/talosctl. A
# talosctl already there with the published checksum is kept (the LAN runner keeps its tool cache between runs).
# Prints the version installed on the last line of stdout. TALOS_RELEASES_URL replaces the download location
# (the tests use a file:// URL).
set -euo pipefail

fail() {
  echo "install-talosctl: $*" >&2
  exit 1
}

version="" stack=""
while (($# > 1)); do
  case $1 in
  --version) version=$2 ;;
  --stack) stack=$2 ;;
  *) fail "unknown argument $1" ;;
  esac
  shift 2
done
(($# == 1)) || fail "usage: install-talosctl.sh (--version vX.Y.Z | --stack Pulumi.<stack>.yaml) <bin-dir>"
dir=$1

setting() { # file → homelab:talosVersion in a stack file, or the `default:` of talosVersion in Pulumi.yaml
  sed -n -e 's/^[[:space:]]*homelab:talosVersion:[[:space:]]*\([^[:space:]#]*\).*/\1/p' \
    -e '/^  talosVersion:/,/^  [^ ]/s/^[[:space:]]*default:[[:space:]]*\([^[:space:]#]*\).*/\1/p' "$1" |
    head -n 1 | tr -d "\"'"
}
if [[ -z $version && -n $stack ]]; then
  [[ -f $stack ]] || fail "stack file $stack not found"
  version="$(setting "$stack")"
  [[ -n $version || ! -f "$(dirname "$stack")/Pulumi.yaml" ]] || version="$(setting "$(dirname "$stack")/Pulumi.yaml")"
fi
[[ -n $version && $version != v* ]] && version="v$version"
[[ $version =~ ^v[0-9]+\.[0-9]+\.[0-9]+$ ]] ||
  fail "no Talos release version to install (got '${version}'): set homelab:talosVersion such as v1.13.9"

case "$(uname -m)" in
x86_64 | amd64) arch=amd64 ;;
aarch64 | arm64) arch=arm64 ;;
*) fail "no talosctl release for $(uname -m)" ;;
esac
asset="talosctl-linux-$arch"
base="${TALOS_RELEASES_URL:-https://github.com/siderolabs/talos/releases/download}/$version"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
curl -fsSL --retry 3 -o "$tmp/sha256sum.txt" "$base/sha256sum.txt" ||
  fail "cannot download $base/sha256sum.txt (is $version a Talos release?)"
# talos's release job writes the list with `cd _out && sha256sum ... talosctl-linux-amd64 ...`
# (.github/workflows/ci.yaml, "Generate Checksums", v1.13.9); releases before siderolabs/talos#9052 (2024)
# named the files "_out/<asset>".
expected="$(awk -v a="$asset" '$2 == a || $2 == "*" a || $2 == "_out/" a { print $1 }' "$tmp/sha256sum.txt")"
[[ $expected =~ ^[0-9a-f]{64}$ ]] || fail "$base/sha256sum.txt has no single checksum for $asset"

mkdir -p "$dir"
target="$dir/talosctl"
if [[ -x $target ]] && echo "$expected  $target" | sha256sum --check --strict --status; then
  echo "talosctl $version already in $dir (checksum verified)"
else
  curl -fsSL --retry 3 -o "$tmp/$asset" "$base/$asset" || fail "cannot download $base/$asset"
  (cd "$tmp" && echo "$expected  $asset" | sha256sum --check --strict --quiet) ||
    fail "$asset of $version does not match the release's sha256sum.txt: not installed"
  install -m 0755 "$tmp/$asset" "$target"
  echo "talosctl $version installed in $dir (checksum verified)"
fi
reported="$("$target" version --client --short 2>/dev/null | sed -n 's/^Talos //p' | head -n 1)"
[[ $reported == "$version" ]] || fail "$target reports '${reported}', not $version"
echo "$version"
