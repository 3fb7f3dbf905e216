#!/usr/bin/env bash
# Takes the etcd snapshot that is the recovery point of a Talos rollout, before the first control plane is
# upgraded, and keeps it in SNAPSHOT_DIR. Runs first in the rollout, so it also refuses, before any node is
# touched, a control plane whose running version cannot go straight to TARGET_VERSION.
#   - every control plane in maintenance mode (new cluster, or all reset): nothing to protect, no snapshot;
#   - no control plane needs upgrading (all on TARGET_IMAGE's version and schematic already): no snapshot;
#   - otherwise, once this machine is known to reach the Kubernetes API when a control plane to upgrade takes
#     talosctl's LifecycleService path (see lifecycle_upgrade): `talosctl -n <cp> etcd snapshot <file>` (exactly
#     one path: cmd/talosctl/cmd/talos/etcd.go etcdSnapshotCmd, cobra.ExactArgs(1); talosctl writes it 0600)
#     into SNAPSHOT_DIR (0700).
# Environment: CONTROL_PLANES (space-separated name=address pairs), CLUSTER_NAME, TARGET_IMAGE, TARGET_VERSION,
# SNAPSHOT_DIR (relative to the directory pulumi runs in), K8S_ENDPOINT (`https://host:port`), TALOSCONFIG_DATA
# (secret), optional PROBE_TIMEOUT.
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
: "${SNAPSHOT_DIR:?SNAPSHOT_DIR is required}"

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

(umask 077 && mkdir -p -- "$SNAPSHOT_DIR")
file="$SNAPSHOT_DIR/$CLUSTER_NAME-$(date -u +%Y%m%dT%H%M%SZ)-pre-$TARGET_VERSION.db"
log "control planes to upgrade:$pending; saving an etcd snapshot from $source_name ($source_node) to $file"
if ! out=$(umask 077 && tctl -n "$source_node" etcd snapshot "$file" 2>&1); then
  fail "etcd snapshot before upgrading to $TARGET_VERSION failed (from control plane $source_name ($source_node)); no node was upgraded:" "$out"
fi
printf '%s\n' "$out"
chmod 600 "$file"
log "etcd snapshot kept at $file; restore with: talosctl -n <control plane> bootstrap --recover-from=$file"
