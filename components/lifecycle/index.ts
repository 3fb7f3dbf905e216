/**
 * Node lifecycle: what happens to a machine when it leaves the stack file, and to every machine at teardown.
 *
 * Why a command of its own, and not the config apply's `onDestroy`:
 * - the provider reads `onDestroy` from the old state on delete (terraform-provider-talos v0.11.0
 *   talos_machine_configuration_apply_resource.go Delete), so turning `resetOnDestroy` on in the change that
 *   removes a node reset nothing, and a rename (a new apply, then the old one's delete) wiped the live machine;
 * - the engine deletes what left the program only after the program has run, so any delete-time cleanup comes
 *   after the `up`'s final health check, which then fails on the removed node's Kubernetes Node and etcd member
 *   ("unexpected nodes", "etcd member ips ... are not subset of control plane node ips": talos
 *   pkg/cluster/cluster.go NodesMatch, pkg/cluster/check/etcd.go).
 * So the config applies never reset, and one cluster-wide command, `<name>-membership`, registered in every run
 * after the applies and before the health checks, keeps the members in line: its update compares the member table
 * it printed last time (PULUMI_COMMAND_STDOUT) with the stack's, and decommissions the nodes that left
 * (scripts/membership.sh), with the settings of this run. Its delete is the teardown (scripts/teardown.sh).
 * A rename keeps the address, so it is never a removal: the old apply's delete does nothing, the new apply
 * reconfigures the same machine, and the Node object left under the old hostname is deleted.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type { ClusterSpec } from "../config/spec";

/** The scripts in ./scripts a command or probe runs. */
export type LifecycleScript = "membership" | "teardown" | "drift-probe";

const SCRIPTS_DIR = path.join(__dirname, "scripts");

/** The self-contained program a command runs with `bash -c`: scripts/lib.sh, then the script. Holds no secret. */
export function lifecycleScript(name: LifecycleScript): string {
  const lib = fs.readFileSync(path.join(SCRIPTS_DIR, "lib.sh"), "utf8");
  return `${lib}\n${fs.readFileSync(path.join(SCRIPTS_DIR, `${name}.sh`), "utf8")}`;
}

/** The first line of every member table (scripts/lib.sh MEMBER_TABLE_HEADER). */
export const MEMBER_TABLE_HEADER = "# homelab members v1: name address role hostname";

/**
 * The stack's members as the scripts read them: one `name address role hostname` line per node, in stack-file
 * order. Names, addresses and hostnames are validated single tokens, so a space separates them safely.
 */
export function memberTable(spec: Pick<ClusterSpec, "nodes">): string {
  return [
    MEMBER_TABLE_HEADER,
    ...spec.nodes.map((n) => `${n.name} ${n.address} ${n.role} ${n.hostname}`),
  ].join("\n");
}

/**
 * The only ungraceful reset the lifecycle step ever does, declared in its environment so the policy pack can
 * check it: at teardown, the last control plane standing, which etcd never lets leave.
 */
export const UNGRACEFUL_AT_TEARDOWN = "last-etcd-member-at-teardown";

/** Marks the membership command for the policy pack (`node-lifecycle-reset-requires-opt-in`). */
export const MEMBERSHIP_STEP = "membership";

/** The membership command's environment, all but the credentials. */
export function membershipEnvironment(spec: ClusterSpec): Record<string, string> {
  return {
    HOMELAB_STEP: MEMBERSHIP_STEP,
    MEMBERS: memberTable(spec),
    // Read by the update (nodes removed in this run) and, from the state, by the delete (teardown).
    RESET: String(spec.resetOnDestroy),
    UNGRACEFUL: UNGRACEFUL_AT_TEARDOWN,
    ACTION_TIMEOUT: spec.upgrade.nodeTimeout,
    PROBE_TIMEOUT: "20",
    JOIN_TIMEOUT: "600",
  };
}

export interface ClusterMembershipArgs {
  /** The validated cluster: its nodes, `resetOnDestroy`, `upgrade.nodeTimeout` (reset and shutdown timeout). */
  readonly spec: ClusterSpec;
  /** talosconfig (control planes as endpoints); a secret environment variable of the command only. */
  readonly talosconfig: pulumi.Input<string>;
  /** Admin kubeconfig, to delete the Node objects of removed nodes; a secret environment variable only. */
  readonly kubeconfig: pulumi.Input<string>;
  /** What must be done first: every config apply (a renamed node has its new hostname) and the kubeconfig. */
  readonly dependsOn: pulumi.Input<pulumi.Resource>[];
}

/** The membership step of one cluster. Child: `${name}-membership` (command.local.Command). */
export class ClusterMembership extends pulumi.ComponentResource {
  /** Runs in every `up` whose members or settings changed; deleted (teardown) by `pulumi destroy`. */
  public readonly command: command.local.Command;

  constructor(name: string, args: ClusterMembershipArgs, opts?: pulumi.ComponentResourceOptions) {
    super("homelab:lifecycle:ClusterMembership", name, {}, opts);
    this.command = new command.local.Command(
      `${name}-membership`,
      {
        create: lifecycleScript("membership"),
        // No `update`: an update runs `create` again, with the previous table in PULUMI_COMMAND_STDOUT.
        delete: lifecycleScript("teardown"),
        interpreter: ["/bin/bash", "-c"],
        environment: {
          ...membershipEnvironment(args.spec),
          TALOSCONFIG_DATA: pulumi.secret(args.talosconfig),
          KUBECONFIG_DATA: pulumi.secret(args.kubeconfig),
        },
        // Progress goes to stderr; stdout is the member table the next run compares with.
        logging: command.types.enums.local.Logging.StdoutAndStderr,
      },
      { parent: this, dependsOn: args.dependsOn },
    );
    this.registerOutputs({});
  }
}
