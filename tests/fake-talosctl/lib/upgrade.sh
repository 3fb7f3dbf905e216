# shellcheck shell=bash
# `talosctl upgrade` as talosctl 1.13.9 runs it (cmd/talosctl/cmd/talos/upgrade.go): RunE sets --wait when
# --debug or --drain is on and refuses --wait with --insecure (L65-79); upgradeViaLifecycleService drops the
# drain for --no-reboot (L97-99), honours --legacy (L101-105), then asks the node's version and takes the
# LifecycleService path for Talos in ">1.13.0-alpha.2 <2.0.0" (L86, L120-131), the legacy MachineService.Upgrade
# otherwise. Progress goes to stderr through pkg/reporter: plain lines, or colours and a spinner when
# --progress is auto and stderr is a terminal (WithOutputMode). Time is not simulated: what talosctl waits
# for is answered at once (a node that never gets Ready fails right away with the error talosctl prints when
# --timeout runs out).
: "${state:?the fake talosctl sets state}"

# reporter.Report: prints a line unless it repeats the last one; colours it when COLORIZED.
LAST_LINE=""
report() {
  local status=$1 line=$2
  [[ $line != "$LAST_LINE" ]] || return 0
  LAST_LINE=$line
  if [[ $COLORIZED == true ]]; then
    case $status in
    succeeded) printf '\033[32m%s\033[0m\n' "$line" >&2 ;;
    running) printf '\033[33m◰ %s\033[0m\n' "$line" >&2 ;;
    *) printf '\033[31m◰ %s\033[0m\n' "$line" >&2 ;;
    esac
  else
    printf '%s\n' "$line" >&2
  fi
}

# action.Tracker (cmd/talosctl/pkg/talos/action/tracker.go runReporter): one `"node": message` line per update
# when stderr is not a terminal, the "watching nodes" summary otherwise.
track() {
  local node=$1 message=$2
  if [[ -t 2 ]]; then
    printf 'watching nodes: [%s]\n    * %s: %s\n' "$node" "$node" "$message" >&2
  else
    printf '"%s": %s\n' "$node" "$message" >&2
  fi
}

# True when NODE's Talos is in talosUpgradeAPIVersionRange (">1.13.0-alpha.2 <2.0.0", blang/semver rules).
in_lifecycle_range() {
  local v=${1#v} re='^([0-9]+)\.([0-9]+)\.([0-9]+)(-(.+))?$' pre
  [[ $v =~ $re ]] || return 1
  pre=${BASH_REMATCH[5]}
  ((BASH_REMATCH[1] == 1)) || return 1
  ((BASH_REMATCH[2] >= 13)) || return 1
  ((BASH_REMATCH[2] == 13 && BASH_REMATCH[3] == 0)) || return 0
  [[ -n $pre ]] || return 0
  # Pre-releases of 1.13.0 after alpha.2: alpha.3+, beta.*, rc.* (alphabetical and numeric order agree here).
  [[ $pre =~ ^alpha\.([0-9]+)$ ]] && { ((BASH_REMATCH[1] > 2)); return; }
  [[ $pre > alpha ]]
}

# The installed image takes effect: version from its tag, the Image Factory schematic from its path
# (factory.talos.dev/<installer>/<id>:<tag>; ghcr.io/siderolabs/installer has none).
boot_image() {
  local node=$1 image=$2 dir ref
  dir="$state/nodes/$node"
  printf '%s\n' "${image##*:}" >"$dir/version"
  ref=${image%:*}
  if [[ $image == factory.talos.dev/* ]]; then printf '%s\n' "${ref##*/}" >"$dir/schematic"; else rm -f "$dir/schematic"; fi
  if [[ ${FAKE_TALOS_NOT_READY_AFTER_UPGRADE:-} == "$node" ]]; then printf 'false\n' >"$dir/ready"; fi
}

# FAKE_TALOS_BARRIER="a b": an upgrade of a listed node starts only once every listed node's upgrade has
# started, so a test can show they ran side by side (event-driven; the deadline is only a safety net).
barrier() {
  local node=$1 peer deadline=$((SECONDS + 30))
  [[ " ${FAKE_TALOS_BARRIER:-} " == *" $node "* ]] || return 0
  mkdir -p "$state/barrier" && touch "$state/barrier/$node"
  for peer in $FAKE_TALOS_BARRIER; do
    while [[ ! -e $state/barrier/$peer ]]; do
      ((SECONDS < deadline)) || fake_bug "barrier: the upgrade of $peer never started while $node's waited"
      sleep 0.01
    done
  done
}

# FAKE_TALOS_FAIL_NODE=<address>: its upgrade fails (FAKE_TALOS_FAIL_ONCE=1: only the first time).
injected_failure() {
  [[ ${FAKE_TALOS_FAIL_NODE:-} == "$1" && ! -f $state/failed-once ]] || return 1
  if [[ ${FAKE_TALOS_FAIL_ONCE:-} == 1 ]]; then touch "$state/failed-once"; fi
}

cmd_upgrade() {
  local node image name wait drain
  flag image
  image=$REPLY
  flag wait
  wait=$REPLY
  flag drain
  drain=$REPLY
  if flag_on debug || flag_on drain; then wait=true; fi
  if [[ $wait == true ]] && flag_on insecure; then cobra_fail "cannot use --wait and --insecure together"; fi
  COLORIZED=false
  flag progress
  if [[ $REPLY == auto && -t 2 ]]; then COLORIZED=true; fi
  # WithClientAndNodes builds the client from the talosconfig first, whatever the path.
  single_node
  node=$NODES
  require_talosconfig
  if flag_on no-reboot; then drain=false; fi
  if flag_on legacy; then
    printf 'WARNING: Forcing use of legacy upgrade method. This flag is deprecated and will be removed in Talos 1.18.\n' >&2
    upgrade_legacy "$node" "$image" "$wait"
    return
  fi
  # helpers.TalosVersionCheck: the Version call itself must answer.
  secure_error "$node"
  [[ -z $ERR ]] || cobra_fail "error checking Talos version compatibility: error getting server versions: $ERR"
  node_version "$node"
  if ! in_lifecycle_range "$REPLY"; then
    report error "New upgrade API is not available, falling back to legacy"
    upgrade_legacy "$node" "$image" "$wait"
    return
  fi
  node_name "$node"
  name=$REPLY
  printf 'start %s lifecycle\n' "$node" >>"$state/upgrades.log"
  barrier "$node"
  # imagePullInternal, then upgradeInternal: the LifecycleService.Upgrade stream runs the installer.
  report succeeded "$node: pulled image $image"
  report running "$node: pulling installer image $image"
  report running "$node: installing Talos ${image##*:}"
  if injected_failure "$node"; then
    report error "$node: upgrade failed with exit code 1"
    printf 'end %s\n' "$node" >>"$state/upgrades.log"
    cobra_fail "error during upgrade: node $node: upgrade failed with exit code 1"
  fi
  report succeeded "$node: upgrade completed"
  printf '%s\n' "$image" >"$state/nodes/$node/staged"
  if [[ $drain == true ]]; then
    # drainNodes: the Kubernetes client (kubeconfig from the Talos API) cordons, then evicts.
    report running "$name: cordoning node"
    kube_api_error "$node" "$name"
    if [[ -n $ERR ]]; then
      printf 'end %s\n' "$node" >>"$state/upgrades.log"
      cobra_fail "error cordoning node \"$name\": $ERR"
    fi
    printf 'drain %s client\n' "$name" >>"$state/drains.log"
    report succeeded "$name: node cordoned"
    report running "$name: draining node"
    report succeeded "$name: node drained"
  fi
  if ! flag_on no-reboot; then
    reboot_node "$node" "$wait"
  fi
  if [[ $drain == true ]]; then
    # uncordonNodes: waits for the Kubernetes node to be Ready (up to --timeout), then uncordons it.
    report running "$name: waiting for node to become Ready"
    node_file "$node" ready true
    if [[ $REPLY != true ]]; then
      printf 'end %s\n' "$node" >>"$state/upgrades.log"
      cobra_fail "error waiting for node \"$name\" to become Ready: context deadline exceeded"
    fi
    kube_api_error "$node" "$name"
    [[ -z $ERR ]] || cobra_fail "error uncordoning node \"$name\": $ERR"
    printf 'uncordon %s client\n' "$name" >>"$state/drains.log"
    report running "$name: uncordoning node"
    report succeeded "$name: node uncordoned"
  fi
  printf 'end %s\n' "$node" >>"$state/upgrades.log"
}

# rebootInternal: with --wait a tracker follows the reboot until the boot ID changed (BootIDChangedPostCheckFn).
reboot_node() {
  local node=$1 wait=$2
  if [[ $wait == true ]]; then
    track "$node" "waiting for actor ID"
    track "$node" "actor ID: fake-reboot-$node"
    track "$node" "unavailable, retrying..."
  fi
  boot_image "$node" "$(cat "$state/nodes/$node/staged")"
  rm -f "$state/nodes/$node/staged"
  if [[ $wait == true ]]; then
    track "$node" "events check condition met"
    track "$node" "post check passed"
  fi
}

# upgradeLegacy (L249-279): MachineService.Upgrade with preserve=false, stage=false, force=false unless set.
# The node drains itself (v1alpha1_sequencer.go Upgrade "drain"); a control plane first validates etcd
# (v1alpha1_server.go Upgrade -> internal/pkg/etcd ValidateForUpgrade).
upgrade_legacy() {
  local node=$1 image=$2 wait=$3 members=0 unhealthy="" peer err=""
  if [[ $wait != true ]] && flag_on insecure; then
    # runUpgradeLegacyNoWaitWithOpts over the maintenance API (only reachable with --legacy): Upgrade is
    # admin-only there (see maintenance_admin_error).
    insecure_error "$node"
    [[ -n $ERR ]] || maintenance_admin_error "$node"
    cobra_fail "error performing upgrade: $ERR"
  fi
  client_version_check "$node"
  secure_error "$node"
  [[ -z $ERR ]] || cobra_fail "error performing upgrade: $ERR"
  if [[ $wait == true ]]; then track "$node" "waiting for actor ID"; fi
  flag preserve
  printf 'start %s legacy preserve=%s\n' "$node" "$REPLY" >>"$state/upgrades.log"
  node_role "$node"
  if [[ $REPLY == controlplane ]] && ! flag_on force && ! flag_on preserve; then
    for peer in "$state"/nodes/*; do
      peer=${peer##*/}
      node_role "$peer"
      [[ $REPLY == controlplane ]] || continue
      node_mode "$peer"
      [[ $REPLY == configured ]] || continue
      members=$((members + 1))
      node_file "$peer" etcd-healthy true
      [[ $REPLY == true ]] || unhealthy=$peer
    done
    if ((members == 2)); then
      err="etcd member count(2) is insufficient to maintain quorum if upgrade commences"
    elif [[ -n $unhealthy ]]; then
      err="etcd member 0000000000000001 is not healthy; all members must be healthy to perform an upgrade: context deadline exceeded ($unhealthy)"
    fi
    if [[ -n $err ]]; then
      printf 'end %s\n' "$node" >>"$state/upgrades.log"
      err="rpc error: code = Unknown desc = error validating etcd for upgrade: $err"
      if [[ $wait == true ]]; then track "$node" "$err" && exit 1; fi
      cobra_fail "error performing upgrade: $err"
    fi
  fi
  barrier "$node"
  if injected_failure "$node"; then
    printf 'end %s\n' "$node" >>"$state/upgrades.log"
    # The tracker reports the failure itself and talosctl prints nothing more (common.SuppressErrors).
    track "$node" "post check failed: etcd member is not healthy (simulated)"
    exit 1
  fi
  node_name "$node"
  printf 'drain %s node\n' "$REPLY" >>"$state/drains.log"
  if [[ $wait != true ]]; then
    printf 'NODE   ACK                        STARTED\n%s   Upgrade request received   %s\n' "$node" "$(date)"
  else
    track "$node" "actor ID: fake-upgrade-$node"
  fi
  printf '%s\n' "$image" >"$state/nodes/$node/staged"
  reboot_node "$node" false
  if [[ $wait == true ]]; then
    track "$node" "events check condition met"
    track "$node" "post check passed"
  fi
  printf 'end %s\n' "$node" >>"$state/upgrades.log"
}
