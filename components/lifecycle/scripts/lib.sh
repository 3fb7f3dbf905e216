# shellcheck shell=bash
# Helpers shared by the node lifecycle scripts. components/lifecycle/scripts.ts prepends this file to each script's
# text, so a Pulumi command is one self-contained `bash -c` program; run by hand, a script sources it instead.
#
# Secrets (the talosconfig, the kubeconfig, a rendered machine config) only ever arrive in the environment or on
# stdin, marked secret by Pulumi. They go to private temp files removed on exit, passed by path; never echoed,
# never on a command line.

lifecycle_lib_loaded() { :; }

# Seconds one "does the node answer?" probe may take (a host that drops packets would hang on TCP).
PROBE_TIMEOUT="${PROBE_TIMEOUT:-20}"
# talosctl duration for a reset or shutdown to finish (--timeout).
ACTION_TIMEOUT="${ACTION_TIMEOUT:-30m}"

# Progress goes to stderr: stdout is the script's result (the member table, or the drift verdict).
log() { printf '[lifecycle] %s\n' "$*" >&2; }

# Prints the headline and details to stderr (Pulumi shows them as the step's error) and exits 1.
fail() {
  {
    printf '%s\n' "$1"
    if [[ -n ${2:-} ]]; then printf '%s\n' "$2"; fi
  } >&2
  exit 1
}

PRIVATE_FILES=()
cleanup_private_files() {
  if ((${#PRIVATE_FILES[@]} > 0)); then rm -f -- "${PRIVATE_FILES[@]}"; fi
}
trap cleanup_private_files EXIT
# A cancelled `pulumi up` interrupts the script: leave through the EXIT trap.
trap 'exit 130' INT
trap 'exit 143' TERM

# Writes $2 to a new 0600 temp file and prints its path. Call as `f=$(private_file name "$value")` is not possible
# (the trap would not know it), so it sets PRIVATE_FILE instead.
private_file() {
  local old_umask
  old_umask=$(umask)
  umask 077
  PRIVATE_FILE=$(mktemp "${TMPDIR:-/tmp}/homelab-$1.XXXXXX")
  umask "$old_umask"
  PRIVATE_FILES+=("$PRIVATE_FILE")
  printf '%s' "$2" >"$PRIVATE_FILE"
}

# TALOSCONFIG_DATA -> TALOSCONFIG_FILE; the variable is unset so no child sees it.
setup_talosconfig() {
  [[ -n ${TALOSCONFIG_DATA:-} ]] || fail "TALOSCONFIG_DATA is empty: the lifecycle step needs the cluster's talosconfig (a program bug)"
  private_file talosconfig "$TALOSCONFIG_DATA"
  TALOSCONFIG_FILE=$PRIVATE_FILE
  unset TALOSCONFIG_DATA
}

# KUBECONFIG_DATA -> KUBECONFIG_FILE.
setup_kubeconfig() {
  [[ -n ${KUBECONFIG_DATA:-} ]] || fail "KUBECONFIG_DATA is empty: the lifecycle step needs the cluster's kubeconfig (a program bug)"
  private_file kubeconfig "$KUBECONFIG_DATA"
  # shellcheck disable=SC2034 # read by the scripts that source this file
  KUBECONFIG_FILE=$PRIVATE_FILE
  unset KUBECONFIG_DATA
}

# Runs "$@" but kills it after $1 seconds (portable: macOS has no `timeout`). Returns its status, 143 if killed.
with_timeout() {
  local secs=$1
  shift
  "$@" &
  local pid=$! status=0
  (sleep "$secs" && kill -TERM "$pid") >/dev/null 2>&1 &
  local watchdog=$!
  wait "$pid" || status=$?
  kill "$watchdog" >/dev/null 2>&1 || true
  wait "$watchdog" >/dev/null 2>&1 || true
  return "$status"
}

# talosctl with the cluster's credentials, straight to the node ($1) rather than through the control planes: the
# node may already have left the talosconfig's endpoints.
tnode() {
  local node=$1
  shift
  talosctl --talosconfig "$TALOSCONFIG_FILE" -e "$node" -n "$node" "$@"
}

# Prints how NODE answers: `running` (the Talos API with our credentials), `maintenance` (only the insecure
# maintenance API: booted from the ISO, or wiped) or `unreachable`. MachineStatus is readable in both modes
# (pkg/machinery/resources/runtime/machine_status.go, non-sensitive).
node_state() {
  local node=$1
  if with_timeout "$PROBE_TIMEOUT" talosctl --talosconfig "$TALOSCONFIG_FILE" -e "$node" -n "$node" \
    get machinestatus -o 'jsonpath={.spec.stage}' >/dev/null 2>&1; then
    printf 'running'
  elif with_timeout "$PROBE_TIMEOUT" talosctl -e "$node" -n "$node" get machinestatus --insecure \
    -o 'jsonpath={.spec.stage}' >/dev/null 2>&1; then
    printf 'maintenance'
  else
    printf 'unreachable'
  fi
}

# The rows of a member table (`name address role hostname` per line; `#` lines are comments).
member_rows() {
  printf '%s\n' "$1" | awk 'NF == 4 && $1 !~ /^#/'
}

# shellcheck disable=SC2034 # read by the scripts that source this file
MEMBER_TABLE_HEADER='# homelab members v1: name address role hostname'
