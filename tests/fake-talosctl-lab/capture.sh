#!/usr/bin/env bash
# Regenerates the contract fixtures of the fake talosctl from a REAL talosctl, offline:
#   bash tests/fake-talosctl-lab/capture.sh [path/to/talosctl]
# (default: the talosctl that ../shared/tools/talosctl.sh builds from the Go module proxy,
# ~/.cache/talosctl-v1.13.9/bin/talosctl). Only `--help` and `version --client` run, inside a network
# namespace of their own (`unshare --net`), so nothing can be sent anywhere; `cluster create` never runs.
# TALOS_HOME points at an empty directory so the defaults printed (--state) do not depend on this machine's
# home: they read "$TALOS_HOME/clusters", written below as <TALOS_HOME>/clusters.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
talosctl="${1:-$HOME/.cache/talosctl-v1.13.9/bin/talosctl}"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

run() { # args... → the real talosctl's stdout and stderr (scratch TALOS_HOME masked) and exit status
  local status=0
  unshare --net env -i PATH=/usr/bin:/bin HOME="$scratch/home" TALOS_HOME="$scratch/talos-home" \
    bash -c 'ip link set lo up && exec "$@"' _ "$talosctl" "$@" >"$scratch/stdout" 2>"$scratch/stderr" || status=$?
  sed "s#$scratch/talos-home#<TALOS_HOME>#g" "$scratch/stdout"
  sed "s#$scratch/talos-home#<TALOS_HOME>#g" "$scratch/stderr" >&2
  return "$status"
}

version="$(run version --client --short | sed -n 's/^Talos //p')"
for cmd in "cluster create qemu" "cluster destroy"; do
  file="$here/help-${cmd// /-}.txt"
  {
    echo "# \`talosctl $cmd --help\` of the real talosctl $version (github.com/siderolabs/talos/cmd/talosctl,"
    echo "# built from the Go module proxy by ../shared/tools/talosctl.sh), captured by"
    echo "# tests/fake-talosctl-lab/capture.sh inside \`unshare --net\`. This is the contract the fake talosctl"
    echo "# follows: it accepts exactly the flags listed here and prints this text for --help."
    echo "# Everything after the line of dashes is the command's output, byte for byte, except that the scratch"
    echo "# TALOS_HOME it ran with is written <TALOS_HOME>."
    echo "# ----------------------------------------------------------------------------------------------------"
    # shellcheck disable=SC2086 # the command words split on purpose
    run $cmd --help
  } >"$file"
  echo "wrote $file"
done

# How cobra rejects flags: these fail while parsing the command line, before the command itself runs.
errors() { # name, then the talosctl arguments → error-<name>.txt: the real stderr and exit status
  local file="$here/error-$1.txt" status=0 out
  shift
  out="$(run "$@" 2>&1 >/dev/null)" || status=$?
  {
    echo "# stderr of \`talosctl $*\` (real talosctl $version, captured by tests/fake-talosctl-lab/capture.sh"
    echo "# inside \`unshare --net\`; the scratch TALOS_HOME written <TALOS_HOME>). Exit status: $status."
    echo "# ----------------------------------------------------------------------------------------------------"
    # $(...) dropped the trailing newlines: cobra ends the usage with one, then adds an empty line.
    printf '%s\n\n' "$out"
  } >"$file"
  echo "wrote $file"
}
errors unknown-flag cluster create qemu --bogus 1
errors bad-int cluster create qemu --workers=x
errors missing-value cluster create qemu --name
errors unknown-flag-destroy cluster destroy --bogus
