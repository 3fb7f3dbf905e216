/**
 * One benchmark scenario in its own process (so peak memory is this program's): evaluates index.ts under
 * the strict mocks for C control planes and W workers and prints one JSON line of measurements.
 */
import * as pulumi from "@pulumi/pulumi";
import { installMocks } from "../tests/support/mocks";
import { promiseOf } from "../tests/support/outputs";
import { stackNodes } from "../tests/support/spec";

const [controlPlanes, workers] = process.argv.slice(2).map(Number);

function config(): Record<string, string> {
  return { nodes: JSON.stringify(stackNodes(controlPlanes, workers)) };
}

const nameOf = (urn: string) => urn.slice(urn.lastIndexOf("::") + 2);

/** Longest dependency chain, counting the resources `weight` says count. */
function depth(deps: Map<string, string[]>, weight: (name: string) => number): number {
  const memo = new Map<string, number>();
  const visit = (n: string): number => {
    const known = memo.get(n);
    if (known !== undefined) return known;
    memo.set(n, 0); // cycles cannot happen in a Pulumi graph; this only guards the recursion
    const d = weight(n) + Math.max(0, ...(deps.get(n) ?? []).map(visit));
    memo.set(n, d);
    return d;
  };
  return Math.max(0, ...[...deps.keys()].map(visit));
}

async function main(): Promise<void> {
  const started = process.hrtime.bigint();
  const mocks = await installMocks({ stack: "bench", config: config() });
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the program must load after the mocks
  const program = require("../index") as Record<string, unknown>;
  await Promise.all(
    Object.values(program)
      .filter((v): v is pulumi.Output<unknown> => pulumi.Output.isInstance(v))
      .map((o) => promiseOf(o)),
  );
  await new Promise((r) => setTimeout(r, 20));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;

  const custom = mocks.resources.filter((r) => r.custom);
  const types = new Map(custom.map((r) => [r.name, r.type]));
  const deps = new Map(
    custom.map((r) => [r.name, (r.options?.dependencies ?? []).map(nameOf).filter((d) => types.has(d))]),
  );
  const isRollout = (n: string) => types.get(n) === "command:local:Command";
  const nodes = controlPlanes + workers;
  const configInvokes = mocks.invokes.filter(
    (i) => i.token === "talos:machine/getConfiguration:getConfiguration",
  );
  process.stdout.write(
    `${JSON.stringify({
      nodes: `${controlPlanes}+${workers}`,
      seconds,
      peakMiB: process.resourceUsage().maxRSS / 1024,
      resources: mocks.resources.length,
      resourcesPerNode: mocks.resources.length / nodes,
      configInvokes: configInvokes.length,
      configInvokesPerNode: configInvokes.length / nodes,
      depth: depth(deps, () => 1),
      provisioningDepth: depth(deps, (n) => (isRollout(n) ? 0 : 1)),
      problems: mocks.problems.length,
    })}\n`,
  );
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
