#!/usr/bin/env bash
# The static half of `npm test`: the type-check (tsc, strict), ESLint and Prettier, run side by side.
# Each is single-threaded for most of its run, so on a 2-core machine running them together takes about as
# long as the slowest one instead of the sum (docs/testing.md has the times). Each one's output is kept apart
# and printed whole, in a fixed order, so a failure reads as if it had run alone.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 2

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

names=(typecheck lint format:check)
pids=()
for name in "${names[@]}"; do
  npm run --silent "$name" >"$out/$name.log" 2>&1 &
  pids+=($!)
done

failed=()
for i in "${!names[@]}"; do
  if ! wait "${pids[$i]}"; then failed+=("${names[$i]}"); fi
done

for name in "${names[@]}"; do
  if [[ -s $out/$name.log ]]; then
    echo "--- npm run $name"
    cat "$out/$name.log"
  fi
done
if ((${#failed[@]} > 0)); then
  echo "static checks failed: ${failed[*]} (each one's output is above; run it alone with npm run <name>)" >&2
  exit 1
fi
echo "static checks passed: ${names[*]}"
