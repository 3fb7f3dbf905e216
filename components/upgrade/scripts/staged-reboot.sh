#!/usr/bin/env bash
# Reboots one node whose config apply was staged, so Talos applies the staged configuration, then waits until
# the node is healthy again before the rollout moves on (the next control plane goes down only after this
# one's etcd member is healthy, so etcd never misses two members).
#
# Why a reboot is needed at all: every ConfigurationApply uses applyMode staged_if_needing_reboot. The
# provider (terraform-provider-talos v0.11.0 pkg/talos/talos_machine_configuration_apply_resource.go,
# handleRebootPrevention/dryRunNeedsReboot) dry-runs the apply in AUTO mode during the plan and resolves to
# "staged" when Talos answers REBOOT, "auto" otherwise (and "auto" when it cannot ask the node). Talos writes a
# staged configuration and applies it on the next boot (talos@v1.13.9 internal/app/machined/internal/server/
# v1alpha1/v1alpha1_server.go ApplyConfiguration, case STAGED: "Staged configuration to be applied after the
# next reboot"). A change that needs no reboot resolves to "auto", is applied by the provider on every node
# at once, and this script does nothing.
#
# Environment: NODE (address), NODE_NAME, NODE_ROLE (controlplane|worker), APPLY_MODE (the apply's
# resolvedApplyMode), TARGET_VERSION (the Talos version the node runs: the rollout ran before the applies),
# CONTROL_PLANES ("name=address ..."; every other one must have a healthy etcd member before a control plane
# goes down), NODE_TIMEOUT (talosctl duration, default 30m), K8S_ENDPOINT (`https://host:port`), TALOSCONFIG_DATA
# (secret), optional PROBE_TIMEOUT/READY_TIMEOUT/POLL_INTERVAL (s).
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
if ! declare -F upgrade_lib_loaded >/dev/null; then
  # shellcheck source=versions.sh
  . "$(dirname "${BASH_SOURCE[0]}")/versions.sh"
  # shellcheck source=lib.sh
  . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
fi

: "${NODE:?NODE is required}" "${NODE_NAME:?NODE_NAME is required}" "${NODE_ROLE:?NODE_ROLE is required}"
: "${TARGET_VERSION:?TARGET_VERSION is required}"
APPLY_MODE="${APPLY_MODE:-}"
NODE_TIMEOUT="${NODE_TIMEOUT:-30m}"
who="node $NODE_NAME ($NODE)"
failed="reboot of $who to apply its staged configuration failed:"

case $APPLY_MODE in
staged) ;;
auto | "")
  log "$who: its configuration was applied without a reboot (resolvedApplyMode ${APPLY_MODE:-unknown}): nothing to do"
  exit 0
  ;;
*) fail "$failed unexpected resolvedApplyMode \"$APPLY_MODE\" (expected staged or auto; a program bug)" ;;
esac

setup_talosconfig
require_talosctl "$(minor_of "$TARGET_VERSION")"

# --drain (off by default for reboot, talos@v1.13.9 cmd/talosctl/cmd/talos/reboot.go init) cordons and evicts
# from this machine through the Kubernetes API (drainNodes), as the upgrades do: check it answers first.
if ! problem=$(kube_api_problem); then
  fail "$failed refused before touching the node: talosctl drains it from this machine through the Kubernetes API, but $problem." \
    "Run pulumi up where the cluster endpoint answers (same network, VPN, or the VIP/load balancer up), then run it again."
fi

# A control plane goes down only while every other member is healthy: with one already down (a node off for an
# unrelated reason), rebooting this one would leave etcd without quorum. The same guard Talos applies before a
# legacy upgrade (internal/pkg/etcd ValidateForUpgrade: all members healthy).
if [[ $NODE_ROLE == controlplane ]]; then
  for peer in ${CONTROL_PLANES:-}; do
    peer_name=${peer%%=*} peer_address=${peer#*=}
    [[ $peer_address != "$NODE" ]] || continue
    if ! etcd_healthy "$peer_address"; then
      fail "$failed refused before touching the node: the etcd member on control plane $peer_name ($peer_address) is not healthy, and rebooting $NODE_NAME now would leave etcd without quorum. Bring $peer_name back, then run pulumi up again; talosctl get services etcd answered:" "$LAST_ANSWER"
    fi
  done
fi

log "$who has a staged configuration that needs a reboot: draining and rebooting it"
output=$(mktemp "${TMPDIR:-/tmp}/homelab-reboot-output.XXXXXX")
# --wait is talosctl's default (reboot.go: addTrackActionFlags) and --drain forces it; spelled out so the
# intent does not depend on them. The tracker returns once the boot ID changed (action.BootIDChangedPostCheckFn);
# --progress plain: the same plain lines whether or not Pulumi gives a terminal.
if ! tctl -n "$NODE" reboot --wait --drain --timeout "$NODE_TIMEOUT" --progress plain 2>&1 | tee "$output"; then
  details=$(tail -n 40 "$output")
  rm -f -- "$output"
  fail "$failed talosctl reboot exited non-zero:" "$details"
fi
rm -f -- "$output"

log "$who: waiting for Talos $TARGET_VERSION, a Ready Kubernetes node$([[ $NODE_ROLE == controlplane ]] && printf ' and a healthy etcd member') (at most ${READY_TIMEOUT}s)"
if ! problem=$(wait_healthy "$NODE" "$TARGET_VERSION" "$NODE_ROLE"); then
  fail "$failed $problem"
fi
log "$who rebooted into its new configuration and is healthy"
