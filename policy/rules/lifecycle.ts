/**
 * Rules against losing the cluster by a destructive operation: deleting its CA, wiping nodes, rebooting every
 * node at once, or asking Talos to bootstrap etcd a second time.
 */
import { rule } from "./rule";
import { configOf, isRecord, TYPES } from "./support";

/** Losing the machine secrets is losing the cluster's CA: no `pulumi destroy` or replacement may delete them. */
export const machineSecretsProtected = rule(
  "talos-machine-secrets-protected",
  "The Talos machine secrets (the cluster's CA keys and tokens) must be `protect`ed.",
  (args, report) => {
    if (args.type === TYPES.talosSecrets && args.opts.protect !== true) {
      report(
        "talos:machine/secrets:Secrets must be created with `protect: true`; deleting it loses the cluster's CA. " +
          "To tear the cluster down on purpose, `pulumi state unprotect` it first.",
      );
    }
  },
  { severity: "critical" },
);

interface ResetConfig {
  allowResetOnDestroy?: boolean;
  allowUngracefulReset?: boolean;
}

/**
 * A config apply that resets its node on destroy: only with the stack's opt-in (`homelab:resetOnDestroy: true`,
 * passed to this pack as `allowResetOnDestroy`), and only gracefully (the node leaves etcd and is drained first,
 * so a control plane reset never costs quorum by surprise). The program itself never asks a config apply to reset
 * (the provider would read it from the old state, see `nodeLifecycleResetRequiresOptIn`); this keeps a change to
 * that in check.
 */
export const resetOnDestroyRequiresOptIn = rule(
  "reset-on-destroy-requires-opt-in",
  "A config apply may reset its node on destroy only when the stack opts in, and only gracefully.",
  (args, report) => {
    if (args.type !== TYPES.talosConfigurationApply) {
      return;
    }
    const onDestroy = args.props.onDestroy;
    if (!isRecord(onDestroy) || onDestroy.reset !== true) {
      return;
    }
    const config = configOf<ResetConfig>(args);
    if (config.allowResetOnDestroy !== true) {
      report(
        "onDestroy.reset is true but the stack has not opted in: set `homelab:resetOnDestroy: true` in the stack " +
          "file (the workflows pass it to the policy pack as allowResetOnDestroy).",
      );
    }
    if (onDestroy.graceful === false && config.allowUngracefulReset !== true) {
      report("onDestroy.graceful is false: the node would be wiped without leaving etcd or draining first.");
    }
  },
  {
    severity: "critical",
    configSchema: {
      properties: {
        allowResetOnDestroy: { type: "boolean", default: false },
        allowUngracefulReset: { type: "boolean", default: false },
      },
    },
  },
);

/** The environment value with which the membership command declares its one ungraceful reset. */
export const UNGRACEFUL_AT_TEARDOWN = "last-etcd-member-at-teardown";

/**
 * The membership command (components/lifecycle, environment `HOMELAB_STEP=membership`) decommissions the nodes
 * that leave the stack and, on `pulumi destroy`, the whole cluster. It may wipe machines (`RESET=true`) only with
 * the stack's opt-in. Its resets are graceful (drained, out of etcd first) with exactly one exception it declares
 * as `UNGRACEFUL=last-etcd-member-at-teardown`: at teardown, the last control plane standing, which etcd never
 * lets leave, so a graceful reset of it could only fail and the teardown of a one-control-plane cluster never
 * complete. Any other ungraceful reset needs `allowUngracefulReset`.
 */
export const nodeLifecycleResetRequiresOptIn = rule(
  "node-lifecycle-reset-requires-opt-in",
  "The node lifecycle step may wipe machines only when the stack opts in, and reset ungracefully only the last etcd member at teardown.",
  (args, report) => {
    if (args.type !== TYPES.localCommand) {
      return;
    }
    const env = args.props.environment;
    if (!isRecord(env) || env.HOMELAB_STEP !== "membership") {
      return;
    }
    const config = configOf<ResetConfig>(args);
    if (env.RESET !== "false" && config.allowResetOnDestroy !== true) {
      report(
        `RESET is ${JSON.stringify(env.RESET)}: removed nodes, and every node at teardown, would be wiped, but the ` +
          "stack has not opted in: set `homelab:resetOnDestroy: true` in the stack file (the workflows pass it to " +
          "the policy pack as allowResetOnDestroy).",
      );
    }
    if (
      env.UNGRACEFUL !== UNGRACEFUL_AT_TEARDOWN &&
      env.UNGRACEFUL !== "none" &&
      config.allowUngracefulReset !== true
    ) {
      report(
        `UNGRACEFUL is ${JSON.stringify(env.UNGRACEFUL)}: the only ungraceful reset allowed is the last etcd ` +
          `member's at teardown ("${UNGRACEFUL_AT_TEARDOWN}"), or none.`,
      );
    }
  },
  {
    severity: "critical",
    configSchema: {
      properties: {
        allowResetOnDestroy: { type: "boolean", default: false },
        allowUngracefulReset: { type: "boolean", default: false },
      },
    },
  },
);

interface ApplyModeConfig {
  allowRebootApplyMode?: boolean;
}

const APPLY_MODES = new Set(["auto", "reboot", "no_reboot", "staged", "staged_if_needing_reboot"]);

/**
 * `applyMode: reboot` reboots every node on any config change, all at once: control planes together lose etcd
 * quorum. The default (`auto`) reboots only when a change needs it, and upgrades go node by node.
 */
export const applyModeNoForcedReboot = rule(
  "apply-mode-no-forced-reboot",
  "Config applies must not force a reboot of every node (applyMode `reboot`) unless explicitly allowed.",
  (args, report) => {
    if (args.type !== TYPES.talosConfigurationApply) {
      return;
    }
    const mode = args.props.applyMode;
    if (mode === undefined) {
      return;
    }
    if (typeof mode !== "string" || !APPLY_MODES.has(mode)) {
      report(`applyMode ${JSON.stringify(mode)} is not one the provider knows.`);
      return;
    }
    if (mode === "reboot" && configOf<ApplyModeConfig>(args).allowRebootApplyMode !== true) {
      report("applyMode `reboot` reboots the node on every change; use `auto` (the default) or `staged`.");
    }
  },
  {
    severity: "high",
    configSchema: { properties: { allowRebootApplyMode: { type: "boolean", default: false } } },
  },
);

function ignores(ignoreChanges: readonly string[], property: string): boolean {
  return ignoreChanges.some((p) => p === "*" || p === property || p.startsWith(`${property}.`));
}

/**
 * Talos refuses a second bootstrap of etcd, and a replaced Bootstrap resource would try one. Rotating the client
 * credentials must therefore never replace it: the program ignores changes to them.
 */
export const bootstrapNeverReplaced = rule(
  "bootstrap-never-replaced",
  "The etcd Bootstrap resource must ignore changes to its client credentials so it is never replaced.",
  (args, report) => {
    if (args.type !== TYPES.talosBootstrap) {
      return;
    }
    if (!ignores(args.opts.ignoreChanges, "clientConfiguration")) {
      report(
        "Bootstrap must set `ignoreChanges` covering clientConfiguration (or `*`): a credential rotation would " +
          "otherwise replace it and Talos would be asked to bootstrap etcd a second time.",
      );
    }
  },
  { severity: "high" },
);
