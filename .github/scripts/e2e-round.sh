#!/usr/bin/env bash
# One round of the end-to-end workflow (.github/workflows/e2e.yml) on the lab stack, after the step before it
# changed Pulumi.<stack>.yaml (with `npm run lab -- stack ...`):
#
#   e2e-round.sh <name> [--delete-node NODE] [--no-acceptance]
#
#   1. commits the stack file in the workflow's checkout (never pushed): `npm run acceptance` compares the
#      cluster with the committed stack file, as at home;
#   2. `npm run up -- --yes` with the policy pack and its config derived from that file, as the deploy does;
#   3. commits what `up` wrote into the file (the stack's encryption salt on the first round);
#   4. --delete-node: deletes that Kubernetes node (the runbook's last step after removing a node,
#      docs/operations.md "Remove a node"), with the stack's kubeconfig in a private temporary file;
#   5. `npm run acceptance -- <stack>`, unless --no-acceptance. A failed acceptance does not stop the run (the
#      later rounds still say something); it is recorded in $LOGS/acceptance-failed for the verdict step.
# Everything is also appended to $LOGS/<name>.log. Needs STACK (default lab), LOGS, RUNNER_TEMP.
set -euo pipefail

name=$1
shift
delete_node="" acceptance=1
while (($# > 0)); do
  case $1 in
  --delete-node) delete_node=$2 && shift 2 ;;
  --no-acceptance) acceptance=0 && shift ;;
  *) echo "e2e-round: unknown argument $1" >&2 && exit 2 ;;
  esac
done
stack="${STACK:-lab}"
file="Pulumi.$stack.yaml"
: "${LOGS:?LOGS must name the log folder}" "${RUNNER_TEMP:?}"
mkdir -p "$LOGS"
exec > >(tee -a "$LOGS/$name.log") 2>&1

commit() {
  git add -f "$file"
  git diff --cached --quiet || git commit -q -m "e2e: $1"
}

echo "=== $name: $file"
grep -E 'homelab:(talosVersion|kubernetesVersion|resetOnDestroy)|^ *- name:' "$file" || true
commit "$name"

config="$RUNNER_TEMP/policy-config.json"
npx ts-node --transpile-only policy/pack-config.ts "$file" >"$config"
npm run up -- --yes --policy-pack policy --policy-pack-config "$config"
commit "$name (written by pulumi up)"

if [[ -n $delete_node ]]; then
  private="$(mktemp -d)"
  trap 'rm -rf "$private"' EXIT
  chmod 700 "$private"
  pulumi stack output kubeconfig --show-secrets --stack "$stack" >"$private/kubeconfig"
  KUBECONFIG="$private/kubeconfig" kubectl delete node "$delete_node" --ignore-not-found --wait=true
fi

if ((acceptance)); then
  if ! npm run acceptance -- "$stack"; then
    echo "$name" >>"$LOGS/acceptance-failed"
    echo "=== $name: acceptance FAILED (the run goes on; the verdict step fails it)"
  fi
fi
