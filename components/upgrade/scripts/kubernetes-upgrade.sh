#!/usr/bin/env bash
# Upgrades Kubernetes with `talosctl upgrade-k8s --to TARGET_K8S_VERSION` through one control plane (the
# documented procedure: the command upgrades every node's components and kubelet), once, after the OS rollout.
#   - control plane in maintenance mode (new cluster): nothing to do, bootstrap installs TARGET_K8S_VERSION;
#   - cluster already at TARGET_K8S_VERSION (as upgrade-k8s detects it): nothing to do;
#   - otherwise: refuse a jump of more than one minor, and whatever else talosctl's own dry run refuses (its
#     path table ends at the newest Kubernetes the client knows: go-kubernetes upgrade/path.go IsSupported),
#     else upgrade.
# upgrade-k8s reads and patches the cluster through the Kubernetes API from this machine (talos@v1.13.9
# pkg/cluster/kubernetes: DetectLowestVersion, Upgrade; KubernetesClient with the kubeconfig Talos serves), so
# that is checked first, with a clear error.
# Environment: CONTROL_PLANE (address), CONTROL_PLANE_NAME, TARGET_K8S_VERSION (`1.36.0`), TALOS_VERSION
# (`v1.13.9`, what the cluster runs after the OS rollout; talosctl must match its minor), K8S_ENDPOINT
# (`https://host:port`), TALOSCONFIG_DATA (secret), optional PROBE_TIMEOUT (s).
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
if ! declare -F upgrade_lib_loaded >/dev/null; then
  # shellcheck source=versions.sh
  . "$(dirname "${BASH_SOURCE[0]}")/versions.sh"
  # shellcheck source=lib.sh
  . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
fi

: "${CONTROL_PLANE:?CONTROL_PLANE is required}" "${CONTROL_PLANE_NAME:?CONTROL_PLANE_NAME is required}"
: "${TARGET_K8S_VERSION:?TARGET_K8S_VERSION is required}" "${TALOS_VERSION:?TALOS_VERSION is required}"
target=${TARGET_K8S_VERSION#v}
via="control plane $CONTROL_PLANE_NAME ($CONTROL_PLANE)"
failed="upgrade of Kubernetes to $target through $via failed:"

setup_talosconfig
require_talosctl "$(minor_of "$TALOS_VERSION")"

status=0
probe_node "$CONTROL_PLANE" || status=$?
if ((status == 2)); then
  log "$via is in maintenance mode (new cluster): nothing to upgrade, bootstrap installs Kubernetes $target"
  exit 0
fi
if ((status != 0)); then
  fail "$failed it answers neither the cluster's talosconfig nor, in maintenance mode, without one (is it up?):" "$PROBE_OUT"
fi
if ! problem=$(kube_api_problem); then
  fail "$failed talosctl upgrade-k8s works through the Kubernetes API from this machine, but $problem." \
    "Run pulumi up where the cluster endpoint answers (same network, VPN, or the VIP/load balancer up), then run it again."
fi

# upgrade-k8s reports the lowest version running in the cluster first ("automatically detected the lowest
# Kubernetes version X", upgrade-k8s.go upgradeKubernetes), also when it then refuses the path; the dry run
# changes nothing (--dry-run; --pre-pull-images=false keeps it from pulling images on every node).
dry=0
plan=$(tctl -n "$CONTROL_PLANE" upgrade-k8s --to "$target" --dry-run --pre-pull-images=false 2>&1) || dry=$?
current=$(awk 'match($0, /automatically detected the lowest Kubernetes version v?[0-9][0-9.]*/) {
  found = substr($0, RSTART, RLENGTH); sub(/.* v?/, "", found); print found; exit }' <<<"$plan")
if [[ -z $current ]]; then
  fail "$failed cannot tell which Kubernetes version the cluster runs from the dry run:" "$plan"
fi
if [[ $current == "$target" ]]; then
  log "the cluster already runs Kubernetes $target: nothing to upgrade"
  exit 0
fi
if ! problem=$(k8s_path_problem "$current" "$target"); then
  fail "$failed refused: $problem"
fi
if ((dry != 0)); then
  fail "$failed talosctl upgrade-k8s --dry-run refused Kubernetes $current -> $target:" "$plan"
fi

log "upgrading Kubernetes $current -> $target through $via"
output=$(mktemp "${TMPDIR:-/tmp}/homelab-upgrade-output.XXXXXX")
if ! tctl -n "$CONTROL_PLANE" upgrade-k8s --to "$target" 2>&1 | tee "$output"; then
  details=$(tail -n 40 "$output")
  rm -f -- "$output"
  fail "$failed talosctl upgrade-k8s exited non-zero (it is safe to run again: pulumi up retries it):" "$details"
fi
rm -f -- "$output"
log "Kubernetes $target is rolled out"
