# shellcheck shell=bash
# `talosctl get`: the COSI resources a fake node has, printed in the format -o asks for, the way
# cmd/talosctl/cmd/talos/output prints them (yaml.go: "node:" then the resource, "---" between resources;
# json.go: one indented object per resource, keys sorted as encoding/json sorts a map; table.go: NODE NAMESPACE
# TYPE ID VERSION and the type's print columns). A resource is built as "path kind value" lines (kind s string,
# b bool, l empty list) under metadata/spec.
: "${state:?the fake talosctl sets state}"

RES=()
res() { RES+=("$1"$'\t'"$2"$'\t'"$3"); }

# Resource metadata as COSI marshals it (namespace, type, id, version, owner, phase).
res_metadata() {
  res metadata.namespace s "$1"
  res metadata.type s "$2"
  res metadata.id s "$3"
  res metadata.version n 1
  res metadata.owner s "$4"
  res metadata.phase s running
}

# Resource type aliases -> canonical type (pkg/client/resources.go ResolveResourceKind matches the type ID and
# its aliases, case-insensitively); each type's namespace, print columns and whether it is sensitive.
resolve_type() {
  local status=0
  shopt -s nocasematch
  case $1 in
  machinestatus | machinestatuses | machinestatuses.runtime.talos.dev) RTYPE=MachineStatuses.runtime.talos.dev ;;
  nodestatus | nodestatuses | nodestatuses.kubernetes.talos.dev) RTYPE=NodeStatuses.kubernetes.talos.dev ;;
  extensions | extensionstatus | extensionstatuses | extensionstatuses.runtime.talos.dev) RTYPE=ExtensionStatuses.runtime.talos.dev ;;
  svc | service | services | services.v1alpha1.talos.dev) RTYPE=Services.v1alpha1.talos.dev ;;
  disk | disks | disks.block.talos.dev) RTYPE=Disks.block.talos.dev ;;
  mc | machineconfig | machineconfigs | machineconfigs.config.talos.dev) RTYPE=MachineConfigs.config.talos.dev ;;
  *) status=1 ;;
  esac
  shopt -u nocasematch
  return "$status"
}

# Appends to RES_LIST one entry (a RES snapshot, joined with \n) per resource of RTYPE on NODE (ID: only that
# one). pkg/machinery/resources: runtime/machine_status.go, k8s/node_status.go, runtime/extension_status.go,
# v1alpha1/service.go, block/disk.go.
collect_resources() {
  local node=$1 id=$2 mode i=0 line name version k8sname role schematic
  node_mode "$node"
  mode=$REPLY
  RES_LIST=()
  case $RTYPE in
  MachineStatuses.*)
    RES=()
    res_metadata runtime "$RTYPE" machine runtime.MachineStatusController
    if [[ $mode == maintenance ]]; then
      res spec.stage s maintenance
      res spec.status.ready b false
    else
      res spec.stage s running
      res spec.status.ready b true
    fi
    res spec.status.unmetConditions l ""
    add_resource machine "$id"
    ;;
  NodeStatuses.*)
    # Only a configured node runs kubelet and mirrors its Kubernetes Node.
    if [[ $mode == configured ]]; then
      node_name "$node"
      k8sname=$REPLY
      node_file "$node" ready true
      RES=()
      res_metadata k8s "$RTYPE" "$k8sname" k8s.NodeStatusController
      res spec.nodename s "$k8sname"
      res spec.nodeReady b "$REPLY"
      res spec.unschedulable b false
      add_resource "$k8sname" "$id"
    fi
    ;;
  ExtensionStatuses.*)
    # nodes/<address>/extensions: "name version" lines; the Image Factory "schematic" extension last.
    if [[ -f $state/nodes/$node/extensions ]]; then
      while read -r name version; do
        [[ -n $name ]] || continue
        extension_resource "$i" "$name" "$version" "Sidero Labs" && add_resource "$i" "$id"
        i=$((i + 1))
      done <"$state/nodes/$node/extensions"
    fi
    node_file "$node" schematic
    if [[ -n $REPLY ]]; then
      schematic=$REPLY
      extension_resource "$i" schematic "$schematic" "Image Factory" && add_resource "$i" "$id"
    fi
    ;;
  Services.*)
    if [[ $mode == configured ]]; then
      node_role "$node"
      role=$REPLY
      for name in apid kubelet machined etcd; do
        [[ $name != etcd || $role == controlplane ]] || continue
        RES=()
        res_metadata v1alpha1 "$RTYPE" "$name" ""
        res spec.running b true
        line=true
        if [[ $name == etcd ]]; then
          node_file "$node" etcd-healthy true
          line=$REPLY
        fi
        res spec.healthy b "$line"
        res spec.unknown b false
        add_resource "$name" "$id"
      done
    fi
    ;;
  Disks.*)
    RES=()
    res_metadata runtime "$RTYPE" sda block.DisksController
    res spec.dev_path s /dev/sda
    res spec.size n 68719476736
    res spec.pretty_size s "69 GB"
    add_resource sda "$id"
    ;;
  esac
}

extension_resource() {
  RES=()
  res_metadata runtime ExtensionStatuses.runtime.talos.dev "$1" runtime.ExtensionStatusController
  res spec.image s "00$1.$2.sqsh"
  res spec.metadata.name s "$2"
  res spec.metadata.version s "$3"
  res spec.metadata.author s "$4"
  res spec.metadata.compatibility.talos.version s ">= 1.0.0"
}

# Keeps the resource in RES unless an ID was asked for and this is another one.
add_resource() {
  [[ -z $2 || $1 == "$2" ]] || return 0
  local IFS=$'\n'
  RES_LIST+=("${RES[*]}")
}

# A scalar as YAML or JSON prints it, in REPLY.
scalar() {
  local format=$1 kind=$2 value=$3 special='^[][><*&!%@{`]'
  case $kind in
  b | n) REPLY=$value ;;
  l) REPLY='[]' ;;
  *)
    if [[ $format == json ]]; then
      REPLY="\"$value\""
    elif [[ -z $value ]]; then
      REPLY='""'
    elif [[ $value =~ ^[0-9.]+$ || $value == *": "* || $value =~ $special ]]; then
      REPLY="'$value'"
    else
      REPLY=$value
    fi
    ;;
  esac
}

# Prints one resource (lines of RES_LIST entry $2 on node $1) as YAML (4-space indent, go.yaml.in/yaml/v4).
print_yaml() {
  local node=$1 entry=$2 path kind value i
  local -a parts prev=()
  printf 'node: %s\n' "$node"
  while IFS=$'\t' read -r path kind value; do
    IFS=. read -r -a parts <<<"$path"
    scalar yaml "$kind" "$value"
    for ((i = 0; i < ${#parts[@]} - 1; i++)); do
      if [[ ${prev[i]:-} != "${parts[i]}" ]]; then
        printf '%*s%s:\n' $((i * 4)) "" "${parts[i]}"
        prev=("${prev[@]:0:i}")
        prev[i]=${parts[i]}
      fi
    done
    prev=("${prev[@]:0:${#parts[@]}-1}")
    printf '%*s%s: %s\n' $((i * 4)) "" "${parts[i]}" "$REPLY"
  done <<<"$entry"
}

# Prints one resource as indented JSON with sorted keys, "node" added at the top level (json.go).
print_json() {
  local node=$1 entry=$2 path kind value i depth=0
  local -a parts open=()
  local sep=""
  printf '{'
  while IFS=$'\t' read -r path kind value; do
    IFS=. read -r -a parts <<<"$path"
    # Close the objects this path leaves, open the ones it enters.
    i=0
    while ((i < depth && i < ${#parts[@]} - 1)) && [[ ${open[i]} == "${parts[i]}" ]]; do i=$((i + 1)); done
    while ((depth > i)); do
      depth=$((depth - 1))
      printf '\n%*s}' $(((depth + 1) * 4)) ""
      sep=,
    done
    open=("${open[@]:0:depth}")
    while ((depth < ${#parts[@]} - 1)); do
      printf '%s\n%*s"%s": {' "$sep" $(((depth + 1) * 4)) "" "${parts[depth]}"
      open[depth]=${parts[depth]}
      depth=$((depth + 1))
      sep=""
    done
    scalar json "$kind" "$value"
    printf '%s\n%*s"%s": %s' "$sep" $(((depth + 1) * 4)) "" "${parts[depth]}" "$REPLY"
    sep=,
  done < <(printf '%s\n' "$entry" "node"$'\t'"s"$'\t'"$node" | LC_ALL=C sort)
  while ((depth > 0)); do
    depth=$((depth - 1))
    printf '\n%*s}' $(((depth + 1) * 4)) ""
  done
  printf '\n}\n'
}

# The value at PATH in a resource entry.
entry_value() { awk -F '\t' -v p="$2" '$1 == p { print $3; exit }' <<<"$1"; }

# Prints the resources as a table: NODE NAMESPACE TYPE (the display type) ID VERSION, then the type's print
# columns, padded as text/tabwriter with padding 3 pads them.
print_table() {
  local node=$1 short=${RTYPE%%.*} cols=() paths=() entry row col
  case $short in
  *Statuses) short=${short%es} ;;
  *) short=${short%s} ;;
  esac
  case $RTYPE in
  MachineStatuses.*) cols=(STAGE READY) paths=(spec.stage spec.status.ready) ;;
  NodeStatuses.*) cols=(READY UNSCHEDULABLE) paths=(spec.nodeReady spec.unschedulable) ;;
  ExtensionStatuses.*) cols=(NAME VERSION) paths=(spec.metadata.name spec.metadata.version) ;;
  Services.*) cols=(RUNNING HEALTHY "HEALTH UNKNOWN") paths=(spec.running spec.healthy spec.unknown) ;;
  Disks.*) cols=(SIZE) paths=(spec.pretty_size) ;;
  esac
  {
    printf 'NODE\tNAMESPACE\tTYPE\tID\tVERSION'
    printf '\t%s' "${cols[@]}"
    printf '\n'
    for entry in "${RES_LIST[@]}"; do
      row="$node"$'\t'"$(entry_value "$entry" metadata.namespace)"$'\t'"$short"$'\t'"$(entry_value "$entry" metadata.id)"$'\t'1
      for col in "${paths[@]}"; do row+=$'\t'"$(entry_value "$entry" "$col")"; done
      printf '%s\n' "$row"
    done
  } | awk -F '\t' '{ for (i = 1; i <= NF; i++) { cell[NR, i] = $i; if (length($i) > w[i]) w[i] = length($i) } n = NF; rows = NR }
      END { for (r = 1; r <= rows; r++) { line = ""; for (i = 1; i <= n; i++) line = line sprintf(i < n ? "%-" w[i] + 3 "s" : "%s", cell[r, i]); print line } }'
}
