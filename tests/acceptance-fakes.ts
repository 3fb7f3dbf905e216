/**
 * The stand-ins tests/acceptance.test.ts puts on the PATH of scripts/acceptance.sh: fake `pulumi`, `talosctl`,
 * `kubectl` and `timeout`, and a stub of the post-deploy check. They answer at once from files in $FAKE, log
 * their calls there, and refuse to work unless KUBECONFIG / TALOSCONFIG name a private file (0600 in a 0700
 * dir) that holds the stack's credentials. Every other tool on that PATH is the real one (SYSTEM_TOOLS).
 */
import { execFileSync } from "node:child_process";

/** Markers nobody could mistake for other output: they must never reach stdout or stderr. */
export const KUBE_SECRET = "KUBE-SECRET-7f3a9c0ffee";
export const TALOS_SECRET = "TALOS-SECRET-b41e2d0ffee";

/**
 * System tools the script and the fakes may use; the PATH holds nothing else, so no real pulumi/kubectl leaks in.
 * `timeout` is not among them: a fake stands in for it (FAKE_TIMEOUT).
 */
export const SYSTEM_TOOLS = [
  "bash",
  "jq",
  "git",
  "awk",
  "sed",
  "grep",
  "mktemp",
  "chmod",
  "rm",
  "cat",
  "head",
  "tail",
  "tr",
  "tee",
  "basename",
  "dirname",
  "stat",
  "env",
  "mkdir",
];
/** Their real paths, looked up once (one process instead of one per tool and test). */
export const SYSTEM_TOOL_PATHS = execFileSync("bash", [
  "-c",
  'for t; do command -v "$t"; done',
  "_",
  ...SYSTEM_TOOLS,
])
  .toString()
  .trim()
  .split("\n");
/** The fakes start the real bash directly: `#!/usr/bin/env bash` would cost one more exec on every call. */
const SHEBANG = `#!${SYSTEM_TOOL_PATHS[SYSTEM_TOOLS.indexOf("bash")]}`;

export const FAKE_PULUMI = `${SHEBANG}
set -euo pipefail
printf '%s\\n' "$*" >>"$FAKE/pulumi.log"
if [[ -f "$FAKE/pulumi.fail" ]]; then echo "error: no stack named 'home' found" >&2; exit 255; fi
# Like the real CLI, config comes from Pulumi.<stack>.yaml in the current directory (the project).
config() { sed -n "s/^[[:space:]]*homelab:$1:[[:space:]]*//p" "$PWD/Pulumi.home.yaml" | head -n 1; }
case "$*" in
"stack output --json --show-secrets --stack home") cat "$FAKE/outputs.json" ;;
"stack output --json --stack home") jq '.kubeconfig = "[secret]" | .talosconfig = "[secret]"' "$FAKE/outputs.json" ;;
"stack output talosconfig --show-secrets --stack home") jq -r .talosconfig "$FAKE/outputs.json" ;;
"stack output kubeconfig --show-secrets --stack home") jq -r .kubeconfig "$FAKE/outputs.json" ;;
"config get homelab:talosVersion --stack home") config talosVersion ;;
"config get homelab:kubernetesVersion --stack home") config kubernetesVersion ;;
*) echo "fake pulumi: unexpected: $*" >&2; exit 2 ;;
esac
`;

/**
 * Shared by the talosctl and kubectl fakes: the credentials file must be private (0600 in a 0700 dir) and hold
 * the stack's secret. One `stat` for both modes, the rest in bash builtins: these run on every fake call.
 */
const CHECK_CREDENTIALS = `
check_credentials() { # file marker
  local modes content
  printf '%s\\n' "$1" >>"$FAKE/credential-paths.log"
  [[ -f "$1" ]] || { echo "fake: credentials file '$1' missing" >&2; exit 3; }
  modes="$(stat -c %a "$1" "\${1%/*}")"
  [[ "$modes" == $'600\\n700' ]] || { echo "fake: $1 is not 0600 in a 0700 directory" >&2; exit 3; }
  IFS= read -r -d '' content <"$1" || true
  [[ "$content" == *"$2"* ]] || { echo "fake: $1 does not hold the cluster's credentials" >&2; exit 3; }
}
`;

export const FAKE_TALOSCTL = `${SHEBANG}
set -euo pipefail
printf '%s\\n' "$*" >>"$FAKE/talosctl.log"
${CHECK_CREDENTIALS}
check_credentials "\${TALOSCONFIG:-}" ${TALOS_SECRET}
node="" args=()
while (($#)); do
  case $1 in
  -n | --nodes) node=$2; shift 2 ;;
  *) args+=("$1"); shift ;;
  esac
done
case "\${args[0]}" in
health) read -r rc <"$FAKE/health.rc"; exit "$rc" ;;
memory)
  # A node without a file does not answer.
  [[ -f "$FAKE/memory/$node" ]] || { echo "error: rpc error: code = Unavailable desc = dial tcp $node:50000: connect: connection refused" >&2; exit 1; }
  # "HANG": like a node that drops packets, talosctl would wait forever. Under the fake \`timeout\` the deadline
  # passes at once; a call nothing bounds fails loudly here instead of hanging the test.
  read -r first <"$FAKE/memory/$node" || true
  if [[ "$first" == HANG ]]; then
    if [[ -n "\${FAKE_TIMEOUT_EXPIRED:-}" ]]; then : >"$FAKE_TIMEOUT_EXPIRED"; exit 1; fi
    echo "fake talosctl: $node never answers and nothing bounds this call" >&2
    exit 3
  fi
  cat "$FAKE/memory/$node"
  ;;
*) echo "fake talosctl: unexpected: \${args[*]}" >&2; exit 2 ;;
esac
`;

export const FAKE_KUBECTL = `${SHEBANG}
set -euo pipefail
printf '%s\\n' "$*" >>"$FAKE/kubectl.log"
${CHECK_CREDENTIALS}
check_credentials "\${KUBECONFIG:-}" ${KUBE_SECRET}
ns="" args=()
while (($#)); do
  case $1 in
  -n | --namespace) ns=$2; shift 2 ;;
  *) args+=("$1"); shift ;;
  esac
done
case "\${args[0]}" in
get)
  if [[ "\${args[1]}" == nodes ]]; then cat "$FAKE/nodes.json"; else echo "NAME READY STATUS"; fi ;;
apply) cat >"$FAKE/applied.yaml"; echo "namespace/homelab-acceptance created" ;;
rollout)
  printf '%s %s\\n' "$ns" "\${args[*]}" >>"$FAKE/rollouts.log"
  read -r rc <"$FAKE/rollout.rc"
  if ((rc)); then echo "error: timed out waiting for the condition" >&2; fi
  exit "$rc" ;;
run)
  printf '%s %s\\n' "$ns" "\${args[*]}" >>"$FAKE/runs.log"
  read -r rc <"$FAKE/run.rc"
  exit "$rc" ;;
delete) ;;
*) echo "fake kubectl: unexpected: \${args[*]}" >&2; exit 2 ;;
esac
`;

/**
 * Stands in for GNU coreutils' \`timeout DURATION COMMAND [ARG]...\` (src/timeout.c) so that no test waits out a
 * deadline. It runs COMMAND; when a fake reports that it would not have answered before the deadline (by
 * creating $FAKE_TIMEOUT_EXPIRED), it ends as timeout does once the duration has passed: status 124
 * (EXIT_TIMEDOUT), nothing printed. Otherwise COMMAND's status, 127 when it is not found, as timeout's. A
 * duration parse_duration would refuse fails with 125 (EXIT_CANCELED). Every call is logged with its duration.
 */
export const FAKE_TIMEOUT = `${SHEBANG}
set -uo pipefail
printf '%s\\n' "$*" >>"$FAKE/timeout.log"
if [[ ! "\${1:-}" =~ ^[0-9]+(\\.[0-9]+)?[smhd]?$ ]]; then
  echo "timeout: invalid time interval '\${1:-}'" >&2
  exit 125
fi
shift
export FAKE_TIMEOUT_EXPIRED="$FAKE/timeout-expired.$$"
"$@"
rc=$?
if [[ -e "$FAKE_TIMEOUT_EXPIRED" ]]; then rm -f "$FAKE_TIMEOUT_EXPIRED"; exit 124; fi
exit "$rc"
`;

/** Stands in for .github/scripts/post-deploy-check.sh; fails with the message in $FAKE/post-deploy.fail. */
export const POST_DEPLOY_STUB = `${SHEBANG}
set -euo pipefail
printf '%s\\n' "$*" >>"$FAKE/post-deploy.log"
[[ -s "$KUBECONFIG" && -s "$TALOSCONFIG" ]] || { echo "post-deploy check FAILED: no credentials" >&2; exit 1; }
if [[ -f "$FAKE/post-deploy.fail" ]]; then echo "post-deploy check FAILED: $(cat "$FAKE/post-deploy.fail")" >&2; exit 1; fi
echo "post-deploy check passed for stack $1"
`;
