#!/usr/bin/env bash
# Regenerates talosctl-help.txt, the contract tests/fake-talosctl/talosctl parses commands with: the real
# `talosctl <command> --help` output (cobra's usage line and pflag's flag table) of every command the upgrade
# scripts run. Usage: tests/fake-talosctl/gen-help-fixture.sh /path/to/real/talosctl
# `--help` prints local help only: it dials nothing, so no network is needed.
set -euo pipefail

real=${1:?usage: $0 /path/to/real/talosctl}
out="$(dirname "${BASH_SOURCE[0]}")/talosctl-help.txt"
client=$("$real" version --client --short | sed -n 's/^Talos //p')
[[ -n $client ]] || {
  echo "cannot read the client version of $real" >&2
  exit 1
}

{
  printf '# talosctl %s --help output of the commands the upgrade scripts run; generated, do not edit.\n' "$client"
  printf '# Produced by tests/fake-talosctl/gen-help-fixture.sh from the real talosctl %s (built from\n' "$client"
  printf '# github.com/siderolabs/talos@%s cmd/talosctl with the Go toolchain, CGO off, as talos'"'"'s Makefile does).\n' "$client"
  printf '# Deprecated flags are hidden by cobra (MarkDeprecated) and so are absent here.\n'
  for command in "version" "upgrade" "get" "etcd snapshot" "upgrade-k8s" "reboot"; do
    printf '### talosctl %s --help\n' "$command"
    # shellcheck disable=SC2086 # the command words split on purpose
    "$real" $command --help
  done
} >"$out"
echo "wrote $out"
