/**
 * Drift detection: does every node run the configuration the stack renders for it? The provider cannot tell
 * (talos_machine_configuration_apply Read is a no-op, so `pulumi refresh` sees nothing), and a machine
 * reinstalled with the same address and name is never reconfigured by a plain `pulumi up`. With
 * HOMELAB_CHECK_DRIFT=1 (the nightly drift job sets it), the program asks each node (scripts/drift-probe.sh: a
 * `talosctl apply-config --dry-run` of the rendered config, answered by the node's own diff) and fails, naming
 * every drifted node and the one command that reconverges it. Nodes whose config apply changes in this run are
 * not asked (their rendered config is unknown in a preview; the `up` applies it anyway).
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type * as talos from "@pulumiverse/talos";
import type { ClusterSpec } from "../config/spec";
import { lifecycleScript } from "./index";

/** The environment variable that turns the check on (`1` or `true`). */
export const DRIFT_CHECK_ENV = "HOMELAB_CHECK_DRIFT";

export function driftCheckRequested(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = env[DRIFT_CHECK_ENV];
  return v === "1" || v === "true";
}

export type DriftStatus = "in-sync" | "differs" | "maintenance" | "refused" | "unreachable";

export interface DriftFinding {
  readonly node: string;
  readonly address: string;
  /** URN of the node's config apply: `pulumi up --replace <urn>` reconverges it. */
  readonly urn: string;
  /** The probe's one-line answer (scripts/drift-probe.sh). */
  readonly answer: string;
}

const STATUSES: readonly DriftStatus[] = ["in-sync", "differs", "maintenance", "refused", "unreachable"];

/** The status word of a probe's answer; anything else (a probe bug) counts as `refused`. */
export function statusOf(answer: string): DriftStatus {
  const word = answer.trim().split(/\s+/)[0] ?? "";
  return (STATUSES as readonly string[]).includes(word) ? (word as DriftStatus) : "refused";
}

export interface DriftReport {
  /** Set when a node runs something else than the stack renders, or was wiped: the run must fail. */
  readonly error?: string;
  /** Nodes that could not be asked: reported, not failed (a node being rebooted, a powered-off spare). */
  readonly warnings: string[];
  /** One line per node, for the component's outputs. */
  readonly summary: string[];
}

/** What the findings mean for the run. Pure: the probes' answers in, the messages out. */
export function driftReport(findings: readonly DriftFinding[], stack: string): DriftReport {
  const drifted: string[] = [];
  const warnings: string[] = [];
  const summary: string[] = [];
  for (const f of findings) {
    const status = statusOf(f.answer);
    const who = `node ${f.node} (${f.address})`;
    summary.push(`${f.node}: ${status}`);
    const fix = `pulumi up --stack ${stack} --replace '${f.urn}'`;
    if (status === "differs") {
      const detail = f.answer.trim().slice("differs".length).trim();
      drifted.push(
        `✖ ${who} runs a configuration that differs from what the stack renders${detail ? ` (${detail})` : ""}: ` +
          `changed by hand, or a command like talosctl upgrade-k8s ran outside Pulumi. To put the stack's back: ${fix}`,
      );
    } else if (status === "maintenance") {
      drifted.push(
        `✖ ${who} is in maintenance mode: it was wiped or reinstalled, and pulumi up alone will not configure it ` +
          `again (the provider never reads a node back). To configure it again: ${fix}`,
      );
    } else if (status === "refused") {
      warnings.push(`drift check: ${who} answers but refused the dry run of its rendered configuration`);
    } else if (status === "unreachable") {
      warnings.push(`drift check: ${who} does not answer the Talos API (powered off, rebooting, or gone?)`);
    }
  }
  const error =
    drifted.length > 0
      ? [
          `Drift: ${drifted.length} node(s) do not run what Pulumi.${stack}.yaml renders (nothing was changed):`,
          ...drifted,
          "Add the policy pack options of docs/operations.md to each command.",
        ].join("\n")
      : undefined;
  return { error, warnings, summary };
}

export interface DriftCheckArgs {
  readonly spec: ClusterSpec;
  /** Config applies by node name. */
  readonly applies: Readonly<Record<string, talos.machine.ConfigurationApply>>;
  /** talosconfig (secret): the probes' credentials. */
  readonly talosconfig: pulumi.Input<string>;
}

/**
 * Asks every node (one `command:local:run` invoke each, after its config apply) and resolves to the summary, or
 * rejects with a `RunError` listing the drifted nodes. Hand the result to `registerOutputs` so a rejection fails
 * the run.
 */
export function checkDrift(args: DriftCheckArgs, parent: pulumi.Resource): pulumi.Output<string[]> {
  const script = lifecycleScript("drift-probe");
  const findings = args.spec.nodes.map((node) => {
    const apply = args.applies[node.name];
    const probe = command.local.runOutput(
      {
        command: script,
        interpreter: ["/bin/bash", "-c"],
        // The rendered config (a secret output of the apply) reaches talosctl through stdin and a 0600 file.
        stdin: apply.machineConfiguration,
        environment: {
          NODE: node.address,
          NODE_NAME: node.name,
          PROBE_TIMEOUT: "20",
          TALOSCONFIG_DATA: pulumi.secret(args.talosconfig),
        },
      },
      { parent, dependsOn: [apply] },
    );
    return pulumi
      .all([probe.stdout, apply.urn])
      .apply(([answer, urn]): DriftFinding => ({ node: node.name, address: node.address, urn, answer }));
  });
  return pulumi.all(findings).apply((all) => {
    const report = driftReport(all, pulumi.getStack());
    for (const w of report.warnings) void pulumi.log.warn(w, parent);
    if (report.error) throw new pulumi.RunError(report.error);
    return report.summary;
  });
}
