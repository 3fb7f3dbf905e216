# shellcheck shell=bash
# Helpers shared by the upgrade scripts. ClusterUpgrade (index.ts) prepends this file to each script's text,
# so a Pulumi command is one self-contained `bash -c` program; run by hand, a script sources it instead.
#
# Secrets: the talosconfig only ever arrives in TALOSCONFIG_DATA (environment, marked secret by Pulumi). It
# is written to a private temp file and passed as --talosconfig; it is never echoed, never on a command line.

# Marker the scripts test to know the helpers are already defined.
upgrade_lib_loaded() { :; }

# Seconds one "does the node answer?" probe may take (an unreachable node would otherwise hang on TCP).
PROBE_TIMEOUT="${PROBE_TIMEOUT:-20}"
# Seconds to wait for a node to report the new version and a Ready Kubernetes node after its upgrade.
READY_TIMEOUT="${READY_TIMEOUT:-600}"
# Seconds between two health polls.
POLL_INTERVAL="${POLL_INTERVAL:-5}"

log() { printf '[upgrade] %s\n' "$*"; }

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
  # The watchdog's output goes nowhere so it never holds the caller's pipes open.
  (sleep "$secs" && kill -TERM "$pid") >/dev/null 2>&1 &
  local watchdog=$! status=0
  wait "$pid" || status=$?
  kill "$watchdog" >/dev/null 2>&1 || true
  wait "$watchdog" >/dev/null 2>&1 || true
  return "$status"
}

# Splits a version (`v1.13.9`, `1.36.0`, `v1.14.0-rc.1`) into VER_MAJOR VER_MINOR; 1 if malformed.
parse_version() {
  local re='^v?([0-9]+)\.([0-9]+)\.([0-9]+)(-[0-9A-Za-z.-]+)?$'
  [[ $1 =~ $re ]] || return 1
  VER_MAJOR=$((10#${BASH_REMATCH[1]}))
  VER_MINOR=$((10#${BASH_REMATCH[2]}))
}

# `1.13` for `v1.13.9`; empty if malformed.
minor_of() {
  if parse_version "$1"; then printf '%s.%s' "$VER_MAJOR" "$VER_MINOR"; fi
}

# Prints why Talos FROM -> TO is refused and returns 1, or returns 0 silently. Mirrors checkTalosUpgradePath
# (plan.ts): adjacent minors only, no downgrade to an older minor.
talos_path_problem() {
  local from=$1 to=$2 fmaj fmin tmaj tmin
  if ! parse_version "$from"; then
    printf 'cannot compare Talos versions "%s" and "%s"' "$from" "$to"
    return 1
  fi
  fmaj=$VER_MAJOR fmin=$VER_MINOR
  if ! parse_version "$to"; then
    printf 'cannot compare Talos versions "%s" and "%s"' "$from" "$to"
    return 1
  fi
  tmaj=$VER_MAJOR tmin=$VER_MINOR
  if ((fmaj != tmaj)); then
    printf 'Talos %s -> %s changes the major version; this rollout only moves between adjacent minors' "$from" "$to"
    return 1
  fi
  if ((tmin < fmin)); then
    printf 'Talos %s -> %s is a downgrade to an older minor; use "talosctl rollback" on the node instead, or set talosVersion back to v%s.%s.x' \
      "$from" "$to" "$fmaj" "$fmin"
    return 1
  fi
  if ((tmin > fmin + 1)); then
    printf 'Talos %s -> %s skips v%s.%s: Talos upgrades are only tested between adjacent minors. Set talosVersion to the latest v%s.%s.x patch, run pulumi up, then move on to %s' \
      "$from" "$to" "$fmaj" "$((fmin + 1))" "$fmaj" "$((fmin + 1))" "$to"
    return 1
  fi
  return 0
}

# Prints why Kubernetes FROM -> TO is refused and returns 1, or returns 0 silently. Mirrors
# checkKubernetesUpgradePath (plan.ts): upgrade-k8s moves within a minor or one minor up.
k8s_path_problem() {
  local from=$1 to=$2 fmaj fmin tmaj tmin
  if ! parse_version "$from" || ! parse_version "$to"; then
    printf 'cannot compare Kubernetes versions "%s" and "%s"' "$from" "$to"
    return 1
  fi
  parse_version "$from"
  fmaj=$VER_MAJOR fmin=$VER_MINOR
  parse_version "$to"
  tmaj=$VER_MAJOR tmin=$VER_MINOR
  if ((fmaj != tmaj || tmin < fmin)); then
    printf 'Kubernetes %s -> %s is not an upgrade talosctl upgrade-k8s supports (downgrade or major change)' "$from" "$to"
    return 1
  fi
  if ((tmin > fmin + 1)); then
    printf 'Kubernetes %s -> %s skips %s.%s: talosctl upgrade-k8s moves one minor at a time. Set kubernetesVersion to the latest %s.%s.x patch, run pulumi up, then move on to %s' \
      "$from" "$to" "$fmaj" "$((fmin + 1))" "$fmaj" "$((fmin + 1))" "$to"
    return 1
  fi
  return 0
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
  client=$(printf '%s\n' "$out" | grep -Eo 'v[0-9]+\.[0-9]+\.[0-9]+[0-9A-Za-z.-]*' | head -n 1 || true)
  if [[ -z $client ]]; then
    fail "cannot read the talosctl client version from:" "$out"
  fi
  if [[ $(minor_of "$client") != "$want" ]]; then
    fail "talosctl on PATH is $client but v$want.x is needed." "$(install_hint "$want")"
  fi
}

# Sets PROBE_OUT to the node's answer. Returns 0 when NODE answers with our credentials, 2 when it answers
# only the insecure maintenance API (booted from the ISO, not configured yet), 1 when it does not answer.
probe_node() {
  local node=$1
  if PROBE_OUT=$(with_timeout "$PROBE_TIMEOUT" talosctl --talosconfig "$TALOSCONFIG_FILE" -n "$node" version --short 2>&1); then
    return 0
  fi
  local secure_err=$PROBE_OUT
  # `version --insecure` talks to the maintenance service (talosctl 1.13 reference: "use Talos maintenance
  # mode API"); a configured node refuses it, so this answers only for a fresh node.
  if PROBE_OUT=$(with_timeout "$PROBE_TIMEOUT" talosctl --talosconfig "$TALOSCONFIG_FILE" -e "$node" -n "$node" version --short --insecure 2>&1); then
    return 2
  fi
  PROBE_OUT=$secure_err
  return 1
}

# The server tag in `talosctl version` output: the first "Tag:" line after "Server:".
server_tag() {
  printf '%s\n' "$1" | awk '/^Server:/ { s = 1 } s && $1 == "Tag:" { print $2; exit }'
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

# Prints the schematic id NODE's image was built from: Image Factory bakes a virtual system extension named
# "schematic" whose version is the id (siderolabs/image-factory, schematicExtension), listed by
# `talosctl get extensions`. Prints nothing for an image without one; returns 1 if the node does not answer.
running_schematic() {
  local node=$1 out
  out=$(with_timeout "$PROBE_TIMEOUT" talosctl --talosconfig "$TALOSCONFIG_FILE" -n "$node" get extensions -o yaml 2>&1) || return 1
  # The resource's own metadata has a "version:" too; only the one after "name: schematic" is the id.
  printf '%s\n' "$out" | awk '$1 == "name:" { name = $2; ver = "" } $1 == "version:" { ver = $2 } name == "schematic" && ver != "" { print ver; exit }'
}

# True when NODE, which runs RUNNING, already runs TARGET_IMAGE: same Talos version and, for a factory
# image, the same schematic (so adding an extension at the same version still upgrades the node).
# Sets AT_TARGET_WHY (read by the scripts) to what differs.
# shellcheck disable=SC2034
at_target() {
  local node=$1 running=$2 want have
  if [[ $running != "$TARGET_VERSION" ]]; then
    AT_TARGET_WHY="runs $running"
    return 1
  fi
  want=$(image_schematic "$TARGET_IMAGE")
  [[ -n $want ]] || return 0
  have=$(running_schematic "$node" || true)
  if [[ $have != "$want" ]]; then
    AT_TARGET_WHY="runs $running built from schematic ${have:-(none)}, not $want"
    return 1
  fi
  return 0
}

# True when the node's own Kubernetes Node is Ready: Talos mirrors it in the NodeStatus resource
# (NodeStatuses.kubernetes.talos.dev, spec.nodeReady; pkg/machinery/resources/k8s/node_status.go).
node_ready() {
  local node=$1 out
  out=$(with_timeout "$PROBE_TIMEOUT" talosctl --talosconfig "$TALOSCONFIG_FILE" -n "$node" get nodestatuses -o yaml 2>&1) || return 1
  printf '%s\n' "$out" | grep -Eq '^[[:space:]]*nodeReady:[[:space:]]*true[[:space:]]*$'
}

# Waits until NODE answers with TARGET and its Kubernetes node is Ready, at most READY_TIMEOUT seconds.
# Prints what it last saw and returns 1 on timeout.
wait_healthy() {
  local node=$1 target=$2 deadline version=""
  deadline=$((SECONDS + READY_TIMEOUT))
  while :; do
    version=$(running_version "$node" || true)
    if [[ $version == "$target" ]] && node_ready "$node"; then
      return 0
    fi
    if ((SECONDS >= deadline)); then
      if [[ $version != "$target" ]]; then
        printf 'after %ss the node answers %s, not %s (if it booted the old version, Talos rolled the upgrade back)' \
          "$READY_TIMEOUT" "${version:-nothing}" "$target"
      else
        printf 'after %ss the node runs %s but its Kubernetes node is not Ready' "$READY_TIMEOUT" "$target"
      fi
      return 1
    fi
    sleep "$POLL_INTERVAL"
  done
}
