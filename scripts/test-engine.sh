#!/usr/bin/env bash
# `npm run test:engine [-- <vitest args>]`: the engine tier. The real Pulumi CLI (v3.274.1) drives the real
# program through the Automation API against stand-in plugins (tests/engine), inside a network namespace that
# has only loopback, so nothing can reach a node address even if the program tried.
#   PULUMI_CLI   the pulumi binary (default: `pulumi` on PATH), of the version in .github/pulumi-version. CI builds
#                it with ../shared/tools/pulumi-cli.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# The CLI the workflows install (.github/pulumi-version) is the one this tier proves.
want=v$(tr -d '[:space:]' <.github/pulumi-version)
if [[ ${ENGINE_NETNS:-} != 1 ]]; then
  PULUMI_CLI=${PULUMI_CLI:-$(command -v pulumi || true)}
  if [[ -z $PULUMI_CLI || ! -x $PULUMI_CLI ]]; then
    echo "test:engine needs the Pulumi CLI $want: set PULUMI_CLI or put pulumi on PATH" >&2
    exit 1
  fi
  have=$("$PULUMI_CLI" version)
  if [[ $have != "$want" ]]; then
    echo "test:engine: $PULUMI_CLI is $have; the tier is pinned to $want (the version CI builds)" >&2
    exit 1
  fi
  if ! command -v unshare >/dev/null 2>&1; then
    echo "test:engine needs unshare (util-linux) to run in a loopback-only network namespace" >&2
    exit 1
  fi
  # Root gets a plain new network namespace; anyone else a user namespace that maps them to root inside.
  userns=()
  if [[ $(id -u) != 0 ]]; then userns=(--map-root-user); fi
  exec unshare "${userns[@]}" --net -- env ENGINE_NETNS=1 PULUMI_CLI="$PULUMI_CLI" bash "$0" "$@"
fi

ip link set lo up
# Inside the namespace only loopback exists: prove it before running anything.
if ip -o addr show | awk '{print $2}' | grep -vqx lo; then
  echo "test:engine: the network namespace has interfaces other than lo" >&2
  exit 1
fi
exec npx vitest run -c vitest.engine.config.ts "$@"
