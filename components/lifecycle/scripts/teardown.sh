#!/usr/bin/env bash
# `pulumi destroy`: the delete of the membership command. With RESET=true (homelab:resetOnDestroy, as it was at the
# last `pulumi up`: the provider runs the delete with the environment in the state) it wipes every machine back to
# maintenance mode, in the one order that works: workers first (gracefully: drained while the API server still
# answers), then control planes one at a time (gracefully: each leaves etcd), and the last control plane standing
# ungracefully, because etcd never lets its last member leave (etcd IsReadyToRemoveVotingMember; Talos's graceful
# reset would fail in LeaveEtcd). That one ungraceful reset is what UNGRACEFUL=last-etcd-member-at-teardown
# declares, and the only one the policy pack allows. A node that does not answer is reported and skipped, so the
# teardown completes. With RESET=false the machines are left running, detached from Pulumi.
# Environment: MEMBERS, RESET, UNGRACEFUL, TALOSCONFIG_DATA (secret), optional PROBE_TIMEOUT, ACTION_TIMEOUT.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
if ! declare -F lifecycle_lib_loaded >/dev/null; then
  # shellcheck source=lib.sh
  . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
fi

: "${MEMBERS:?MEMBERS is required}"
if [[ ${RESET:-false} != true ]]; then
  log "homelab:resetOnDestroy was false at the last pulumi up: the machines keep running their configuration, detached from Pulumi"
  exit 0
fi
command -v talosctl >/dev/null 2>&1 || fail "the teardown needs talosctl on PATH to reset the machines; nothing was reset."
setup_talosconfig

rows=$(member_rows "$MEMBERS")
workers=$(printf '%s\n' "$rows" | awk '$3 != "controlplane"')
cps=$(printf '%s\n' "$rows" | awk '$3 == "controlplane"')

# Prints `name address` of each control plane that answers, in table order.
running_cps() {
  local name address
  while read -r name address _; do
    [[ -n $name ]] || continue
    if [[ $(node_state "$address") == running ]]; then printf '%s %s\n' "$name" "$address"; fi
  done <<<"$cps"
}

wipe() {
  local name=$1 address=$2 graceful=$3 state
  state=$(node_state "$address")
  case $state in
  running)
    log "$name ($address): resetting (graceful=$graceful; STATE and EPHEMERAL wiped; reboots into maintenance mode)"
    tnode "$address" reset --graceful="$graceful" --reboot --system-labels-to-wipe STATE \
      --system-labels-to-wipe EPHEMERAL --wait --timeout "$ACTION_TIMEOUT" ||
      fail "talosctl reset of $name ($address) failed; the machines after it in the teardown order were not reset." \
        "Run pulumi destroy again: nodes already in maintenance mode are skipped."
    ;;
  maintenance) log "$name ($address) is already in maintenance mode" ;;
  *) log "WARNING: $name ($address) does not answer and was not reset: wipe it by hand (docs/operations.md)" ;;
  esac
}

while read -r name address _; do
  if [[ -n $name ]]; then wipe "$name" "$address" true; fi
done <<<"$workers"
standing=$(running_cps)
last=$(printf '%s\n' "$standing" | awk 'NF { l = $0 } END { print l }')
while read -r name address; do
  if [[ -n $name && "$name $address" != "$last" ]]; then wipe "$name" "$address" true; fi
done <<<"$standing"
if [[ -n $last ]]; then
  graceful=true
  if [[ ${UNGRACEFUL:-none} == last-etcd-member-at-teardown ]]; then graceful=false; fi
  read -r name address <<<"$last"
  wipe "$name" "$address" "$graceful"
fi
# Control planes that did not answer: reported by wipe.
while read -r name address _; do
  [[ -n $name ]] || continue
  if ! grep -qx "$name $address" <<<"$standing"; then wipe "$name" "$address" true; fi
done <<<"$cps"
log "teardown: every machine that answered is back in maintenance mode"
