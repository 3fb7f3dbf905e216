#!/usr/bin/env bash
# `npm run lab [-- create|stack|destroy|help] [flags]`: a local Talos lab of QEMU/KVM machines, made by
# `talosctl cluster create qemu --presets iso,maintenance` (talosctl 1.13): the machines boot the Talos ISO
# from the Image Factory and stay in maintenance mode, like machines booted from the ISO at home. `create`
# also writes Pulumi.lab.yaml for them, so `STACK=lab npm run up` converges them with this program.
# Guide: docs/lab.md. Usage: `npm run lab -- help`.
#
# talosctl runs as root (its QEMU provisioner refuses otherwise: pkg/provision/providers/qemu/preflight.go),
# through sudo unless this already runs as root, with TALOS_HOME pointing into the lab's home so the ISO
# cache, the CNI plugins and the cluster state stay out of ~/.talos.
#
# Settings (environment): LAB_HOME (default ${XDG_STATE_HOME:-~/.local/state}/homelab-lab), TALOSCTL (the
# talosctl to run), LAB_DISK_PER_NODE_GIB (free disk required per machine, default 3), and, for tests,
# LAB_KVM_DEVICE, LAB_MEMINFO, LAB_UEFI_DIRS (where to look for KVM, the free memory and the UEFI firmware) and
# LAB_PROJECT_DIR (where Pulumi.<stack>.yaml is read and written; default: the repository).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Where the stack files are (and `npm run up` runs): the repository; tests point it elsewhere.
cd "${LAB_PROJECT_DIR:-$repo}"

usage() {
  cat <<'USAGE'
npm run lab [-- <action>] [flags]

  create (default)  check the prerequisites, create the QEMU machines (maintenance mode), write Pulumi.lab.yaml
  stack             rewrite Pulumi.lab.yaml for the running lab (versions, workers listed, resetOnDestroy)
  destroy           delete the lab's machines, network and state (Pulumi.lab.yaml and the stack are kept)

create:
  --controlplanes N        control planes (default 1; use 1 or 3)
  --workers N              workers listed in the stack (default 1)
  --spare-workers N        extra workers left out of the stack, to try adding a node (default 0)
  --from FILE              stack file whose Talos/Kubernetes versions, CNI, extensions and network the lab
                           takes (default Pulumi.home.yaml; without it, the program's defaults)
  --talos-version V        override the Talos version (the ISO the machines boot and the one installed)
  --kubernetes-version V   override the Kubernetes version
  --cni NAME               override the CNI: calico, cilium or flannel
  --reset-on-destroy BOOL  homelab:resetOnDestroy of the lab stack (default false)
  --cidr CIDR              the lab's network (default 10.5.0.0/24, talosctl's own)
  --memory MIB             memory of each machine (default 2048)
  --cpus N                 CPUs of each machine (default 2)
  --disk GIB               size of each machine's disk, /dev/vda (default 10; sparse)
stack:
  --workers N, --talos-version V, --kubernetes-version V, --cni NAME, --reset-on-destroy BOOL
  (anything not given keeps its value in Pulumi.lab.yaml)
destroy:
  --save-logs FILE         keep the machines' console logs in a .tar.gz before deleting them
every action:
  --name NAME              the lab (talosctl cluster name; default: homelab:clusterName of the stack file, else
                           homelab-lab)
  --stack NAME             the stack the lab is for (default lab: Pulumi.lab.yaml)
USAGE
}

die() {
  echo "lab: $*" >&2
  exit 1
}

action=create
if (($# > 0)) && [[ $1 != -* ]]; then
  action=$1
  shift
fi
case $action in
create | stack | destroy) ;;
help) usage && exit 0 ;;
*) usage >&2 && echo "lab: unknown action '$action'" >&2 && exit 2 ;;
esac

declare -A flag=()
declare -A allowed=(
  [create]=" name stack controlplanes workers spare-workers from talos-version kubernetes-version cni reset-on-destroy cidr memory cpus disk "
  [stack]=" name stack workers talos-version kubernetes-version cni reset-on-destroy "
  [destroy]=" name stack save-logs "
)
while (($# > 0)); do
  case $1 in
  -h | --help) usage && exit 0 ;;
  --*=*) key=${1%%=*} value=${1#*=} && shift ;;
  --*)
    key=$1
    (($# >= 2)) || { echo "lab: $key needs a value (npm run lab -- help)" >&2 && exit 2; }
    value=$2 && shift 2
    ;;
  *) echo "lab: unexpected argument '$1' (npm run lab -- help)" >&2 && exit 2 ;;
  esac
  key=${key#--}
  [[ ${allowed[$action]} == *" $key "* ]] || { echo "lab: $action has no flag --$key (npm run lab -- help)" >&2 && exit 2; }
  flag[$key]=$value
done

stack="${flag[stack]:-lab}"
stack_file="Pulumi.$stack.yaml"
[[ $stack =~ ^[A-Za-z0-9._-]+$ ]] || die "--stack '$stack' is not a stack name such as lab"
# The lab's name: the flag, else the one the stack file was written for, else the default.
name="${flag[name]:-}"
if [[ -z $name && -f $stack_file ]]; then
  name="$(sed -n 's/^[[:space:]]*homelab:clusterName:[[:space:]]*["'\'']\{0,1\}\([a-z0-9-]*\).*/\1/p' "$stack_file" | head -n 1)"
fi
name="${name:-homelab-lab}"

lab_home="${LAB_HOME:-${XDG_STATE_HOME:-$HOME/.local/state}/homelab-lab}"
state_dir="$lab_home/clusters"
lab_state="$state_dir/$name/state.yaml"
talos_home="$lab_home/talos-home"
mkdir -p "$lab_home"

# talosctl needs root (create and destroy); everything else runs as the calling user.
as_root=(env "TALOS_HOME=$talos_home")
if ((EUID != 0)); then
  as_root=(sudo env "TALOS_HOME=$talos_home")
  if [[ $action != stack ]] && ! command -v sudo >/dev/null 2>&1; then
    die "talosctl cluster create qemu must run as root (it creates a bridge, iptables rules and QEMU processes): run this as root, or install sudo"
  fi
fi

helper() {
  [[ -x $repo/node_modules/.bin/ts-node ]] || die "run npm ci first (the lab's stack file is written by scripts/lab-stack.ts)"
  "$repo/node_modules/.bin/ts-node" --transpile-only "$repo/scripts/lab-stack.ts" "$@"
}

talosctl_cmd="${TALOSCTL:-talosctl}"

# --- destroy ------------------------------------------------------------------------------------------------
if [[ $action == destroy ]]; then
  if [[ ! -d $state_dir/$name ]]; then
    echo "lab: no lab named $name under $state_dir: nothing to destroy"
    exit 0
  fi
  talosctl="$(command -v "$talosctl_cmd")" || die "talosctl not found: it is needed to delete the lab (see docs/lab.md)"
  args=(cluster destroy --name "$name" --state "$state_dir")
  if [[ -n ${flag[save-logs]:-} ]]; then
    mkdir -p "$(dirname "${flag[save-logs]}")"
    logs="$(cd "$(dirname "${flag[save-logs]}")" && pwd)/$(basename "${flag[save-logs]}")"
    args+=(--save-cluster-logs-archive-path "$logs")
  fi
  "${as_root[@]}" "$talosctl" "${args[@]}"
  if [[ -n ${logs:-} && -e $logs && ! -O $logs ]]; then
    "${as_root[@]}" chown "$(id -u):$(id -g)" "$logs"
  fi
  echo "lab: $name deleted."
  if [[ -f $stack_file ]]; then
    echo "lab: $stack_file and the Pulumi stack '$stack' are kept. A new lab cannot reuse the stack's state (its"
    echo "     Bootstrap never runs twice): remove it with 'pulumi stack rm $stack --force' (same backend as"
    echo "     'npm run up'), or run 'STACK=$stack npm run up' only against this lab's machines."
  fi
  exit 0
fi

# --- stack --------------------------------------------------------------------------------------------------
setting_args=()
for key in talos-version kubernetes-version cni reset-on-destroy; do
  [[ -z ${flag[$key]:-} ]] || setting_args+=("--$key" "${flag[$key]}")
done
write_stack() { # mode, then more helper flags
  local mode=$1
  shift
  helper write --state "$lab_state" --out "$stack_file" --mode "$mode" "$@" "${setting_args[@]}"
}
if [[ $action == stack ]]; then
  [[ -f $lab_state ]] || die "no lab named $name under $state_dir: create it with 'npm run lab' (or pass --name)"
  extra=()
  [[ -z ${flag[workers]:-} ]] || extra+=(--workers "${flag[workers]}")
  write_stack update "${extra[@]}" >/dev/null
  echo "lab: $stack_file rewritten for $name; converge with: STACK=$stack npm run up"
  exit 0
fi

# --- create: plan, then every prerequisite at once ----------------------------------------------------------
number() { # flag default → the flag's value, a whole number
  local value="${flag[$1]:-$2}"
  [[ $value =~ ^[0-9]+$ ]] || die "--$1 must be a whole number, not '$value'"
  echo "$value"
}
controlplanes="$(number controlplanes 1)"
workers="$(number workers 1)"
spare="$(number spare-workers 0)"
memory_mib="$(number memory 2048)"
cpus="$(number cpus 2)"
disk_gib="$(number disk 10)"
cidr="${flag[cidr]:-10.5.0.0/24}"
from="${flag[from]:-Pulumi.home.yaml}"
if [[ -n ${flag[from]:-} && ! -f $from ]]; then
  die "--from $from: no such stack file"
fi
# The program refuses two control planes (etcd loses quorum when either is down): refuse them here, before a VM exists.
((controlplanes != 2)) || die "--controlplanes 2: etcd loses quorum whenever either is down; use 1 or 3"
((memory_mib >= 2048)) || die "--memory $memory_mib: Talos needs at least 2048 MiB on a control plane"
((cpus >= 1 && disk_gib >= 10)) || die "--cpus must be at least 1 and --disk at least 10 (GiB, Talos's minimum)"

plan="$(helper plan --name "$name" --controlplanes "$controlplanes" --workers "$((workers + spare))" \
  --cidr "$cidr" --from "$from" "${setting_args[@]}")" || exit 2
talos_version="$(sed -n 's/^talos_version=//p' <<<"$plan")"
machines="$(sed -n 's/^machine=//p' <<<"$plan")"
vm_count="$(wc -l <<<"$machines")"

problems=()
# talosctl of the lab's Talos minor: it must speak the API of what it boots (docs/upgrades.md).
if ! talosctl="$(command -v "$talosctl_cmd")"; then
  problems+=("talosctl not found: install talosctl ${talos_version%.*}.x (https://www.talos.dev/latest/talos-guides/install/talosctl/, or 'curl -sL https://talos.dev/install | sh')")
else
  client="$("$talosctl" version --client --short 2>/dev/null | sed -n 's/^Talos //p' | head -n 1)" || true
  if [[ "${client%.*}" != "${talos_version%.*}" ]]; then
    problems+=("talosctl is ${client:-of an unknown version}, the lab boots Talos $talos_version: install talosctl ${talos_version%.*}.x (TALOSCTL=<path> picks one)")
  fi
fi
kvm="${LAB_KVM_DEVICE:-/dev/kvm}"
# talosctl only warns and falls back to emulation, which is far too slow to boot Talos (qemu/preflight_linux.go,
# checkKVM). QEMU runs as root here, so the device's permissions do not matter; its presence does.
if [[ ! -e $kvm ]]; then
  problems+=("$kvm not found: KVM is off. Enable virtualization (VT-x/AMD-V) in the firmware and load its module ('sudo modprobe kvm_intel' or 'kvm_amd'); in a VM, enable nested virtualization")
fi
case "$(uname -m)" in
x86_64 | amd64) qemu_arch=x86_64 uefi_files=(OVMF_CODE_4M.fd OVMF_CODE.4m.fd OVMF_CODE.fd OVMF.fd edk2-x86_64-code.fd ovmf-x86_64-4m-code.bin) ;;
aarch64 | arm64) qemu_arch=aarch64 uefi_files=(AAVMF_CODE.fd QEMU_EFI.fd OVMF.stateless.fd edk2-aarch64-code.fd) ;;
*) die "talosctl's QEMU labs run on x86_64 and aarch64 hosts only, not $(uname -m)" ;;
esac
# The binaries talosctl looks for (pkg/provision/providers/qemu/arch.go, QemuExecutable).
if ! command -v "qemu-system-$qemu_arch" >/dev/null 2>&1 && ! command -v qemu-kvm >/dev/null 2>&1 &&
  [[ ! -x /usr/libexec/qemu-kvm ]]; then
  problems+=("qemu-system-$qemu_arch not found: install QEMU ('sudo apt-get install qemu-system-x86' | 'sudo dnf install qemu-kvm')")
fi
# UEFI firmware, in talosctl's search paths (arch.go, PFlash).
IFS=: read -r -a uefi_dirs <<<"${LAB_UEFI_DIRS:-/usr/share/ovmf:/usr/share/OVMF:/usr/share/qemu:/usr/share/ovmf/x64:/usr/share/AAVMF:/usr/share/qemu-efi-aarch64:/usr/share/edk2/aarch64}"
uefi_found=0
for dir in "${uefi_dirs[@]}"; do
  for file in "${uefi_files[@]}"; do [[ -f $dir/$file ]] && uefi_found=1; done
done
((uefi_found)) || problems+=("no UEFI firmware for QEMU (${uefi_files[0]} in ${uefi_dirs[*]}): install it ('sudo apt-get install ovmf' | 'sudo dnf install edk2-ovmf')")
# Memory: every machine may use all of its --memory.
need_mib=$((vm_count * memory_mib))
available_kib="$(awk '$1 == "MemAvailable:" { print $2 }' "${LAB_MEMINFO:-/proc/meminfo}" 2>/dev/null || true)"
if [[ ! $available_kib =~ ^[0-9]+$ ]]; then
  problems+=("cannot read MemAvailable from ${LAB_MEMINFO:-/proc/meminfo}")
elif ((available_kib / 1024 < need_mib)); then
  problems+=("$vm_count machine(s) x $memory_mib MiB = $need_mib MiB of memory needed, $((available_kib / 1024)) MiB available: fewer machines (--workers, --spare-workers) or close programs")
fi
# Disk: the VM disks are sparse (talosctl's default, clusterops/options.go GetQemu: PreallocateDisks false);
# they hold what Talos writes (its partitions, the Kubernetes and CNI images). An estimate per machine.
per_node_gib="${LAB_DISK_PER_NODE_GIB:-3}"
need_kib=$((vm_count * per_node_gib * 1024 * 1024))
free_kib="$(df -Pk "$lab_home" | awk 'NR == 2 { print $4 }')"
if ((free_kib < need_kib)); then
  problems+=("$((free_kib / 1024 / 1024)) GiB free under $lab_home, about $((need_kib / 1024 / 1024)) GiB needed ($vm_count x $per_node_gib GiB): free some space or set LAB_HOME to a bigger disk")
fi
if [[ -e $state_dir/$name ]]; then
  problems+=("a lab named $name already exists ($state_dir/$name): delete it with 'npm run lab -- destroy --name $name', or pick another --name and --cidr")
fi
# A local stack left by an earlier lab cannot adopt new machines (its Bootstrap is done and never re-runs).
backend="${PULUMI_BACKEND_URL:-file://$PWD/.pulumi-state}"
if [[ $backend == file://* ]]; then
  for old in "${backend#file://}/.pulumi/stacks/homelab/$stack.json" "${backend#file://}/.pulumi/stacks/$stack.json"; do
    [[ -f $old ]] && problems+=("the stack '$stack' still holds an earlier cluster ($old): remove it with 'pulumi stack rm $stack --force', or pick another --stack")
  done
fi

if ((${#problems[@]} > 0)); then
  echo "lab: cannot create the lab:" >&2
  printf '  - %s\n' "${problems[@]}" >&2
  exit 1
fi

# --- create: talosctl, then the stack file ------------------------------------------------------------------
echo "lab: creating $name: $controlplanes control plane(s), $((workers + spare)) worker(s) on $cidr, Talos $talos_version"
while read -r machine; do echo "  $machine"; done <<<"$machines"
# talosctl writes the configs of the cluster it would have made (controlplane.yaml, worker.yaml, talosconfig)
# into its working directory and --talosconfig-destination (create/create_qemu.go, preCreate and postCreate).
# The maintenance preset never applies them, so they go as soon as talosctl returns: they hold keys.
work="$(mktemp -d "$lab_home/talosctl-work.XXXXXX")"
chmod 700 "$work"
trap '"${as_root[@]}" rm -rf "$work"' EXIT
(
  cd "$work"
  "${as_root[@]}" "$talosctl" cluster create qemu \
    --name "$name" --state "$state_dir" \
    --presets iso,maintenance --talos-version "$talos_version" \
    --controlplanes "$controlplanes" --workers "$((workers + spare))" --cidr "$cidr" \
    --cpus-controlplanes "$cpus" --cpus-workers "$cpus" \
    --memory-controlplanes "${memory_mib}MiB" --memory-workers "${memory_mib}MiB" \
    --disks "virtio:${disk_gib}GiB" \
    --talosconfig-destination "$work/talosconfig"
) || die "talosctl cluster create failed (output above); remove what it made with: npm run lab -- destroy --name $name"

[[ -f $lab_state ]] || die "talosctl did not write its state file $lab_state"
written="$(write_stack create --workers "$workers" --from "$from")"
if [[ "$(sed -n 's/^machine=//p' <<<"$written")" != "$machines" ]]; then
  echo "lab: WARNING: talosctl placed the machines differently from what docs/lab.md describes;" >&2
  echo "     $stack_file uses the addresses from its state file:" >&2
  sed -n 's/^machine=/       /p' <<<"$written" >&2
fi
echo "lab: $name is up, its machines in maintenance mode; $stack_file lists them."
echo "     Next: STACK=$stack npm run up   (then: npm run acceptance -- $stack; delete: npm run lab -- destroy)"
