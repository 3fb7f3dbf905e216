#!/usr/bin/env bash
# Upgrades Talos on one node to TARGET_IMAGE with `talosctl upgrade`, then waits until the node is healthy
# again (Talos API answers TARGET_VERSION, its Kubernetes node is Ready, a control plane's etcd member is
# healthy). Decides from what the node reports, so the same text is right for a new cluster, a new node, a
# version bump and a resume after a failure:
#   - node in maintenance mode (booted from the ISO or reset, not configured yet): nothing to do, its config
#     apply installs the target image (machine.install.image) — probed with a reader call, see probe_node;
#   - node already on the target (TARGET_VERSION and the same schematic, or none for the plain installer; e.g.
#     upgraded by an earlier, interrupted run): only wait until it is healthy;
#   - otherwise: refuse a jump over a Talos minor; for a node talosctl upgrades through the LifecycleService
#     API (Talos 1.13+; see lifecycle_upgrade) check this machine reaches the Kubernetes API the drain needs;
#     then upgrade and wait.
# Environment: NODE (address), NODE_NAME, NODE_ROLE (controlplane|worker), TARGET_IMAGE, TARGET_VERSION
# (`v1.13.9`), NODE_TIMEOUT (talosctl duration, default 30m), K8S_ENDPOINT (`https://host:port`),
# TALOSCONFIG_DATA (secret), optional PROBE_TIMEOUT/READY_TIMEOUT/POLL_INTERVAL (s).
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
if ! declare -F upgrade_lib_loaded >/dev/null; then
  # shellcheck source=versions.sh
  . "$(dirname "${BASH_SOURCE[0]}")/versions.sh"
  # shellcheck source=lib.sh
  . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
fi

: "${NODE:?NODE is required}" "${NODE_NAME:?NODE_NAME is required}" "${NODE_ROLE:?NODE_ROLE is required}"
: "${TARGET_IMAGE:?TARGET_IMAGE is required}" "${TARGET_VERSION:?TARGET_VERSION is required}"
NODE_TIMEOUT="${NODE_TIMEOUT:-30m}"
who="node $NODE_NAME ($NODE)"
failed="upgrade of $who failed:"

setup_talosconfig
require_talosctl "$(minor_of "$TARGET_VERSION")"

status=0
probe_node "$NODE" || status=$?
if ((status == 2)); then
  if ! problem=$(maintenance_iso_problem "$NODE"); then
    fail "$failed $problem"
  fi
  log "$who is in maintenance mode (not configured yet): nothing to upgrade, its config apply installs $TARGET_IMAGE"
  exit 0
fi
if ((status != 0)); then
  fail "$failed it answers neither the cluster's talosconfig nor, in maintenance mode, without one (is it up?):" "$PROBE_OUT"
fi
running=$(server_tag "$PROBE_OUT")
if [[ -z $running ]]; then
  fail "$failed cannot read its Talos version from:" "$PROBE_OUT"
fi

status=0
at_target "$NODE" "$running" || status=$?
if ((status == 2)); then
  fail "$failed $AT_TARGET_WHY"
fi
if ((status == 1)); then
  if ! problem=$(talos_path_problem "$running" "$TARGET_VERSION"); then
    fail "$failed refused: $problem"
  fi
  if lifecycle_upgrade "$running"; then
    if ! problem=$(kube_api_problem); then
      fail "$failed refused before touching the node: talosctl upgrades a node that runs Talos $running through the LifecycleService API and drains it from this machine through the Kubernetes API, but $problem." \
        "Run pulumi up where the cluster endpoint answers (same network, VPN, or the VIP/load balancer up), then run it again."
    fi
    how="LifecycleService API, drained from here"
  else
    how="legacy upgrade API, drained by the node"
  fi
  log "$who $AT_TARGET_WHY: upgrading to $TARGET_IMAGE ($how)"
  output=$(mktemp "${TMPDIR:-/tmp}/homelab-upgrade-output.XXXXXX")
  # --wait and --drain are talosctl's defaults (upgrade.go L368, track.go L20); spelled out so the intent does
  # not depend on them. --progress plain: the same plain lines whether or not Pulumi gives a terminal
  # (pkg/reporter OutputModePlain). Progress is streamed to the user and kept for the failure message.
  if ! tctl -n "$NODE" upgrade --image "$TARGET_IMAGE" --wait --drain --timeout "$NODE_TIMEOUT" --progress plain 2>&1 | tee "$output"; then
    details=$(tail -n 40 "$output")
    rm -f -- "$output"
    fail "$failed talosctl upgrade --image $TARGET_IMAGE exited non-zero:" "$details"
  fi
  rm -f -- "$output"
else
  log "$who already runs $TARGET_IMAGE: checking it is healthy before the rollout moves on"
fi

log "$who: waiting for Talos $TARGET_VERSION, a Ready Kubernetes node$([[ $NODE_ROLE == controlplane ]] && printf ' and a healthy etcd member') (at most ${READY_TIMEOUT}s)"
if ! problem=$(wait_healthy "$NODE" "$TARGET_VERSION" "$NODE_ROLE"); then
  fail "$failed $problem"
fi
log "$who runs $TARGET_VERSION and is healthy"
