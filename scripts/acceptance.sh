#!/usr/bin/env bash
# `npm run acceptance [-- <stack>]`: checks ADR 0004's confirmation list (docs/adr/0004-talos-linux.md) against
# the real cluster of a stack (default: home), after `pulumi up`. Every check runs even when an earlier one
# failed; the summary has one line per check and the exit status is 0 only when all of them pass.
#
#   bootstrap  .github/scripts/post-deploy-check.sh: sane outputs, `talosctl health`, every node Ready on the
#              Talos and Kubernetes versions the stack asks for
#   memory     used RAM of every node (`talosctl -n <ip> memory`) under MAX_NODE_MEMORY_MIB (default 1024)
#   workload   a 2-replica Deployment + Service in namespace homelab-acceptance rolls out and answers a pod
#              through its Service name; the namespace is deleted on exit unless KEEP_WORKLOAD=1
#   upgrades   what is deployed (outputs) is what the committed stack file declares, installer image included;
#              with `bootstrap`, this proves the nodes run what git says (upgrades are declarative)
#   no-ssh     TCP port 22 (SSH_PORT) closed on every node
#   git        Pulumi.<stack>.yaml is tracked by git and has no uncommitted change
#
# Exit status: 0 all passed, 1 a check failed or the outputs cannot be read, 2 a tool is missing or a setting
# is invalid. Prints no secret: the kubeconfig and talosconfig go to a private temporary directory (0700, files
# 0600) that is removed on exit, and reach the tools through KUBECONFIG / TALOSCONFIG.
#
# Settings (environment): ACCEPTANCE_IMAGE (an agnhost image: the workload serves with `netexec`, the client
# dials with `connect`), MAX_NODE_MEMORY_MIB, SSH_PORT, SSH_TIMEOUT (seconds), ROLLOUT_TIMEOUT,
# CLIENT_TIMEOUT, TALOSCTL_TIMEOUT (durations such as 90s or 3m), HEALTH_TIMEOUT (for the post-deploy check),
# KEEP_WORKLOAD=1, POST_DEPLOY_CHECK (path of the post-deploy check), ACCEPTANCE_REPO (the git work tree that
# holds the stack file; default: the one around the current directory).
set -euo pipefail
umask 077

stack="${1:-home}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
namespace="homelab-acceptance"
image="${ACCEPTANCE_IMAGE:-registry.k8s.io/e2e-test-images/agnhost:2.53}"
max_mib="${MAX_NODE_MEMORY_MIB:-1024}"
ssh_port="${SSH_PORT:-22}"
ssh_timeout="${SSH_TIMEOUT:-3}"
rollout_timeout="${ROLLOUT_TIMEOUT:-180s}"
client_timeout="${CLIENT_TIMEOUT:-120s}"
talosctl_timeout="${TALOSCTL_TIMEOUT:-60s}"
post_deploy_check="${POST_DEPLOY_CHECK:-$here/../.github/scripts/post-deploy-check.sh}"

# --- preconditions ------------------------------------------------------------------------------------------
install_hint() {
  case "$1" in
  pulumi) echo "install the Pulumi CLI: https://www.pulumi.com/docs/install/ (curl -fsSL https://get.pulumi.com | sh)" ;;
  talosctl) echo "install talosctl, the same minor as homelab:talosVersion: https://www.talos.dev/latest/talos-guides/install/talosctl/ (curl -sL https://talos.dev/install | sh)" ;;
  kubectl) echo "install kubectl, within one minor of homelab:kubernetesVersion: https://kubernetes.io/docs/tasks/tools/" ;;
  jq) echo "install jq: apt-get install jq | dnf install jq | brew install jq" ;;
  timeout) echo "install GNU coreutils (timeout): apt-get install coreutils | brew install coreutils" ;;
  esac
}
missing=0
for tool in pulumi talosctl kubectl jq timeout; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "missing tool: $tool — $(install_hint "$tool")" >&2
    missing=1
  fi
done
if ((missing)); then
  echo "ADR 0004 acceptance: cannot run without the tools above" >&2
  exit 2
fi
for setting in MAX_NODE_MEMORY_MIB="$max_mib" SSH_PORT="$ssh_port" SSH_TIMEOUT="$ssh_timeout"; do
  if [[ ! "${setting#*=}" =~ ^[1-9][0-9]*$ ]]; then
    echo "${setting%%=*} must be a positive whole number, got '${setting#*=}'" >&2
    exit 2
  fi
done

if [[ -n "${ACCEPTANCE_REPO:-}" ]]; then
  repo="$ACCEPTANCE_REPO"
elif ! repo="$(git rev-parse --show-toplevel 2>/dev/null)"; then
  repo="$(cd "$here/.." && pwd)"
fi
cd "$repo"
stack_file="Pulumi.$stack.yaml"

# --- credentials --------------------------------------------------------------------------------------------
workdir="$(mktemp -d "${TMPDIR:-/tmp}/homelab-acceptance.XXXXXX")"
chmod 700 "$workdir"
workload_created=0
cleanup() {
  local status=$?
  if ((workload_created)); then
    if [[ "${KEEP_WORKLOAD:-}" == 1 ]]; then
      echo "KEEP_WORKLOAD=1: namespace $namespace kept (remove it with: kubectl delete namespace $namespace)"
    elif kubectl delete namespace "$namespace" --ignore-not-found --wait=false >/dev/null 2>&1; then
      echo "namespace $namespace deleted"
    else
      echo "WARNING: could not delete namespace $namespace: kubectl delete namespace $namespace" >&2
    fi
  fi
  rm -rf "$workdir"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

outputs="$workdir/outputs.json"
if ! pulumi stack output --json --show-secrets --stack "$stack" >"$outputs"; then
  echo "ADR 0004 acceptance: cannot read the outputs of stack $stack (logged in to its backend? has 'pulumi up' run?)" >&2
  exit 1
fi
if ! jq -e '(.kubeconfig | type == "string") and (.talosconfig | type == "string")
    and (.controlPlaneAddresses | type == "array" and length > 0)
    and (.workerAddresses // [] | type == "array")' "$outputs" >/dev/null 2>&1; then
  echo "ADR 0004 acceptance: stack $stack has no kubeconfig, talosconfig and controlPlaneAddresses outputs (has 'pulumi up' completed?)" >&2
  exit 1
fi
jq -r '.kubeconfig' "$outputs" >"$workdir/kubeconfig"
jq -r '.talosconfig' "$outputs" >"$workdir/talosconfig"
chmod 600 "$workdir/kubeconfig" "$workdir/talosconfig"
export KUBECONFIG="$workdir/kubeconfig" TALOSCONFIG="$workdir/talosconfig"

out() { jq -r --arg k "$1" '.[$k] // empty | tostring' "$outputs"; }
# "address role" per node, control planes first.
nodes=()
while IFS= read -r line; do
  nodes+=("$line")
done < <(jq -r '(.controlPlaneAddresses[] | "\(.) controlplane"), ((.workerAddresses // [])[] | "\(.) worker")' "$outputs")

# --- reporting ----------------------------------------------------------------------------------------------
check_names=()
check_states=()
check_details=()
record() { # name ok|FAIL detail
  check_names+=("$1")
  check_states+=("$2")
  check_details+=("$3")
  printf '%s: %s — %s\n' "$2" "$1" "$3"
}
section() { printf '\n=== %s\n' "$*"; }
join() { # items... → "a; b; c"
  local out="" item
  for item in "$@"; do out+="${out:+; }$item"; done
  printf '%s' "$out"
}

# --- 1. bootstrap, health, running versions (the deploy workflow's own check) ------------------------------
section "1/6 bootstrap: the cluster is bootstrapped, healthy, on the declared versions ($(basename "$post_deploy_check"))"
bootstrap_ok=0
bootstrap_failure=""
if [[ ! -f "$post_deploy_check" ]]; then
  bootstrap_failure="post-deploy check not found at $post_deploy_check"
elif bash "$post_deploy_check" "$stack" 2>&1 | tee "$workdir/post-deploy.log"; then
  bootstrap_ok=1
else
  bootstrap_failure="$(sed -n 's/^post-deploy check FAILED: //p' "$workdir/post-deploy.log" | tail -n 1)"
  bootstrap_failure="${bootstrap_failure:-post-deploy check failed (output above)}"
fi
if ((bootstrap_ok)); then
  record bootstrap ok "outputs sane, talosctl health passed, ${#nodes[@]} node(s) Ready on the declared versions"
else
  record bootstrap FAIL "$bootstrap_failure"
fi

# --- 2. memory --------------------------------------------------------------------------------------------
# `talosctl memory` (cmd/talosctl/cmd/talos/memory.go in siderolabs/talos) prints one tab-aligned table,
#   NODE TOTAL USED FREE SHARED BUFFERS CACHE AVAILABLE
# with values in MiB (kB from /proc/meminfo divided by 1024) and USED = MemTotal - MemFree - Buffers - Cached. It is all
# the memory the node holds that the kernel cannot simply drop: the kernel itself, Talos's services (machined,
# apid, trustd, containerd, udevd), kubelet and, on a control plane, etcd and the control-plane pods, plus the
# CNI, CoreDNS and any pod scheduled there. It runs before the test workload, so that one is not counted.
section "2/6 memory: used RAM per node < $max_mib MiB (talosctl memory)"
memory_fail=()
memory_max=0
memory_table="$(printf '%-40s %-13s %10s %10s\n' NODE ROLE "USED MiB" "TOTAL MiB")"
for entry in "${nodes[@]}"; do
  ip="${entry% *}"
  role="${entry##* }"
  used="" total="" reason=""
  rc=0
  mem="$(timeout "$talosctl_timeout" talosctl -n "$ip" memory 2>"$workdir/talosctl.err")" || rc=$?
  if ((rc == 0)); then
    # Columns by header name, first data row: the command targets one node.
    read -r used total < <(awk '
      NR == 1 { for (i = 1; i <= NF; i++) { if ($i == "USED") u = i; if ($i == "TOTAL") t = i }; next }
      u && t && NF >= u && NF >= t { print $u, $t; exit }' <<<"$mem") || true
    reason="talosctl memory printed no NODE/TOTAL/USED table"
  elif ((rc == 124)); then
    reason="no answer within $talosctl_timeout"
  else
    reason="$(head -c 200 "$workdir/talosctl.err" | tr -s '\n' ' ' || true)"
    reason="${reason% }"
  fi
  if [[ ! "$used" =~ ^[0-9]+$ || ! "$total" =~ ^[0-9]+$ ]]; then
    memory_table+=$'\n'"$(printf '%-40s %-13s %10s %10s' "$ip" "$role" "?" "?")"
    memory_fail+=("$ip: no reading (${reason:-talosctl memory failed})")
    continue
  fi
  memory_table+=$'\n'"$(printf '%-40s %-13s %10s %10s' "$ip" "$role" "$used" "$total")"
  if ((used > memory_max)); then memory_max=$used; fi
  if ((used >= max_mib)); then
    memory_fail+=("$ip ($role) uses $used MiB")
  fi
done
echo "$memory_table"
if ((${#memory_fail[@]} == 0)); then
  record memory ok "every node under $max_mib MiB used (highest: $memory_max MiB)"
else
  record memory FAIL "limit $max_mib MiB: $(join "${memory_fail[@]}")"
fi

# --- 3. test workload -------------------------------------------------------------------------------------
section "3/6 workload: a Deployment rolls out and its Service answers a pod (namespace $namespace, $image)"
workload_manifest() {
  cat <<YAML
apiVersion: v1
kind: Namespace
metadata:
  name: $namespace
  labels:
    app.kubernetes.io/part-of: homelab-acceptance
    pod-security.kubernetes.io/enforce: restricted
    pod-security.kubernetes.io/enforce-version: latest
    pod-security.kubernetes.io/warn: restricted
    pod-security.kubernetes.io/audit: restricted
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: acceptance-web
  namespace: $namespace
spec:
  replicas: 2
  selector:
    matchLabels: {app: acceptance-web}
  template:
    metadata:
      labels: {app: acceptance-web}
    spec:
      automountServiceAccountToken: false
      securityContext:
        runAsNonRoot: true
        runAsUser: 65534
        runAsGroup: 65534
        seccompProfile: {type: RuntimeDefault}
      topologySpreadConstraints:
        - maxSkew: 1
          topologyKey: kubernetes.io/hostname
          whenUnsatisfiable: ScheduleAnyway
          labelSelector:
            matchLabels: {app: acceptance-web}
      containers:
        - name: web
          image: "$image"
          args: ["netexec", "--http-port=8080"]
          ports:
            - containerPort: 8080
          readinessProbe:
            tcpSocket: {port: 8080}
            periodSeconds: 2
          resources:
            requests: {cpu: 10m, memory: 16Mi}
            limits: {memory: 64Mi}
          securityContext:
            allowPrivilegeEscalation: false
            capabilities: {drop: [ALL]}
---
apiVersion: v1
kind: Service
metadata:
  name: acceptance-web
  namespace: $namespace
spec:
  selector: {app: acceptance-web}
  ports:
    - port: 80
      targetPort: 8080
YAML
}
# The client pod must satisfy the restricted Pod Security level too; strategic merge keeps kubectl run's container.
client_overrides='{"spec":{"automountServiceAccountToken":false,"securityContext":{"runAsNonRoot":true,
"runAsUser":65534,"runAsGroup":65534,"seccompProfile":{"type":"RuntimeDefault"}},"containers":[{"name":
"acceptance-client","securityContext":{"allowPrivilegeEscalation":false,"capabilities":{"drop":["ALL"]}}}]}}'
workload_detail=""
run_workload() {
  if ! kubectl delete namespace "$namespace" --ignore-not-found --wait=true --timeout="$rollout_timeout" >/dev/null; then
    workload_detail="a previous $namespace namespace could not be removed"
    return 1
  fi
  workload_created=1
  if ! workload_manifest | kubectl apply -f -; then
    workload_detail="kubectl apply of the test Deployment and Service failed"
    return 1
  fi
  if ! kubectl -n "$namespace" rollout status deployment/acceptance-web --timeout="$rollout_timeout"; then
    kubectl -n "$namespace" get pods -o wide || true
    workload_detail="deployment/acceptance-web did not roll out within $rollout_timeout (pods above; image pull? scheduling?)"
    return 1
  fi
  # TCP through the Service's DNS name: CoreDNS, the Service VIP (kube-proxy or the CNI) and the pod network.
  if ! timeout "$client_timeout" kubectl -n "$namespace" run acceptance-client --image="$image" --restart=Never \
    --rm -i --quiet --pod-running-timeout="$client_timeout" --override-type=strategic --overrides="$client_overrides" \
    --command -- /agnhost connect "acceptance-web.$namespace.svc:80" --timeout=5s --protocol=tcp </dev/null; then
    workload_detail="a pod could not connect to Service acceptance-web.$namespace.svc:80"
    return 1
  fi
  workload_detail="2/2 replicas ready; a pod reached them through Service acceptance-web.$namespace.svc:80"
}
if run_workload; then
  record workload ok "$workload_detail"
else
  record workload FAIL "$workload_detail"
fi

# --- 4. declarative upgrades ------------------------------------------------------------------------------
# The versions come from the committed stack file (HEAD), not the working tree: what git says is what runs.
section "4/6 upgrades: the deployed versions are the ones committed in $stack_file"
committed_setting() { # key → its value in the committed stack file, else the default in the committed Pulumi.yaml
  local committed value
  committed="$(git show "HEAD:$stack_file" 2>/dev/null)" || return 0
  value="$(sed -n "s/^[[:space:]]*homelab:$1:[[:space:]]*//p" <<<"$committed" | head -n 1)"
  if [[ -z "$value" ]]; then
    value="$(git show HEAD:Pulumi.yaml 2>/dev/null | awk -v key="$1" '
      $0 ~ "^  " key ":" { inside = 1; next }
      inside && /^  [^ ]/ { inside = 0 }
      inside && $1 == "default:" { print $2; exit }')"
  fi
  value="${value%%#*}"
  value="${value%"${value##*[![:space:]]}"}"
  value="${value#[\"\']}"
  value="${value%[\"\']}"
  printf '%s' "$value"
}
upgrade_problems=()
want_talos="$(committed_setting talosVersion)"
want_k8s="$(committed_setting kubernetesVersion)"
have_talos="$(out talosVersion)"
have_k8s="$(out kubernetesVersion)"
installer="$(out installerImage)"
if [[ -z "$want_talos" || -z "$want_k8s" ]]; then
  upgrade_problems+=("no committed $stack_file (with Pulumi.yaml) declares the versions")
else
  [[ "v${have_talos#v}" == "v${want_talos#v}" ]] ||
    upgrade_problems+=("talosVersion output '$have_talos', committed $want_talos")
  [[ "${have_k8s#v}" == "${want_k8s#v}" ]] ||
    upgrade_problems+=("kubernetesVersion output '$have_k8s', committed $want_k8s")
  if [[ -n "$installer" && "$installer" != *":v${want_talos#v}" && "$installer" != *":v${want_talos#v}@"* ]]; then
    upgrade_problems+=("installerImage $installer is not tagged v${want_talos#v}")
  fi
fi
if ((bootstrap_ok == 0)); then
  upgrade_problems+=("the nodes' running versions are unverified: the bootstrap check failed")
fi
if ((${#upgrade_problems[@]} == 0)); then
  record upgrades ok "committed Talos $want_talos / Kubernetes $want_k8s = deployed outputs${installer:+ and installer tag} = what the nodes run"
else
  record upgrades FAIL "$(join "${upgrade_problems[@]}")"
fi

# --- 5. no SSH --------------------------------------------------------------------------------------------
section "5/6 no-ssh: TCP port $ssh_port closed on every node"
echo "Talos ships no shell and no SSH daemon by design: nodes are managed only through the API (talosctl)."
echo "This check is about the network surface: nothing on a node may accept connections on port $ssh_port."
ssh_open=()
for entry in "${nodes[@]}"; do
  ip="${entry% *}"
  # shellcheck disable=SC2016 # $1 and $2 expand in the child bash, from the arguments after `_`.
  if timeout "$ssh_timeout" bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$ip" "$ssh_port" 2>/dev/null; then
    echo "  $ip: port $ssh_port OPEN"
    ssh_open+=("$ip")
  else
    echo "  $ip: port $ssh_port closed"
  fi
done
if ((${#ssh_open[@]} == 0)); then
  record no-ssh ok "port $ssh_port closed on all ${#nodes[@]} node(s)"
else
  record no-ssh FAIL "port $ssh_port open on ${ssh_open[*]}"
fi

# --- 6. configs in git ------------------------------------------------------------------------------------
section "6/6 git: $stack_file is committed"
if ! command -v git >/dev/null 2>&1; then
  record git FAIL "git is not installed"
elif ! git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  record git FAIL "$repo is not a git work tree"
elif ! git ls-files --error-unmatch -- "$stack_file" >/dev/null 2>&1; then
  record git FAIL "$stack_file is not tracked by git: git add $stack_file && git commit"
elif ! git diff --quiet HEAD -- "$stack_file"; then
  record git FAIL "$stack_file has uncommitted changes: commit them, then pulumi up, so the cluster matches git"
else
  record git ok "$stack_file tracked, no uncommitted change (commit $(git rev-parse --short HEAD))"
fi

# --- summary ----------------------------------------------------------------------------------------------
passed=0
printf '\nADR 0004 acceptance, stack %s:\n' "$stack"
for i in "${!check_names[@]}"; do
  [[ "${check_states[i]}" == ok ]] && passed=$((passed + 1))
  printf '  %-4s  %-9s  %s\n' "${check_states[i]}" "${check_names[i]}" "${check_details[i]}"
done
echo "ADR 0004 acceptance: $passed/${#check_names[@]} checks passed"
((passed == ${#check_names[@]}))
