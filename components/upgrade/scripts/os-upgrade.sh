#!/usr/bin/env bash
# Upgrades Talos on one node to TARGET_IMAGE with `talosctl upgrade`, then waits until the node is healthy
# again (Talos API answers TARGET_VERSION, its Kubernetes node is Ready). Decides from what the node reports,
# so the same text is right for a new cluster, a version bump and a resume after a failure:
#   - node in maintenance mode (booted from the ISO, not configured yet): nothing to do, its config apply
#     installs the target image;
#   - node already on the target (TARGET_VERSION and, for a factory image, its schematic; e.g. upgraded by an
#     earlier, interrupted run): only wait until it is healthy;
#   - otherwise: refuse a jump over a Talos minor, else upgrade and wait.
# Environment: NODE (address), NODE_NAME, TARGET_IMAGE, TARGET_VERSION (`v1.13.9`), NODE_TIMEOUT (talosctl
# duration, default 30m), TALOSCONFIG_DATA (secret), optional PROBE_TIMEOUT/READY_TIMEOUT/POLL_INTERVAL (s).
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
if ! declare -F upgrade_lib_loaded >/dev/null; then
  # shellcheck source=lib.sh
  . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
fi

: "${NODE:?NODE is required}" "${NODE_NAME:?NODE_NAME is required}"
: "${TARGET_IMAGE:?TARGET_IMAGE is required}" "${TARGET_VERSION:?TARGET_VERSION is required}"
NODE_TIMEOUT="${NODE_TIMEOUT:-30m}"
who="node $NODE_NAME ($NODE)"
failed="upgrade of $who failed:"

setup_talosconfig
require_talosctl "$(minor_of "$TARGET_VERSION")"

status=0
probe_node "$NODE" || status=$?
if ((status == 2)); then
  log "$who is in maintenance mode (not configured yet): nothing to upgrade, its config apply installs $TARGET_IMAGE"
  exit 0
fi
if ((status != 0)); then
  fail "$failed it does not answer the Talos API with the cluster's talosconfig (is it up?):" "$PROBE_OUT"
fi
running=$(server_tag "$PROBE_OUT")
if [[ -z $running ]]; then
  fail "$failed cannot read its Talos version from:" "$PROBE_OUT"
fi

if ! at_target "$NODE" "$running"; then
  if ! problem=$(talos_path_problem "$running" "$TARGET_VERSION"); then
    fail "$failed refused: $problem"
  fi
  log "$who $AT_TARGET_WHY: upgrading to $TARGET_IMAGE"
  output=$(mktemp "${TMPDIR:-/tmp}/homelab-upgrade-output.XXXXXX")
  # Stream talosctl's progress to the user and keep it for the failure message.
  if ! tctl -n "$NODE" upgrade --image "$TARGET_IMAGE" --wait --timeout "$NODE_TIMEOUT" 2>&1 | tee "$output"; then
    details=$(tail -n 40 "$output")
    rm -f -- "$output"
    fail "$failed talosctl upgrade --image $TARGET_IMAGE exited non-zero:" "$details"
  fi
  rm -f -- "$output"
else
  log "$who already runs $TARGET_IMAGE: checking it is healthy before the rollout moves on"
fi

log "$who: waiting for Talos $TARGET_VERSION and a Ready Kubernetes node (at most ${READY_TIMEOUT}s)"
if ! problem=$(wait_healthy "$NODE" "$TARGET_VERSION"); then
  fail "$failed $problem"
fi
log "$who runs $TARGET_VERSION and is Ready"
