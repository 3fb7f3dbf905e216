#!/usr/bin/env bash
# Tests install-talosctl.sh against a pretend siderolabs/talos release served from a file:// URL: the binary
# that matches the release's sha256sum.txt is installed; a tampered one, a missing checksum or a binary of the
# wrong version is refused and nothing is installed; the version comes from the stack file.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
install_talosctl="$here/install-talosctl.sh"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
case "$(uname -m)" in aarch64 | arm64) asset=talosctl-linux-arm64 ;; *) asset=talosctl-linux-amd64 ;; esac
export TALOS_RELEASES_URL="file://$tmp/releases"

release() { # version [reported version] → a release directory with a stand-in talosctl and its checksum list
  local dir="$tmp/releases/$1"
  mkdir -p "$dir"
  printf '#!/bin/sh\nprintf "Client:\\nTalos %s\\n"\n' "${2:-$1}" >"$dir/$asset"
  chmod +x "$dir/$asset"
  # The shape of talos's own list: one "<sha256>  <file>" line per asset (ci.yaml, "Generate Checksums").
  (cd "$dir" && printf '%064d  metal-amd64.iso\n' 0 >sha256sum.txt && sha256sum "$asset" >>sha256sum.txt)
}

passed=0
pass() {
  passed=$((passed + 1))
  echo "ok: $*"
}
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
expect_failure() { # description, expected message, args...
  local what=$1 message=$2 out
  shift 2
  if out="$(bash "$install_talosctl" "$@" 2>&1)"; then fail "$what: succeeded"; fi
  [[ $out == *"$message"* ]] || fail "$what: expected '$message' in: $out"
  pass "$what"
}

# 1. the checksum matches: installed, reported version checked, version printed last
release v1.13.9
out="$(bash "$install_talosctl" --version v1.13.9 "$tmp/bin")"
[[ "$(tail -n 1 <<<"$out")" == v1.13.9 && -x $tmp/bin/talosctl ]] || fail "install: $out"
[[ "$("$tmp/bin/talosctl")" == *"Talos v1.13.9"* ]] || fail "installed binary is not the release's"
pass "a binary matching sha256sum.txt is installed"

# 2. kept when already there and still matching (the download is not even needed)
mv "$tmp/releases/v1.13.9/$asset" "$tmp/moved"
out="$(bash "$install_talosctl" --version v1.13.9 "$tmp/bin")"
[[ $out == *"already in"* ]] || fail "cache: $out"
mv "$tmp/moved" "$tmp/releases/v1.13.9/$asset"
pass "a cached binary with the published checksum is kept"

# 3. a tampered binary (or a tampered cache) is refused and not installed
release v1.13.8
echo "# tampered" >>"$tmp/releases/v1.13.8/$asset"
expect_failure "a binary that does not match sha256sum.txt" "does not match the release's sha256sum.txt" \
  --version v1.13.8 "$tmp/other-bin"
[[ ! -e $tmp/other-bin/talosctl ]] || fail "a tampered binary was installed"
echo "# tampered" >>"$tmp/bin/talosctl"
out="$(bash "$install_talosctl" --version v1.13.9 "$tmp/bin")"
[[ $out == *"installed in"* && "$("$tmp/bin/talosctl")" == *v1.13.9* ]] || fail "tampered cache kept: $out"
pass "a tampered cached binary is replaced by the verified download"

# 4. no checksum for the binary, no release, or a binary of another version: refused
release v1.13.7
sed -i "/$asset/d" "$tmp/releases/v1.13.7/sha256sum.txt"
expect_failure "no checksum line" "has no single checksum for $asset" --version v1.13.7 "$tmp/bin7"
expect_failure "no such release" "is v9.9.9 a Talos release?" --version v9.9.9 "$tmp/bin9"
release v1.13.6 v1.12.0
expect_failure "a binary reporting another version" "reports 'v1.12.0', not v1.13.6" --version v1.13.6 "$tmp/bin6"
expect_failure "not a release version" "no Talos release version to install" --version latest "$tmp/binl"

# 5. the version comes from the stack file, else from Pulumi.yaml's default
mkdir -p "$tmp/project"
printf 'config:\n  # renovate: datasource=github-releases depName=siderolabs/talos\n  homelab:talosVersion: "v1.13.8" # pinned\n' \
  >"$tmp/project/Pulumi.home.yaml"
sed -i '$d' "$tmp/releases/v1.13.8/$asset" # untampered again
out="$(bash "$install_talosctl" --stack "$tmp/project/Pulumi.home.yaml" "$tmp/bin8")"
[[ "$(tail -n 1 <<<"$out")" == v1.13.8 ]] || fail "stack version: $out"
printf 'config:\n  homelab:clusterName: x\n' >"$tmp/project/Pulumi.lab.yaml"
cp "$here/../../Pulumi.yaml" "$tmp/project/Pulumi.yaml"
default="$(sed -n '/^  talosVersion:/,/^  [^ ]/s/^ *default: *//p' "$tmp/project/Pulumi.yaml")"
release "$default"
out="$(bash "$install_talosctl" --stack "$tmp/project/Pulumi.lab.yaml" "$tmp/bind")"
[[ "$(tail -n 1 <<<"$out")" == "$default" ]] || fail "default version: $out"
pass "the version is the stack file's homelab:talosVersion, else Pulumi.yaml's default ($default)"

echo "install-talosctl: $passed checks passed"
