# shellcheck shell=bash
# Helpers shared by the upgrade scripts. ClusterUpgrade (index.ts) prepends versions.sh and this file to each
# script's text, so a Pulumi command is one self-contained `bash -c` program; run by hand, a script sources
# both instead.
#
# Secrets: the talosconfig only ever arrives in TALOSCONFIG_DATA (environment, marked secret by Pulumi). It
# is written to a private temp file and passed as --talosconfig; it is never echoed, never on a command line.

# Marker the scripts test to know the helpers are already defined.
upgrade_lib_loaded() { :; }

# Settings (environment; the tests set the waits to zero, nothing else in the scripts sleeps):
# Seconds one read-only talosctl call (probe, version, get) or the Kubernetes API check may take: a host that
# drops packets would otherwise hang on TCP. Fractions are fine (`sleep` takes them).
PROBE_TIMEOUT="${PROBE_TIMEOUT:-20}"
# Seconds to wait for a node to report the new version and a Ready Kubernetes node after its upgrade; 0 checks
# once.
READY_TIMEOUT="${READY_TIMEOUT:-600}"
# Seconds between two health polls.
POLL_INTERVAL="${POLL_INTERVAL:-5}"

log() { printf '[upgrade] %s\n' "$*"; }

# Text is handed to grep/awk/sed as a here-string, never piped from printf: a reader that stops early
# (grep -q, awk exit) would leave a line-buffered printf writing into a closed pipe, and with pipefail that
# SIGPIPE turns a match into a failure whenever the scheduler lets the reader finish first.

# Prints "<what> failed:" with the details to stderr (Pulumi shows it as the resource's error) and exits 1.
fail() {
  local headline=$1 details=${2:-}
  {
    printf '%s\n' "$headline"
    if [[ -n $details ]]; then printf '%s\n' "$details"; fi
  } >&2
  exit 1
}

# Writes TALOSCONFIG_DATA to a 0600 temp file removed on exit; sets TALOSCONFIG_FILE.
setup_talosconfig() {
  if [[ -z ${TALOSCONFIG_DATA:-} ]]; then
    fail "TALOSCONFIG_DATA is empty: the upgrade commands need the cluster's talosconfig (a program bug)"
  fi
  local old_umask
  old_umask=$(umask)
  umask 077
  TALOSCONFIG_FILE=$(mktemp "${TMPDIR:-/tmp}/homelab-talosconfig.XXXXXX")
  umask "$old_umask"
  # shellcheck disable=SC2064 # expand now: the path is fixed, and later traps must not lose it
  trap "rm -f -- '$TALOSCONFIG_FILE'" EXIT
  # A cancelled `pulumi up` interrupts the script: exit through the EXIT trap instead of dying around it.
  trap 'exit 130' INT
  trap 'exit 143' TERM
  chmod 600 "$TALOSCONFIG_FILE"
  printf '%s' "$TALOSCONFIG_DATA" >"$TALOSCONFIG_FILE"
  # Nothing below needs the value itself; keep it out of every child's environment.
  unset TALOSCONFIG_DATA
}

# talosctl with the cluster's credentials. (Under with_timeout, call talosctl itself, not this function, so
# the watchdog kills talosctl and not just a subshell.)
tctl() { talosctl --talosconfig "$TALOSCONFIG_FILE" "$@"; }

# Runs "$@" but kills it after $1 seconds (portable: macOS has no coreutils `timeout`). Returns its status,
# or 143 when it was killed.
with_timeout() {
  local secs=$1
  shift
  "$@" &
  local pid=$!
  # The watchdog's output goes nowhere so it never holds the caller's pipes open, and stopping it stops its
  # timer too (no `sleep` outlives the call).
  (
    trap 'kill "$timer" 2>/dev/null; exit 0' TERM
    sleep "$secs" &
    timer=$!
    wait "$timer" && kill -TERM "$pid"
  ) >/dev/null 2>&1 &
  local watchdog=$! status=0
  wait "$pid" || status=$?
  kill "$watchdog" >/dev/null 2>&1 || true
  wait "$watchdog" >/dev/null 2>&1 || true
  return "$status"
}

install_hint() {
  local want=$1
  printf 'Install talosctl %s.x (the minor of the Talos version the cluster runs or is upgraded to):\n' "$want"
  printf '  - download it from https://github.com/siderolabs/talos/releases (pick the latest v%s.x release), or\n' "$want"
  printf '  - brew install siderolabs/tap/talosctl (installs the newest release; check its minor), or\n'
  printf '  - curl -sL https://talos.dev/install | sh (installs the newest release; check its minor)\n'
  printf 'then make sure "talosctl version --client" prints v%s.x and run pulumi up again.' "$want"
}

# Fails unless a talosctl whose minor is WANT_MINOR (`1.13`) is on PATH. Talos asks for a client matching the
# cluster (upgrading-talos: "use a talosctl version that matches").
require_talosctl() {
  local want=$1 out client
  if ! command -v talosctl >/dev/null 2>&1; then
    fail "talosctl is not on PATH; the upgrade commands need it." "$(install_hint "$want")"
  fi
  # Output: "Client:" then "Talos v1.13.9" (cmd/talosctl/cmd/talos/version.go, version.Short()).
  if ! out=$(talosctl version --client --short 2>&1); then
    fail "talosctl version --client --short failed:" "$out"
  fi
  local re='v[0-9]+\.[0-9]+\.[0-9]+[0-9A-Za-z.-]*'
  client=""
  if [[ $out =~ $re ]]; then client=${BASH_REMATCH[0]}; fi
  if [[ -z $client ]]; then
    fail "cannot read the talosctl client version from:" "$out"
  fi
  if [[ $(minor_of "$client") != "$want" ]]; then
    fail "talosctl on PATH is $client but v$want.x is needed." "$(install_hint "$want")"
  fi
}

# Sets PROBE_OUT to what the node answered. Returns 0 when NODE answers with the cluster's talosconfig
# (PROBE_OUT: `talosctl version --short`), 2 when it is in maintenance mode (booted from the ISO or reset, no
# configuration yet), 1 when it answers neither way (PROBE_OUT: both answers).
#
# Maintenance mode is recognised with a call every Talos version serves to an unauthenticated client, never
# with an admin-only one:
# - talosctl `get --insecure` dials the --nodes address itself with TLS and no client certificate
#   (talos@v1.13.9 cmd/talosctl/cmd/talos/get.go RunE -> WithClientMaintenance,
#   cmd/talosctl/pkg/talos/global/client.go WithClientMaintenance: endpoints = nodes, InsecureSkipVerify).
# - Talos 1.13 serves maintenance mode with its regular API in "readonly role mode"
#   (internal/app/machined/pkg/controllers/runtime/api_service_config.go), which gives every client that is not
#   a SideroLink peer the os:reader role (pkg/grpc/middleware/authz/injector.go ReadOnlyWithAdminOnSiderolink).
#   os:reader may list COSI resources (internal/app/machined/pkg/system/services/machined.go `rules`:
#   /cosi.resource.State/List) of non-sensitive types (internal/app/resources/access.go AccessPolicy), but not
#   Upgrade, LifecycleService.Upgrade, Reset or EtcdSnapshot (admin): those answer PermissionDenied.
# - Talos up to 1.12 ran a separate maintenance server (internal/app/maintenance/server.go, merged into the
#   regular API by "feat: unify maintenance and regular APIs" in 1.13.0-beta.0): its Version, Upgrade and Reset
#   answer `Unimplemented: API is not implemented in maintenance mode` to anyone but a SideroLink peer
#   (assertAdminRole), so `version --insecure` cannot detect it; its COSI state is served to os:reader.
# - terraform-provider-talos v0.11.0 (pkg/talos/util.go talosClientOp) tells maintenance mode apart the same
#   way: a reader call (Disks) over an insecure client.
# MachineStatus is non-sensitive and says so outright (spec.stage: maintenance; pkg/machinery/resources/runtime
# machine_status.go, machinestage.go). A configured node never answers an insecure call: outside maintenance
# apid requires a client certificate (api_service_config.go: SkipVerifyingClientCert false).
# shellcheck disable=SC2034 # PROBE_OUT is read by the scripts
probe_node() {
  local node=$1 secure insecure stage
  if secure=$(with_timeout "$PROBE_TIMEOUT" talosctl --talosconfig "$TALOSCONFIG_FILE" -n "$node" version --short 2>&1); then
    PROBE_OUT=$secure
    return 0
  fi
  if insecure=$(with_timeout "$PROBE_TIMEOUT" talosctl -n "$node" get machinestatus --insecure -o yaml 2>&1); then
    stage=$(machine_stage "$insecure")
    if [[ $stage == maintenance ]]; then
      PROBE_OUT=$insecure
      return 2
    fi
    PROBE_OUT="it answers only without credentials and reports stage \"${stage:-unknown}\", not maintenance (installing or rebooting? run pulumi up again once it is up):
$insecure"
    return 1
  fi
  PROBE_OUT="with the cluster's talosconfig: $secure
without credentials (maintenance mode): $insecure"
  return 1
}

# Prints why NODE, in maintenance mode, cannot take its first config for a Talos 1.13+ target, and returns 1; or
# returns 0. Applies to a 1.13+ target are staged_if_needing_reboot (components/upgrade/staged-reboot.ts), and the
# provider decides "needs a reboot" from the node's dry run (terraform-provider-talos
# talos_machine_configuration_apply_resource.go, dryRunNeedsReboot: Messages[0].Mode). Talos up to 1.12 served
# maintenance mode from a separate server (internal/app/maintenance/server.go) that leaves that mode unset, read as
# REBOOT, and refuses the staged apply that follows ("--mode='staged' is not supported in maintenance mode"), so
# the apply would retry until its timeout. Talos 1.13 answers NO_REBOOT. A pre-1.13 maintenance node is told
# apart by Version, which it refuses to a reader with Unimplemented (assertAdminRole) and 1.13 serves.
maintenance_iso_problem() {
  local node=$1 out
  parse_version "$TARGET_VERSION" || return 0
  ((VER_MAJOR > 1 || VER_MINOR >= 13)) || return 0
  if out=$(with_timeout "$PROBE_TIMEOUT" talosctl -n "$node" version --insecure --short 2>&1); then
    return 0
  fi
  if grep -q 'code = Unimplemented' <<<"$out"; then
    printf 'it was booted from a Talos ISO older than 1.13 (its maintenance API refuses Version). Its first config would be staged, which that maintenance mode refuses: boot it from the Talos %s.%s ISO (or a matching Image Factory image) and run pulumi up again' \
      "$VER_MAJOR" "$VER_MINOR"
    return 1
  fi
  return 0
}

# The stage in `talosctl get machinestatus -o yaml` output (its only "stage:" key, under spec).
machine_stage() {
  awk '$1 == "stage:" { print $2; exit }' <<<"$1"
}

# The server tag in `talosctl version` output: the first "Tag:" line after "Server:".
server_tag() {
  awk '/^Server:/ { s = 1 } s && $1 == "Tag:" { print $2; exit }' <<<"$1"
}

# Prints the Talos version NODE runs (with our credentials), or returns 1.
running_version() {
  local node=$1 out tag
  out=$(with_timeout "$PROBE_TIMEOUT" talosctl --talosconfig "$TALOSCONFIG_FILE" -n "$node" version --short 2>&1) || return 1
  tag=$(server_tag "$out")
  [[ -n $tag ]] || return 1
  printf '%s' "$tag"
}

# The schematic id in an Image Factory installer reference (factory.talos.dev/<installer>/<id>:<tag>);
# empty for any other image (ghcr.io/siderolabs/installer carries no schematic).
image_schematic() {
  local ref=${1%:*}
  case $ref in
  factory.talos.dev/*) printf '%s' "${ref##*/}" ;;
  esac
}

# Sets NODE_SCHEMATIC to the schematic id NODE's image was built from: Image Factory bakes a virtual system
# extension named "schematic" whose version is the id into every image it builds, the empty ("vanilla")
# schematic included (siderolabs/image-factory: EnhanceFromSchematic always appends schematicExtension), listed
# by `talosctl get extensions` (ExtensionStatuses, alias "extensions": pkg/machinery/resources/runtime/
# extension_status.go). Empty for ghcr.io/siderolabs/installer, which has none. Returns 1 with NODE_SCHEMATIC set
# to talosctl's answer when the node does not answer.
read_schematic() {
  local node=$1 out
  if ! out=$(with_timeout "$PROBE_TIMEOUT" talosctl --talosconfig "$TALOSCONFIG_FILE" -n "$node" get extensions -o yaml 2>&1); then
    NODE_SCHEMATIC=$out
    return 1
  fi
  # Each resource's own metadata has a "version:" too; only the one after "name: schematic" is the id.
  NODE_SCHEMATIC=$(awk '$1 == "name:" { name = $2; ver = "" } $1 == "version:" { ver = $2 } name == "schematic" && ver != "" { print ver; exit }' <<<"$out")
}

# Whether NODE, which runs RUNNING, already runs TARGET_IMAGE: the same Talos version and the same schematic,
# where a plain installer (no schematic) must find no schematic on the node. So adding an extension, changing
# one, and removing the last one (back to ghcr.io/siderolabs/installer) at the same version all upgrade the
# node. Returns 0 (at target), 1 (not; AT_TARGET_WHY says what differs) or 2 (cannot tell; AT_TARGET_WHY says
# why).
# shellcheck disable=SC2034
at_target() {
  local node=$1 running=$2 want
  if [[ $running != "$TARGET_VERSION" ]]; then
    AT_TARGET_WHY="runs $running"
    return 1
  fi
  want=$(image_schematic "$TARGET_IMAGE")
  if ! read_schematic "$node"; then
    AT_TARGET_WHY="cannot list its system extensions (talosctl get extensions): $NODE_SCHEMATIC"
    return 2
  fi
  if [[ $NODE_SCHEMATIC == "$want" ]]; then
    return 0
  fi
  if [[ -z $want ]]; then
    AT_TARGET_WHY="runs $running built from Image Factory schematic $NODE_SCHEMATIC, not the plain installer (no extensions)"
  else
    AT_TARGET_WHY="runs $running built from schematic ${NODE_SCHEMATIC:-(none: the plain installer)}, not $want"
  fi
  return 1
}

# True when the node's own Kubernetes Node is Ready: Talos mirrors it in the NodeStatus resource
# (NodeStatuses.kubernetes.talos.dev, spec.nodeReady; pkg/machinery/resources/k8s/node_status.go).
# LAST_ANSWER keeps what talosctl printed, for the error message.
node_ready() {
  local node=$1
  LAST_ANSWER=$(with_timeout "$PROBE_TIMEOUT" talosctl --talosconfig "$TALOSCONFIG_FILE" -n "$node" get nodestatuses -o yaml 2>&1) || return 1
  grep -Eq '^[[:space:]]*nodeReady:[[:space:]]*true[[:space:]]*$' <<<"$LAST_ANSWER"
}

# True when the etcd service on control plane NODE runs and passes its health check: the Service resource
# (Services.v1alpha1.talos.dev "etcd", spec.running/healthy; pkg/machinery/resources/v1alpha1/service.go).
# LAST_ANSWER keeps what talosctl printed, for the error message.
etcd_healthy() {
  local node=$1
  LAST_ANSWER=$(with_timeout "$PROBE_TIMEOUT" talosctl --talosconfig "$TALOSCONFIG_FILE" -n "$node" get services etcd -o yaml 2>&1) || return 1
  grep -Eq '^[[:space:]]*running:[[:space:]]*true[[:space:]]*$' <<<"$LAST_ANSWER" &&
    grep -Eq '^[[:space:]]*healthy:[[:space:]]*true[[:space:]]*$' <<<"$LAST_ANSWER"
}

# Waits until NODE answers with TARGET, its Kubernetes node is Ready and, for a control plane (ROLE), its etcd
# member is healthy again, at most READY_TIMEOUT seconds (an integer; 0 checks once). The next control plane
# goes down only after that, so etcd never misses two members. Prints what it last saw and returns 1 on timeout.
wait_healthy() {
  local node=$1 target=$2 role=$3 deadline version="" seen
  deadline=$((SECONDS + READY_TIMEOUT))
  while :; do
    version=$(running_version "$node" || true)
    seen=version
    if [[ $version == "$target" ]]; then
      seen=ready
      if node_ready "$node"; then
        seen=etcd
        if [[ $role != controlplane ]] || etcd_healthy "$node"; then
          return 0
        fi
      fi
    fi
    if ((SECONDS >= deadline)); then
      case $seen in
      version)
        printf 'after %ss the node answers %s, not %s (if it booted the old version, Talos rolled the upgrade back)' \
          "$READY_TIMEOUT" "${version:-nothing}" "$target"
        ;;
      ready)
        printf 'after %ss the node runs %s but its Kubernetes node is not Ready; talosctl get nodestatuses answered:\n%s' \
          "$READY_TIMEOUT" "$target" "$LAST_ANSWER"
        ;;
      *)
        printf 'after %ss the node runs %s and is Ready but its etcd member is not healthy; talosctl get services etcd answered:\n%s' \
          "$READY_TIMEOUT" "$target" "$LAST_ANSWER"
        ;;
      esac
      return 1
    fi
    if [[ $POLL_INTERVAL != 0 ]]; then sleep "$POLL_INTERVAL"; fi
  done
}

# Prints why this machine cannot reach the Kubernetes API at K8S_ENDPOINT (`https://host:port`, the cluster
# endpoint that the admin kubeconfig talosctl fetches from Talos points at) and returns 1; returns 0 silently
# when a TCP connection opens within PROBE_TIMEOUT seconds.
kube_api_problem() {
  local url=${K8S_ENDPOINT:-} hostport host port out status=0
  if [[ -z $url ]]; then
    printf 'K8S_ENDPOINT is empty: the upgrade commands need the cluster endpoint (a program bug)'
    return 1
  fi
  hostport=${url#*://}
  hostport=${hostport%%/*}
  case $hostport in
  \[*\]:*) host=${hostport%%]*} port=${hostport##*]:} ;;
  \[*\]) host=${hostport%]} port=443 ;;
  *:*) host=${hostport%:*} port=${hostport##*:} ;;
  *) host=$hostport port=443 ;;
  esac
  host=${host#[}
  # shellcheck disable=SC2016 # expanded by the inner bash
  out=$(with_timeout "$PROBE_TIMEOUT" bash -c 'exec 3<>"/dev/tcp/$1/$2"' kube-api-check "$host" "$port" 2>&1) || status=$?
  ((status != 0)) || return 0
  if ((status == 143)); then out="no answer within ${PROBE_TIMEOUT}s"; fi
  printf 'this machine cannot reach the Kubernetes API at %s (TCP %s port %s: %s)' "$url" "$host" "$port" "${out:-connection failed}"
  return 1
}
