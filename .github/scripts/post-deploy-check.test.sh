#!/usr/bin/env bash
# Tests post-deploy-check.sh against stub `pulumi`, `talosctl` and `kubectl` commands: a healthy cluster
# passes; each way the outputs or the cluster can be wrong fails with a message naming it.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
check="$here/post-deploy-check.sh"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
bin="$tmp/bin"
mkdir -p "$bin"

# The stubs answer from files in $FAKE (outputs.json, nodes.json, health.rc) and log their arguments.
cat >"$bin/pulumi" <<'STUB'
#!/usr/bin/env bash
set -euo pipefail
case "$*" in
  "stack output --json --stack home") cat "$FAKE/outputs.json" ;;
  "stack output talosconfig --show-secrets --stack home") echo "context: home" ;;
  "stack output kubeconfig --show-secrets --stack home") echo "apiVersion: v1" ;;
  "config get homelab:talosVersion --stack home") echo "v1.13.9" ;;
  "config get homelab:kubernetesVersion --stack home") echo "1.36.0" ;;
  *) echo "pulumi stub: unexpected: $*" >&2; exit 2 ;;
esac
STUB
cat >"$bin/talosctl" <<'STUB'
#!/usr/bin/env bash
echo "$*" >>"$FAKE/talosctl.log"
[[ -s "$TALOSCONFIG" ]] || { echo "talosctl stub: no talosconfig" >&2; exit 2; }
exit "$(cat "$FAKE/health.rc")"
STUB
cat >"$bin/kubectl" <<'STUB'
#!/usr/bin/env bash
[[ "$*" == "get nodes -o json" && -s "$KUBECONFIG" ]] || { echo "kubectl stub: unexpected: $*" >&2; exit 2; }
cat "$FAKE/nodes.json"
STUB
chmod +x "$bin"/*

node_json() { # name ready kubeletVersion osImage
  printf '{"metadata":{"name":"%s"},"status":{"conditions":[{"type":"Ready","status":"%s"}],' "$1" "$2"
  printf '"nodeInfo":{"kubeletVersion":"%s","osImage":"%s"}}}' "$3" "$4"
}

healthy() {
  export FAKE="$tmp/fake"
  rm -rf "$FAKE" && mkdir -p "$FAKE"
  cat >"$FAKE/outputs.json" <<'JSON'
{
  "kubeconfig": "[secret]",
  "talosconfig": "[secret]",
  "endpoint": "https://10.0.0.10:6443",
  "controlPlaneAddresses": ["10.0.0.2", "10.0.0.3", "10.0.0.4"],
  "workerAddresses": ["10.0.0.5"],
  "talosVersion": "v1.13.9",
  "kubernetesVersion": "1.36.0"
}
JSON
  {
    printf '{"items":['
    node_json cp-1 True v1.36.0 "Talos (v1.13.9)"
    for n in cp-2 cp-3 worker-1; do
      printf ','
      node_json "$n" True v1.36.0 "Talos (v1.13.9)"
    done
    printf ']}'
  } >"$FAKE/nodes.json"
  echo 0 >"$FAKE/health.rc"
}

set_output() { # jq filter applied to the outputs
  jq "$1" "$FAKE/outputs.json" >"$FAKE/o.json" && mv "$FAKE/o.json" "$FAKE/outputs.json"
}
set_nodes() {
  jq "$1" "$FAKE/nodes.json" >"$FAKE/n.json" && mv "$FAKE/n.json" "$FAKE/nodes.json"
}

passed=0
failed=0
run() { PATH="$bin:$PATH" HEALTH_TIMEOUT=1s bash "$check" home >"$tmp/out" 2>&1; }
expect_pass() {
  if run; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAIL: $1: expected the check to pass" >&2
    cat "$tmp/out" >&2
  fi
}
expect_fail() { # name, message the failure must contain
  if run; then
    failed=$((failed + 1))
    echo "FAIL: $1: expected the check to fail" >&2
  elif grep -qF -- "$2" "$tmp/out"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAIL: $1: failure did not mention '$2':" >&2
    cat "$tmp/out" >&2
  fi
}

healthy
expect_pass "healthy cluster"
if grep -qF -- "--control-plane-nodes 10.0.0.2,10.0.0.3,10.0.0.4" "$FAKE/talosctl.log" &&
  grep -qF -- "--worker-nodes 10.0.0.5" "$FAKE/talosctl.log"; then
  passed=$((passed + 1))
else
  failed=$((failed + 1))
  echo "FAIL: talosctl health was not given every node: $(cat "$FAKE/talosctl.log")" >&2
fi

healthy
set_output '.workerAddresses = []'
set_nodes '.items |= .[0:3]'
expect_pass "control planes only"

healthy
set_output '.endpoint = "https://[fd00::10]:6443"'
expect_pass "IPv6 endpoint"

healthy
set_output '.kubeconfig = "apiVersion: v1"'
expect_fail "kubeconfig in plain text" "output kubeconfig must exist and be a secret"

healthy
set_output 'del(.talosconfig)'
expect_fail "no talosconfig output" "output talosconfig must exist"

healthy
set_output '.endpoint = "10.0.0.10"'
expect_fail "endpoint without scheme" "is not https://<host>:<port>"

healthy
set_output '.controlPlaneAddresses = ["10.0.0.2", "10.0.0.3"]'
set_nodes '.items |= .[1:4]'
expect_pass "even control plane count (mid-replacement)"
if grep -qF "::warning::2 control planes" "$tmp/out"; then
  passed=$((passed + 1))
else
  failed=$((failed + 1))
  echo "FAIL: an even number of control planes was not warned about" >&2
fi

healthy
set_output '.workerAddresses = ["10.0.0.2"]'
expect_fail "address listed twice" "listed twice"

healthy
set_output '.talosVersion = "v1.12.4"'
expect_fail "outputs behind the stack file" "is not the stack's v1.13.9"

healthy
echo 1 >"$FAKE/health.rc"
expect_fail "talosctl health fails" "talosctl health reports the cluster unhealthy"

healthy
set_nodes '.items[3].status.conditions[0].status = "False"'
expect_fail "worker NotReady" "nodes not Ready: worker-1"

healthy
set_nodes '.items |= .[0:3]'
expect_fail "a node missing from Kubernetes" "Kubernetes has 3 nodes, the stack has 4"

healthy
set_nodes '.items[1].status.nodeInfo.kubeletVersion = "v1.35.2"'
expect_fail "kubelet left behind" "kubelets not on v1.36.0: cp-2=v1.35.2"

healthy
set_nodes '.items[2].status.nodeInfo.osImage = "Talos (v1.12.4)"'
expect_fail "node left on the old Talos" "nodes not on Talos v1.13.9: cp-3"

echo "post-deploy-check: $passed passed, $failed failed"
((failed == 0))
