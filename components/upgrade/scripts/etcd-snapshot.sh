#!/usr/bin/env bash
# Takes the etcd snapshot that is the recovery point of a Talos rollout, before the first control plane is
# upgraded, and keeps it in SNAPSHOT_DIR. Runs first in the rollout, so it also refuses, before any node is
# touched, a control plane whose running version cannot go straight to TARGET_VERSION.
#   - every control plane in maintenance mode (new cluster, or all reset): nothing to protect, no snapshot;
#   - no control plane needs upgrading (all on TARGET_IMAGE's version and schematic already): no snapshot;
#   - otherwise, once this machine is known to reach the Kubernetes API when a control plane to upgrade takes
#     talosctl's LifecycleService path (see lifecycle_upgrade): `talosctl -n <cp> etcd snapshot <file>` (exactly
#     one path: cmd/talosctl/cmd/talos/etcd.go etcdSnapshotCmd, cobra.ExactArgs(1); talosctl writes it 0600)
#     into the snapshot folder (0700), then only the newest KEEP_SNAPSHOTS snapshots of this cluster are kept.
# A snapshot holds every secret of the cluster (etcd keeps the Kubernetes Secrets, the CA keys are in the machine
# config): the file is 0600, the folder 0700, and by default it lives outside the git checkout (a CI checkout is
# cleaned, and nothing there may ever be committed).
# Environment: CONTROL_PLANES (space-separated name=address pairs), CLUSTER_NAME, TARGET_IMAGE, TARGET_VERSION,
# SNAPSHOT_DIR (empty: ${XDG_STATE_HOME:-$HOME/.local/state}/homelab/etcd-snapshots/SNAPSHOT_SCOPE; a relative
# path is relative to the directory pulumi runs in), SNAPSHOT_SCOPE (`<project>/<stack>`), KEEP_SNAPSHOTS (>= 1),
# K8S_ENDPOINT (`https://host:port`), TALOSCONFIG_DATA (secret), optional PROBE_TIMEOUT.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
if ! declare -F upgrade_lib_loaded >/dev/null; then
  # shellcheck source=versions.sh
  . "$(dirname "${BASH_SOURCE[0]}")/versions.sh"
  # shellcheck source=lib.sh
  . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
fi

: "${CONTROL_PLANES:?CONTROL_PLANES is required}" "${CLUSTER_NAME:?CLUSTER_NAME is required}"
: "${TARGET_IMAGE:?TARGET_IMAGE is required}" "${TARGET_VERSION:?TARGET_VERSION is required}"
: "${SNAPSHOT_SCOPE:?SNAPSHOT_SCOPE is required}" "${KEEP_SNAPSHOTS:?KEEP_SNAPSHOTS is required}"
[[ $KEEP_SNAPSHOTS =~ ^[1-9][0-9]*$ ]] || fail "KEEP_SNAPSHOTS must be a whole number of at least 1, got: $KEEP_SNAPSHOTS"

# The folder this cluster's snapshots go to (see the header); the stack config refuses `/`, and so does this.
snapshot_dir() {
  local dir=${SNAPSHOT_DIR:-}
  if [[ -z $dir ]]; then
    local base=${XDG_STATE_HOME:-}
    if [[ -z $base ]]; then
      [[ -n ${HOME:-} ]] || fail "etcd snapshot: neither SNAPSHOT_DIR, XDG_STATE_HOME nor HOME is set: set homelab:upgrade.snapshotDir to an absolute path"
      base=$HOME/.local/state
    fi
    dir=$base/homelab/etcd-snapshots/$SNAPSHOT_SCOPE
  fi
  [[ ! $dir =~ ^/[/.]*$ ]] || fail "etcd snapshot: refusing to write snapshots into the root folder ($dir): set homelab:upgrade.snapshotDir to a folder of its own"
  printf '%s\n' "$dir"
}

# Deletes this cluster's snapshots but the newest KEEP_SNAPSHOTS in DIR: only regular files named as this script
# names them (CLUSTER_NAME-<UTC stamp>-pre-<version>.db; the stamp sorts by time), nothing else in the folder.
prune_snapshots() {
  local dir=$1 f name
  local -a ours=()
  for f in "$dir/$CLUSTER_NAME"-*.db; do
    name=${f##*/}
    [[ -f $f && ! -L $f ]] || continue
    [[ $name =~ ^${CLUSTER_NAME}-[0-9]{8}T[0-9]{6}Z-pre-v[0-9A-Za-z.+-]+\.db$ ]] || continue
    ours+=("$name")
  done
  ((${#ours[@]} > KEEP_SNAPSHOTS)) || return 0
  local -a sorted
  mapfile -t sorted < <(printf '%s\n' "${ours[@]}" | LC_ALL=C sort)
  local drop=$((${#sorted[@]} - KEEP_SNAPSHOTS)) i
  for ((i = 0; i < drop; i++)); do
    rm -f -- "${dir:?}/${sorted[i]}"
    log "removed the older etcd snapshot ${sorted[i]} (keeping the newest $KEEP_SNAPSHOTS)"
  done
}

setup_talosconfig
require_talosctl "$(minor_of "$TARGET_VERSION")"

source_name="" source_node="" pending="" lifecycle=""
for entry in $CONTROL_PLANES; do
  name=${entry%%=*}
  node=${entry#*=}
  status=0
  probe_node "$node" || status=$?
  if ((status == 2)); then
    log "control plane $name ($node) is in maintenance mode (not configured yet)"
    continue
  fi
  if ((status != 0)); then
    fail "etcd snapshot before upgrading to $TARGET_VERSION failed: control plane $name ($node) answers neither the cluster's talosconfig nor, in maintenance mode, without one (is it up?):" "$PROBE_OUT"
  fi
  running=$(server_tag "$PROBE_OUT")
  if [[ -z $running ]]; then
    fail "etcd snapshot before upgrading to $TARGET_VERSION failed: cannot read the Talos version of $name ($node) from:" "$PROBE_OUT"
  fi
  if [[ -z $source_node ]]; then
    source_name=$name source_node=$node
  fi
  status=0
  at_target "$node" "$running" || status=$?
  if ((status == 2)); then
    fail "etcd snapshot before upgrading to $TARGET_VERSION failed: control plane $name ($node): $AT_TARGET_WHY"
  fi
  if ((status == 1)); then
    if ! problem=$(talos_path_problem "$running" "$TARGET_VERSION"); then
      fail "upgrade of node $name ($node) failed: refused: $problem"
    fi
    pending="$pending $name"
    if lifecycle_upgrade "$running"; then lifecycle="$lifecycle $name"; fi
  fi
done

if [[ -z $pending ]]; then
  log "no control plane needs upgrading to $TARGET_IMAGE: no etcd snapshot taken"
  exit 0
fi
if [[ -n $lifecycle ]] && ! problem=$(kube_api_problem); then
  fail "upgrade to $TARGET_VERSION refused before touching any node: talosctl upgrades control planes$lifecycle through the LifecycleService API and drains each from this machine through the Kubernetes API, but $problem." \
    "Run pulumi up where the cluster endpoint answers (same network, VPN, or the VIP/load balancer up), then run it again."
fi

dir=$(snapshot_dir)
(umask 077 && mkdir -p -- "$dir")
chmod 700 -- "$dir"
file="$dir/$CLUSTER_NAME-$(date -u +%Y%m%dT%H%M%SZ)-pre-$TARGET_VERSION.db"
log "control planes to upgrade:$pending; saving an etcd snapshot from $source_name ($source_node) to $file"
if ! out=$(umask 077 && tctl -n "$source_node" etcd snapshot "$file" 2>&1); then
  fail "etcd snapshot before upgrading to $TARGET_VERSION failed (from control plane $source_name ($source_node)); no node was upgraded:" "$out"
fi
printf '%s\n' "$out"
chmod 600 -- "$file"
log "etcd snapshot kept at $file; restore with: talosctl -n <control plane> bootstrap --recover-from=$file"
prune_snapshots "$dir"
