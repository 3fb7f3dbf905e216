# shellcheck shell=bash
# `talosctl reboot` as talosctl 1.13.9 runs it (cmd/talosctl/cmd/talos/reboot.go): RunE sets --wait when
# --debug or --drain is on; with --drain, drainNodes cordons and evicts through the Kubernetes API from this
# machine, rebootInternal reboots (with --wait an action.Tracker follows it until the boot ID changed,
# BootIDChangedPostCheckFn), and a deferred uncordonNodes waits for the node to be Ready and uncordons it.
# The node boots the configuration staged for it (talos@v1.13.9 v1alpha1_server.go ApplyConfiguration, case
# STAGED: "applied after the next reboot"): state nodes/<address>/staged-config becomes config, and
# reboots.log records "down <address>" / "up <address>" around the reboot, so a test can tell whether two
# control planes were ever down at once.
# Failure injection: FAKE_TALOS_ETCD_UNHEALTHY_AFTER_REBOOT=<address> leaves its etcd member unhealthy.
: "${state:?the fake talosctl sets state}"

cmd_reboot() {
  local node name wait drain dir
  flag wait
  wait=$REPLY
  flag drain
  drain=$REPLY
  if flag_on debug || [[ $drain == true ]]; then wait=true; fi
  # shellcheck disable=SC2034 # read by report (lib/upgrade.sh)
  COLORIZED=false
  flag progress
  # shellcheck disable=SC2034
  if [[ $REPLY == auto && -t 2 ]]; then COLORIZED=true; fi
  single_node
  node=$NODES
  require_talosconfig
  secure_error "$node"
  [[ -z $ERR ]] || cobra_fail "error executing reboot: $ERR"
  node_name "$node"
  name=$REPLY
  dir="$state/nodes/$node"
  if [[ $drain == true ]]; then
    report running "$name: cordoning node"
    kube_api_error "$node" "$name"
    [[ -z $ERR ]] || cobra_fail "error cordoning node \"$name\": $ERR"
    printf 'drain %s client\n' "$name" >>"$state/drains.log"
    report succeeded "$name: node drained"
  fi
  printf 'down %s\n' "$node" >>"$state/reboots.log"
  if [[ $wait == true ]]; then
    track "$node" "waiting for actor ID"
    track "$node" "actor ID: fake-reboot-$node"
    track "$node" "unavailable, retrying..."
  fi
  if [[ -f $dir/staged-config ]]; then mv -- "$dir/staged-config" "$dir/config"; fi
  if [[ ${FAKE_TALOS_ETCD_UNHEALTHY_AFTER_REBOOT:-} == "$node" ]]; then printf 'false\n' >"$dir/etcd-healthy"; fi
  printf 'up %s\n' "$node" >>"$state/reboots.log"
  if [[ $wait == true ]]; then
    track "$node" "events check condition met"
    track "$node" "post check passed"
  fi
  if [[ $drain == true ]]; then
    node_file "$node" ready true
    [[ $REPLY == true ]] || cobra_fail "error waiting for node \"$name\" to become Ready: context deadline exceeded"
    printf 'uncordon %s client\n' "$name" >>"$state/drains.log"
    report succeeded "$name: node uncordoned"
  fi
}
