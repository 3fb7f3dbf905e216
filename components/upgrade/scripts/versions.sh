# shellcheck shell=bash
# Version rules shared by the upgrade scripts (pure functions: no talosctl, no state). ClusterUpgrade
# (index.ts) puts this file first in each command's text, before lib.sh; run by hand, a script sources it.

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

# True when semver pre-release A sorts after B (semver.org item 11: dot-separated identifiers compared left to
# right, numbers numerically and before words, words in ASCII order, a longer list after its prefix).
prerelease_after() {
  local -a a b
  local i x y
  IFS=. read -r -a a <<<"$1"
  IFS=. read -r -a b <<<"$2"
  for ((i = 0; i < ${#a[@]} && i < ${#b[@]}; i++)); do
    x=${a[i]} y=${b[i]}
    [[ $x != "$y" ]] || continue
    if [[ $x =~ ^[0-9]+$ && $y =~ ^[0-9]+$ ]]; then
      ((10#$x > 10#$y))
      return
    fi
    if [[ $x =~ ^[0-9]+$ ]]; then return 1; fi
    if [[ $y =~ ^[0-9]+$ ]]; then return 0; fi
    [[ $x > $y ]]
    return
  done
  ((${#a[@]} > ${#b[@]}))
}

# True when talosctl 1.13 upgrades a node that runs Talos VERSION through the LifecycleService API, false when
# it falls back to the legacy MachineService.Upgrade call (talos@v1.13.9 cmd/talosctl/cmd/talos/upgrade.go:
# talosUpgradeAPIVersionRange = ">1.13.0-alpha.2 <2.0.0" L86, checked by upgradeViaLifecycleService L120-131).
# The two paths differ in what this machine must reach:
# - LifecycleService (1.13 nodes): talosctl pulls the image and runs the installer over the stream (L136-144),
#   then cordons and drains the node itself through the Kubernetes API, with the admin kubeconfig it fetches
#   from the Talos API (L148-153, drain.go drainNodes, pkg/talos/kubeclient FromTalosClient), reboots it and
#   waits (--wait; L167-172), and uncordons it once Ready, again through the Kubernetes API (L155-165).
#   --wait and --drain default to true (track.go L20, upgrade.go L368). The installer has already written the
#   new image when the drain starts, so a drain that fails leaves the node to boot the new version at its next
#   reboot: the scripts check the Kubernetes API answers before touching such a node.
# - Legacy (1.12 nodes, L246-279): MachineService.Upgrade with preserve=false, stage=false, force=false; the
#   node itself cordons and drains (v1alpha1_sequencer.go Upgrade: "drain" CordonAndDrainNode), and a control
#   plane first checks etcd can keep quorum (v1alpha1_server.go Upgrade -> internal/pkg/etcd ValidateForUpgrade,
#   a check Talos has had for many releases: refuses a 2-member etcd or any unhealthy member unless
#   --force/--preserve). --wait tracks the reboot (action.NewTracker, BootIDChangedPostCheckFn).
# The LifecycleService path has no such etcd check (internal/app/lifecycle/lifecycle.go Upgrade), so the one-
# control-plane-at-a-time rollout, each healthy before the next, is what keeps quorum there.
lifecycle_upgrade() {
  local re='^v?([0-9]+)\.([0-9]+)\.([0-9]+)(-([0-9A-Za-z.-]+))?$' major minor patch pre
  [[ $1 =~ $re ]] || return 1
  major=$((10#${BASH_REMATCH[1]})) minor=$((10#${BASH_REMATCH[2]})) patch=$((10#${BASH_REMATCH[3]}))
  pre=${BASH_REMATCH[5]}
  ((major == 1)) || return 1
  if ((minor != 13)); then
    ((minor > 13))
    return
  fi
  if ((patch > 0)) || [[ -z $pre ]]; then return 0; fi
  prerelease_after "$pre" alpha.2
}
