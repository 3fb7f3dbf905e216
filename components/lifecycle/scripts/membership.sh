#!/usr/bin/env bash
# Keeps the cluster's members in line with the stack file. The membership command runs it on create and update;
# the provider hands it the table it printed last time in PULUMI_COMMAND_STDOUT (@pulumi/command 1.2.1:
# addPreviousOutputInEnv), and it prints the new one, so a failed run leaves the old table in the state and the
# next `pulumi up` does the rest. What it does, from the two tables:
#   - a node whose name and address are both gone was removed: a control plane leaves etcd first (`etcd leave`
#     on the node, or `etcd remove-member` from another control plane when it does not answer), then the node is
#     shut down (Talos cordons and drains it), or, with RESET=true, reset gracefully (drained, STATE and EPHEMERAL
#     wiped, rebooted into maintenance mode); last, its Kubernetes Node is deleted. Workers go first, then
#     control planes one at a time, and not before the control planes added in the same change are etcd members;
#   - a node that kept its name or its address is the same machine (renamed, or re-addressed): it is never
#     touched; when its hostname changed, the Node object left under the old name is deleted.
# Environment: MEMBERS (the new table), RESET (true|false), TALOSCONFIG_DATA and KUBECONFIG_DATA (secret),
# optional PROBE_TIMEOUT, ACTION_TIMEOUT, JOIN_TIMEOUT (s), POLL_INTERVAL (s). PLAN_ONLY=1 prints the plan only.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
if ! declare -F lifecycle_lib_loaded >/dev/null; then
  # shellcheck source=lib.sh
  . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
fi

: "${MEMBERS:?MEMBERS is required}"
RESET="${RESET:-false}"
JOIN_TIMEOUT="${JOIN_TIMEOUT:-600}"
POLL_INTERVAL="${POLL_INTERVAL:-5}"

current=$(member_rows "$MEMBERS")
previous=$(member_rows "${PULUMI_COMMAND_STDOUT:-}")

# The plan, one line per action: `remove name address role hostname` (workers first, then control planes), then
# `forget hostname` (the Node object a kept node left under its old hostname), then `await name address` for each
# control plane added in a change that removes one.
plan() {
  CURRENT="$current" awk '
    BEGIN {
      n = split(ENVIRON["CURRENT"], lines, "\n")
      for (i = 1; i <= n; i++) {
        if (split(lines[i], f, " ") != 4) continue
        name[f[1]] = 1; host_of[f[2]] = f[4]; host[f[4]] = 1
        if (f[3] == "controlplane") { cpn[++ncur] = f[1]; cpa[ncur] = f[2] }
      }
    }
    NF == 4 {
      seen[$2] = 1
      if (!($1 in name) && !($2 in host_of)) {
        if ($3 == "controlplane") cps[++ncp] = $0; else print "remove " $0
      } else if (($2 in host_of) && host_of[$2] != $4 && !($4 in host) && !($4 in forgot)) {
        forgot[$4] = 1; forget[++nf] = $4
      }
    }
    END {
      for (i = 1; i <= ncp; i++) print "remove " cps[i]
      for (i = 1; i <= nf; i++) print "forget " forget[i]
      if (ncp > 0) for (i = 1; i <= ncur; i++) if (!(cpa[i] in seen)) print "await " cpn[i] " " cpa[i]
    }' <<<"$previous"
}

# True when a node of the new table goes by hostname $1 (its Node object must stay).
current_hostname() {
  printf '%s\n' "$current" | awk -v h="$1" '$4 == h { found = 1 } END { exit !found }'
}

emit_table() {
  printf '%s\n' "$MEMBER_TABLE_HEADER"
  printf '%s\n' "$current"
}

actions=$(if [[ -n $previous ]]; then plan; fi)
if [[ ${PLAN_ONLY:-} == 1 ]]; then
  [[ -z $actions ]] || printf '%s\n' "$actions"
  exit 0
fi
if [[ -z $actions ]]; then
  emit_table
  exit 0
fi

# Everything the plan needs is checked before any node is touched.
for tool in talosctl kubectl; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    fail "removing nodes needs $tool on PATH; nothing was changed." \
      "Install $tool (talosctl of the cluster's Talos minor; kubectl within one minor of Kubernetes), then run pulumi up again."
  fi
done
setup_talosconfig
setup_kubeconfig
log "plan:"
printf '%s\n' "$actions" | sed 's/^/[lifecycle]   /' >&2

# A running control plane of the new table to ask about etcd (those of the old table first: they are members).
survivor() {
  local name address role hostname
  while read -r name address role hostname; do
    [[ $role == controlplane ]] || continue
    if [[ $(node_state "$address") == running ]]; then
      printf '%s' "$address"
      return 0
    fi
  done < <(awk 'NR == FNR { old[$2] = 1; next } { print (($2 in old) ? 0 : 1), $0 }' \
    <(printf '%s\n' "$previous") <(printf '%s\n' "$current") | sort -s -k1,1n | cut -d' ' -f2-)
  return 1
}

# `talosctl etcd members` as seen from $1, with the NODE column when talosctl prints one (cmd/talosctl/cmd/talos/
# etcd.go): prints `id hostname peer-urls` per member.
etcd_members() {
  tnode "$1" etcd members | awk 'NR == 1 { off = ($1 == "NODE") ? 1 : 0; next } NF > 3 { print $(1 + off), $(2 + off), $(3 + off) }'
}

await_join() {
  local name=$1 address=$2 from deadline
  deadline=$((SECONDS + JOIN_TIMEOUT))
  while :; do
    if from=$(survivor) && etcd_members "$from" 2>/dev/null | grep -q "https://$address:2380"; then
      log "control plane $name ($address) is an etcd member"
      return 0
    fi
    if ((SECONDS >= deadline)); then
      fail "control plane $name ($address), added in this change, has not joined etcd after ${JOIN_TIMEOUT}s; no node was removed." \
        "Removing a control plane before its replacement has joined could cost etcd its quorum. Check the new node (talosctl -n $address dmesg; talosctl health), then run pulumi up again: the removal resumes."
    fi
    sleep "$POLL_INTERVAL"
  done
}

# For a control plane that does not answer: remove its member from a running one.
remove_member() {
  local name=$1 address=$2 hostname=$3 from id
  if ! from=$(survivor); then
    fail "cannot remove control plane $name ($address) from etcd: no other control plane answers." \
      "Bring a control plane back (talosctl health), then run pulumi up again."
  fi
  id=$(etcd_members "$from" | awk -v h="$hostname" -v p="https://$address:2380" '$2 == h || index($3, p) { print $1; exit }')
  if [[ -z $id ]]; then
    log "control plane $name ($address) is not an etcd member (any more)"
    return 0
  fi
  log "control plane $name ($address) does not answer: removing its etcd member $id from $from"
  tnode "$from" etcd remove-member "$id" || fail "talosctl etcd remove-member $id (control plane $name, $address) failed; the node was left in place." \
    "See talosctl -n $from etcd members; run pulumi up again once etcd is healthy."
}

decommission() {
  local name=$1 address=$2 role=$3 hostname=$4 state who
  who="$role $name ($address)"
  state=$(node_state "$address")
  if [[ $role == controlplane ]]; then
    if [[ $state == running ]]; then
      log "$who: leaving etcd"
      tnode "$address" etcd leave || fail "etcd refused to let $who leave; it was not shut down or reset." \
        "Check etcd (talosctl -n $address etcd members; talosctl health), then run pulumi up again."
    else
      remove_member "$name" "$address" "$hostname"
    fi
  fi
  case $state in
  running)
    if [[ $RESET == true ]]; then
      log "$who: resetting (graceful; STATE and EPHEMERAL wiped; reboots into maintenance mode)"
      tnode "$address" reset --graceful=true --reboot --system-labels-to-wipe STATE \
        --system-labels-to-wipe EPHEMERAL --wait --timeout "$ACTION_TIMEOUT" ||
        fail "talosctl reset of $who failed." "Run pulumi up again, or wipe it by hand (docs/operations.md)."
    else
      log "$who: shutting down (Talos cordons and drains it first)"
      tnode "$address" shutdown --wait --timeout "$ACTION_TIMEOUT" ||
        fail "talosctl shutdown of $who failed." "Run pulumi up again."
    fi
    ;;
  maintenance) log "$who is in maintenance mode (wiped): nothing to shut down or reset" ;;
  *) log "WARNING: $who does not answer: it was neither shut down nor reset. Wipe it before powering it on again (docs/operations.md): with its configuration it would rejoin the cluster." ;;
  esac
  if current_hostname "$hostname"; then
    log "Kubernetes Node $hostname now belongs to a node of the stack: kept"
  else
    delete_node "$hostname"
  fi
}

delete_node() {
  log "deleting Kubernetes Node $1"
  kubectl --kubeconfig "$KUBECONFIG_FILE" delete node "$1" --ignore-not-found --wait=true --timeout=120s >&2 ||
    fail "kubectl delete node $1 failed." "Delete it by hand (kubectl delete node $1), then run pulumi up again."
}

while read -r action name address; do
  if [[ $action == await ]]; then await_join "$name" "$address"; fi
done <<<"$actions"
while read -r action name address role hostname; do
  case $action in
  remove) decommission "$name" "$address" "$role" "$hostname" ;;
  forget) delete_node "$name" ;;
  esac
done <<<"$actions"
emit_table
