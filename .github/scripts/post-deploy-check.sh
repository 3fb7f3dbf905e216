#!/usr/bin/env bash
# Post-deploy check for a stack (default: home), run by the deploy workflow right after `pulumi up`:
#   1. the outputs are sane: credentials are secrets, the endpoint and addresses look right, the reported
#      versions are the ones the stack file asks for;
#   2. the cluster is healthy: `talosctl health`, every node Ready, on the asked-for Talos and Kubernetes.
# Needs pulumi (logged in to the stack's backend), jq, talosctl and kubectl on PATH. Prints no secret: the
# kubeconfig and talosconfig go to a private temporary directory that is removed on exit.
set -euo pipefail

stack="${1:-home}"
health_timeout="${HEALTH_TIMEOUT:-10m}"

fail() {
  echo "post-deploy check FAILED: $*" >&2
  exit 1
}
ok() { echo "ok: $*"; }

workdir="$(mktemp -d)"
chmod 700 "$workdir"
trap 'rm -rf "$workdir"' EXIT

# --- 1. outputs --------------------------------------------------------------------------------------------
# Without --show-secrets, a secret output prints as "[secret]"; anything else means the credential is stored
# in plain text in the state.
outputs="$(pulumi stack output --json --stack "$stack")"
out() { jq -r --arg k "$1" '.[$k] // empty | if type == "array" then join(",") else tostring end' <<<"$outputs"; }

for key in kubeconfig talosconfig; do
  [[ "$(jq -r --arg k "$key" '.[$k] // "(missing)"' <<<"$outputs")" == "[secret]" ]] ||
    fail "output $key must exist and be a secret"
done
ok "kubeconfig and talosconfig are secret outputs"

endpoint="$(out endpoint)"
endpoint_re='^https://(\[[0-9A-Fa-f:]+\]|[A-Za-z0-9.-]+):[0-9]+/?$'
[[ "$endpoint" =~ $endpoint_re ]] ||
  fail "endpoint '$endpoint' is not https://<host>:<port>"
ok "endpoint $endpoint"

jq -e '(.controlPlaneAddresses | type == "array") and (.workerAddresses // [] | type == "array")' \
  <<<"$outputs" >/dev/null || fail "controlPlaneAddresses and workerAddresses must be lists"
cp_count="$(jq '.controlPlaneAddresses | length' <<<"$outputs")"
worker_count="$(jq '.workerAddresses // [] | length' <<<"$outputs")"
((cp_count >= 1)) || fail "no control plane address"
if ((cp_count % 2 == 0)); then
  # Legitimate for the length of a control plane replacement (add the new one, then remove the old one).
  echo "::warning::$cp_count control planes: etcd tolerates no more failures than with $((cp_count - 1)); use an odd number"
fi
jq -e '(.controlPlaneAddresses + (.workerAddresses // [])) | length == (unique | length)' <<<"$outputs" \
  >/dev/null || fail "a node address is listed twice"
ok "$cp_count control plane(s), $worker_count worker(s)"

want_talos="$(pulumi config get homelab:talosVersion --stack "$stack")"
want_k8s="$(pulumi config get homelab:kubernetesVersion --stack "$stack")"
[[ "$(out talosVersion)" == "$want_talos" ]] ||
  fail "talosVersion output '$(out talosVersion)' is not the stack's $want_talos"
[[ "$(out kubernetesVersion)" == "$want_k8s" ]] ||
  fail "kubernetesVersion output '$(out kubernetesVersion)' is not the stack's $want_k8s"
ok "outputs report Talos $want_talos, Kubernetes $want_k8s"

# --- 2. cluster health ---------------------------------------------------------------------------------------
pulumi stack output talosconfig --show-secrets --stack "$stack" >"$workdir/talosconfig"
pulumi stack output kubeconfig --show-secrets --stack "$stack" >"$workdir/kubeconfig"
export TALOSCONFIG="$workdir/talosconfig" KUBECONFIG="$workdir/kubeconfig"

control_planes="$(out controlPlaneAddresses)"
workers="$(out workerAddresses)"
first_cp="${control_planes%%,*}"
health_args=(--nodes "$first_cp" --control-plane-nodes "$control_planes" --wait-timeout "$health_timeout")
if [[ -n "$workers" ]]; then
  health_args+=(--worker-nodes "$workers")
fi
talosctl health "${health_args[@]}" || fail "talosctl health reports the cluster unhealthy"
ok "talosctl health"

nodes="$(kubectl get nodes -o json)"
total=$((cp_count + worker_count))
[[ "$(jq '.items | length' <<<"$nodes")" == "$total" ]] ||
  fail "Kubernetes has $(jq '.items | length' <<<"$nodes") nodes, the stack has $total"
not_ready="$(jq -r '.items[] | select(any(.status.conditions[]; .type == "Ready" and .status == "True") | not)
  | .metadata.name' <<<"$nodes")"
[[ -z "$not_ready" ]] || fail "nodes not Ready: $not_ready"
wrong_k8s="$(jq -r --arg v "v${want_k8s#v}" '.items[] | select(.status.nodeInfo.kubeletVersion != $v)
  | "\(.metadata.name)=\(.status.nodeInfo.kubeletVersion)"' <<<"$nodes")"
[[ -z "$wrong_k8s" ]] || fail "kubelets not on v${want_k8s#v}: $wrong_k8s"
wrong_talos="$(jq -r --arg v "Talos ($want_talos)" '.items[] | select(.status.nodeInfo.osImage != $v)
  | "\(.metadata.name)=\(.status.nodeInfo.osImage)"' <<<"$nodes")"
[[ -z "$wrong_talos" ]] || fail "nodes not on Talos $want_talos: $wrong_talos"
ok "$total nodes Ready on Talos $want_talos, Kubernetes v${want_k8s#v}"

echo "post-deploy check passed for stack $stack"
