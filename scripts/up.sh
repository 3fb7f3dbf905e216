#!/usr/bin/env bash
# `npm run up [-- <pulumi up flags>]`: provision or upgrade the cluster of one stack (default `home`).
# Uses a local file backend in ./.pulumi-state unless PULUMI_BACKEND_URL (or a `pulumi login`) says
# otherwise, and creates the stack with the passphrase secrets provider on first use. Pulumi asks for the
# passphrase unless PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE is set.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

stack="${STACK:-home}"

if ! command -v pulumi >/dev/null 2>&1; then
  echo "pulumi is not on PATH: install the Pulumi CLI (https://www.pulumi.com/docs/install/), then run this again." >&2
  exit 1
fi
if [[ ! -f "Pulumi.$stack.yaml" ]]; then
  echo "Pulumi.$stack.yaml not found: copy Pulumi.home.yaml to Pulumi.$stack.yaml and list your machines in it." >&2
  exit 1
fi

if [[ -z "${PULUMI_BACKEND_URL:-}" ]] && ! pulumi whoami >/dev/null 2>&1; then
  mkdir -p .pulumi-state
  export PULUMI_BACKEND_URL="file://$PWD/.pulumi-state"
  echo "Using the local state backend in .pulumi-state (keep it safe: it holds the cluster's encrypted secrets)."
fi

if ! pulumi stack select "$stack" >/dev/null 2>&1; then
  pulumi stack init "$stack" --secrets-provider passphrase
fi

exec pulumi up --stack "$stack" "$@"
