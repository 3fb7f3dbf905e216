#!/usr/bin/env bash
# Asks one node whether it runs the configuration the stack renders for it, without changing anything: the
# rendered config (stdin) goes to `talosctl apply-config --dry-run`, and the node itself answers with its diff
# against the configuration it runs (machined ApplyConfiguration with DryRun: generateDiff, `configdiff.DiffConfigs`
# of the re-encoded documents, so formatting does not count; "No changes." when they match). The same call the
# provider makes for `staged_if_needing_reboot`. The diff holds secrets: it is never printed, only counted.
# Prints one line: `in-sync`, `differs <n> changed lines`, `maintenance`, `refused` (the node answers but refused
# the dry run; its message may quote the config, so it is not shown) or `unreachable`.
# Environment: NODE, NODE_NAME, TALOSCONFIG_DATA (secret), optional PROBE_TIMEOUT. Stdin: the rendered config.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
if ! declare -F lifecycle_lib_loaded >/dev/null; then
  # shellcheck source=lib.sh
  . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
fi

: "${NODE:?NODE is required}" "${NODE_NAME:?NODE_NAME is required}"
command -v talosctl >/dev/null 2>&1 || fail "the drift check needs talosctl on PATH"
setup_talosconfig
private_file config "$(cat)"
config_file=$PRIVATE_FILE
[[ -s $config_file ]] || fail "no rendered configuration on stdin for node $NODE_NAME (a program bug)"

private_file dry-run ""
answer=$PRIVATE_FILE
if with_timeout "$PROBE_TIMEOUT" talosctl --talosconfig "$TALOSCONFIG_FILE" -e "$NODE" -n "$NODE" \
  apply-config --dry-run --file "$config_file" >"$answer" 2>&1; then
  if grep -qx 'No changes\.' "$answer"; then
    echo in-sync
  else
    echo "differs $(grep -Ec '^[+-][^+-]' "$answer" || true) changed lines"
  fi
  exit 0
fi
state=$(node_state "$NODE")
case $state in
running) echo refused ;;
*) echo "$state" ;;
esac
