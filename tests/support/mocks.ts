/**
 * Strict, realistic Pulumi mocks shared by every test file (and by the fake-engine harness).
 *
 * Strict: a resource or invoke token nothing in this project should use fails the program, and every Talos
 * resource and invoke is checked against the provider contract derived from the v0.8.1 schema
 * (tests/fixtures/talos-provider-contract.json): unknown input names, missing required inputs, wrong types,
 * object inputs with unknown or missing fields, plus the few value checks the provider itself makes at plan
 * time (contract.ts). Every violation is recorded in `problems` AND thrown, so the Output behind it rejects.
 *
 * Realistic: outputs have the shapes and secrecy the real provider gives them (PEM material base64-encoded
 * as Talos does, YAML configs with the patches merged, schema-secret outputs marked secret), ids are
 * deterministic (talos-answers.ts), and during a preview the values a provider only learns by creating
 * something are unknown.
 *
 * `installMocks` also wraps the mock monitor so the registration options the SDK sends to the engine
 * (version, pluginDownloadURL, additionalSecretOutputs, parent, ...) are recorded: `pulumi.runtime.Mocks`
 * alone never sees them. The mock monitor ignores `additionalSecretOutputs`; these mocks honour it.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- inputs and state are untyped wire data whatever the program sends */
import * as pulumi from "@pulumi/pulumi";
import {
  COMMAND_TOKEN,
  commandState,
  COMPONENT_TOKEN,
  KUBERNETES_TOKEN,
  kubernetesState,
  PROVIDER_TOKEN,
  unknownCommandInputs,
} from "./other-providers";
import { talosInvokeAnswer, talosResourceAnswer } from "./talos-answers";
import { contractViolations, shapeHasSecret, TALOS_CONTRACT, type ContractEntry } from "./contract";
import {
  requestOptions,
  requestSecretPaths,
  secretPaths,
  UNKNOWN,
  unwrapSecrets,
  type RequestOptions,
  type WireRequest,
} from "./wire";

// ---------------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------------

export interface RecordedResource {
  type: string;
  name: string;
  /** Inputs with the secret wrappers removed (unknowns, in a preview, are `pulumi` Unknown values). */
  inputs: Record<string, any>;
  /** Top-level input names whose value was, or contained, a secret. */
  secretInputs: string[];
  /** Exactly where the secrets were (`configPatches[3]`; a whole input: its name). */
  secretPaths: string[];
  id: string;
  urn?: string;
  /** Provider reference (`urn::id`) when one was passed explicitly or inherited; unset for default providers. */
  provider?: string;
  custom: boolean;
  /** True for `Resource.get`-style reads. */
  read?: boolean;
  /** The state the mocks answered with (secret values unwrapped). */
  outputs?: Record<string, any>;
  /** Registration options, recorded only when the mocks were installed with {@link installMocks}. */
  options?: RequestOptions;
}

export interface RecordedInvoke {
  token: string;
  /** Invoke inputs. The SDK strips secret markers from invoke arguments before they reach the engine. */
  inputs: Record<string, any>;
  provider?: string;
  /** Recorded only when the mocks were installed with {@link installMocks}. */
  options?: Pick<RequestOptions, "version" | "pluginDownloadURL">;
}

export interface StrictMocks extends pulumi.runtime.Mocks {
  resources: RecordedResource[];
  invokes: RecordedInvoke[];
  problems: string[];
  reset(): void;
  /**
   * Hands the options of the registration or invoke the mock monitor is about to pass to `newResource`/`call`
   * to the mocks (the monitor does not). {@link installMocks} calls it; a custom harness may too.
   */
  annotateNext(meta: PendingRequest): void;
}

/** Options of the request the monitor is about to forward; `record` is filled in by the mocks. */
export interface PendingRequest extends RequestOptions {
  kind: "register" | "read" | "invoke";
  /** Resource type or invoke token, to match the annotation with the call it belongs to. */
  type: string;
  name?: string;
  record?: RecordedResource | RecordedInvoke;
  /** A registration's secret paths as the SDK sent them (see `requestSecretPaths`). */
  wireSecretPaths?: string[];
}

export interface StrictMockOptions {
  /** Return an error message to make an invoke fail (as the provider would, e.g. a health check timing out). */
  failInvoke?: (token: string, inputs: any) => string | undefined;
  /**
   * What a preview answers for outputs only the provider computes: "unknown" (default, a new stack) or "known"
   * (a stack whose resources exist: the engine returns their last outputs), e.g. for checks that run at preview.
   */
  previewOutputs?: "unknown" | "known";
  /** Additional invoke tokens to answer, for functions a test deliberately brings in. */
  extraInvokes?: Record<string, (inputs: Record<string, any>) => Record<string, any>>;
}

/**
 * The SDK reports a failed invoke with `new Error(err.details)`, the gRPC error's details: a plain Error
 * thrown by a mock would reach the program as an empty message. Carrying `details` keeps the message.
 */
class MockProviderError extends Error {
  readonly details: string;
  constructor(message: string) {
    super(message);
    this.name = "MockProviderError";
    this.details = message;
  }
}

// ---------------------------------------------------------------------------------------------------
// The mocks
// ---------------------------------------------------------------------------------------------------

const ANSWERS = "tests/support/talos-answers.ts";

export function createStrictMocks(options: StrictMockOptions = {}): StrictMocks {
  const contract = TALOS_CONTRACT;
  let pending: PendingRequest | undefined;
  const previewUnknown = (): boolean => pulumi.runtime.isDryRun() && options.previewOutputs !== "known";

  const takePending = (
    kind: PendingRequest["kind"],
    type: string,
    name?: string,
  ): PendingRequest | undefined => {
    const p = pending;
    pending = undefined;
    return p && p.kind === kind && p.type === type && (name === undefined || p.name === name) ? p : undefined;
  };

  const fail = (message: string): never => {
    mocks.problems.push(message);
    throw new MockProviderError(message);
  };

  /** Contract violations are problems, and the request fails with all of them. */
  const checkContract = (token: string, what: string, entry: ContractEntry, inputs: Record<string, any>) => {
    const violations = contractViolations(token, what, entry, inputs);
    if (violations.length === 0) return;
    mocks.problems.push(...violations);
    throw new MockProviderError(violations.join("\n"));
  };

  const lastClusterName = (): string => {
    for (let i = mocks.invokes.length - 1; i >= 0; i--) {
      const inv = mocks.invokes[i];
      if (
        inv.token === "talos:machine/getConfiguration:getConfiguration" &&
        typeof inv.inputs.clusterName === "string"
      ) {
        return inv.inputs.clusterName;
      }
    }
    return "talos-default";
  };

  const checkPin = (what: string, meta: PendingRequest | undefined, provider: string | undefined): void => {
    // Without the monitor wrapper the options are invisible; with an explicit provider, it carries the pin.
    if (!meta || provider) return;
    const { version, pluginDownloadURL } = contract.package;
    if (meta.version !== version)
      fail(`${what}: plugin version "${meta.version ?? ""}" is not the pinned ${version}`);
    if (meta.pluginDownloadURL !== pluginDownloadURL) {
      fail(`${what}: pluginDownloadURL "${meta.pluginDownloadURL ?? ""}" is not ${pluginDownloadURL}`);
    }
  };

  /** Marks outputs secret the way the engine and provider would, and makes them unknown where a preview would. */
  const finishTalosState = (
    token: string,
    entry: ContractEntry,
    state: Record<string, any>,
    secret: string[] = [],
    computed: string[] = [],
  ): Record<string, any> => {
    const out: Record<string, any> = {};
    for (const [k, v] of Object.entries(state)) {
      if (v === undefined) continue;
      if (!entry.outputs[k]) throw new Error(`mocks bug: ${token} has no output "${k}"`);
      if (previewUnknown() && computed.includes(k)) {
        out[k] = UNKNOWN;
      } else if (shapeHasSecret(entry.outputs[k]) || secret.includes(k)) {
        out[k] = pulumi.secret(v);
      } else {
        out[k] = v;
      }
    }
    return out;
  };

  const mocks: StrictMocks = {
    resources: [],
    invokes: [],
    problems: [],

    reset() {
      mocks.resources.length = 0;
      mocks.invokes.length = 0;
      mocks.problems.length = 0;
      pending = undefined;
    },

    annotateNext(meta: PendingRequest) {
      pending = meta;
    },

    newResource(args: pulumi.runtime.MockResourceArgs): pulumi.runtime.MockResourceResult {
      const custom = args.custom !== false;
      const read = args.id !== undefined && args.id !== "";
      const meta = takePending(read && custom ? "read" : "register", args.type, args.name);
      const { type, name } = args;
      const secretInputs: string[] = [];
      const secretPathList: string[] = [];
      const inputs: Record<string, any> = {};
      for (const [k, v] of Object.entries((args.inputs ?? {}) as Record<string, unknown>)) {
        const r = unwrapSecrets(v);
        inputs[k] = r.value;
        if (r.secret) secretInputs.push(k);
        secretPathList.push(...secretPaths(v, k));
      }
      const record: RecordedResource = {
        type,
        name,
        inputs,
        secretInputs,
        secretPaths: meta?.wireSecretPaths ?? secretPathList,
        id: "",
        custom,
        ...(args.provider ? { provider: args.provider } : {}),
        ...(read ? { read } : {}),
        ...(meta ? { options: optionsOf(meta) } : {}),
      };
      mocks.resources.push(record);
      if (meta) meta.record = record;
      const what = `${type} "${name}"`;

      const finish = (id: string, state: Record<string, any>): pulumi.runtime.MockResourceResult => {
        record.id = id;
        record.outputs = unwrapSecrets(state).value;
        return { id: previewUnknown() && !read ? "" : id, state };
      };

      if (!custom) {
        if (!COMPONENT_TOKEN.test(type)) fail(`${what}: "${type}" is not a valid component type token`);
        return finish("", {});
      }

      const entry = contract.resources[type];
      if (entry) {
        checkContract(type, what, entry, inputs);
        checkPin(what, meta, args.provider);
        const { id, state, computed } =
          talosResourceAnswer(type, name, inputs, lastClusterName) ??
          fail(`${what}: the mocks have no outputs for this Talos resource; add them to ${ANSWERS}`);
        return finish(
          id,
          finishTalosState(
            type,
            entry,
            state,
            [...secretInputs, ...(meta?.additionalSecretOutputs ?? [])],
            computed,
          ),
        );
      }
      if (type.startsWith("talos:")) {
        return fail(
          `${what}: unknown Talos resource token "${type}" (not in the provider v${contract.package.version} contract)`,
        );
      }
      if (KUBERNETES_TOKEN.test(type))
        return finish(`${name}-id`, kubernetesState(type, name, inputs, previewUnknown()));
      if (type === COMMAND_TOKEN) {
        const unknownInputs = unknownCommandInputs(inputs);
        if (unknownInputs.length > 0) fail(`${what}: unknown input(s) ${unknownInputs.join(", ")}`);
        return finish(`${name}-id`, commandState(inputs, previewUnknown()));
      }
      if (PROVIDER_TOKEN.test(type)) return finish(`${name}-id`, { ...inputs });
      return fail(
        `${what}: unknown resource token "${type}"; the mocks allow the Talos provider's tokens, kubernetes:*, ` +
          "command:local:Command and pulumi:providers:*",
      );
    },

    call(args: pulumi.runtime.MockCallArgs): pulumi.runtime.MockCallResult {
      const { token } = args;
      const meta = takePending("invoke", token);
      const inputs = unwrapSecrets(args.inputs ?? {}).value as Record<string, any>;
      const record: RecordedInvoke = {
        token,
        inputs,
        ...(args.provider ? { provider: args.provider } : {}),
        ...(meta ? { options: { version: meta.version, pluginDownloadURL: meta.pluginDownloadURL } } : {}),
      };
      mocks.invokes.push(record);
      if (meta) meta.record = record;
      const what = `invoke ${token}`;

      const entry = contract.functions[token];
      const extra = options.extraInvokes?.[token];
      if (!entry && !extra) {
        fail(
          `${what}: unknown invoke token "${token}"; the mocks answer the Talos provider's functions only`,
        );
      }
      if (entry) {
        checkContract(token, what, entry, inputs);
        checkPin(what, meta, args.provider);
      }
      // An injected failure is the scenario under test, not a contract violation: no problem recorded.
      const injected = options.failInvoke?.(token, inputs);
      if (injected) throw new MockProviderError(`${what}: ${injected}`);
      if (extra) return extra(inputs);
      const result =
        talosInvokeAnswer(token, inputs) ??
        fail(`${token}: the mocks have no result for this Talos function; add it to ${ANSWERS}`);
      return finishTalosState(token, entry!, result);
    },
  };
  return mocks;
}

function optionsOf(meta: PendingRequest): RequestOptions {
  const { kind: _kind, type: _type, name: _name, record: _record, wireSecretPaths: _paths, ...rest } = meta;
  return rest;
}

// ---------------------------------------------------------------------------------------------------
// Installing
// ---------------------------------------------------------------------------------------------------

type Callback = (err: unknown, response: { getUrn?(): string } | undefined) => void;
type MonitorMethod = (req: WireRequest, callback: Callback) => unknown;

/**
 * Wraps the mock monitor so the request options reach the mocks. The mock monitor calls `newResource`/`call`
 * synchronously at the start of each request, so the annotation set just before is the one it belongs to.
 */
function wrapMonitor(mocks: StrictMocks): void {
  const monitor = pulumi.runtime.getMonitor() as unknown as Record<string, MonitorMethod> | undefined;
  if (!monitor || typeof monitor.registerResource !== "function") {
    throw new Error("installMocks: no mock monitor to wrap; pulumi.runtime.setMocks did not take effect");
  }
  const wrap = (method: "registerResource" | "readResource" | "invoke", kind: PendingRequest["kind"]) => {
    const original = monitor[method].bind(monitor);
    monitor[method] = (req, callback) => {
      const meta: PendingRequest = {
        kind,
        type: (kind === "invoke" ? req.getTok?.() : req.getType?.()) ?? "",
        ...(kind === "invoke" ? {} : { name: req.getName?.() }),
        ...requestOptions(req),
      };
      if (kind === "register") {
        const paths = requestSecretPaths(req);
        if (paths) meta.wireSecretPaths = paths;
      }
      mocks.annotateNext(meta);
      return original(req, (err, response) => {
        if (!err && response?.getUrn && meta.record && "type" in meta.record)
          meta.record.urn = response.getUrn();
        callback(err, response);
      });
    };
  };
  wrap("registerResource", "register");
  wrap("readResource", "read");
  wrap("invoke", "invoke");
}

export interface InstallMocksOptions extends StrictMockOptions {
  stack?: string;
  preview?: boolean;
  /** Stack config; a key without a namespace (`nodes`) is read as `homelab:nodes`. Values are strings (JSON for objects). */
  config?: Record<string, string>;
  /** Config keys (as in `config`) the CLI would hand over as secret (PULUMI_CONFIG_SECRET_KEYS). */
  secretKeys?: string[];
}

/**
 * Installs strict mocks for this process (test file). Call it, and await it, BEFORE importing the program or
 * constructing resources: config is read when the program's modules load.
 */
export async function installMocks(opts: InstallMocksOptions = {}): Promise<StrictMocks> {
  // The project name in Pulumi.yaml.
  const project = "homelab";
  const stack = opts.stack ?? "test";
  const mocks = createStrictMocks(opts);
  await pulumi.runtime.setMocks(mocks, project, stack, opts.preview ?? false);
  wrapMonitor(mocks);
  const qualify = (k: string) => (k.includes(":") ? k : `${project}:${k}`);
  const config: Record<string, string> = {};
  for (const [k, v] of Object.entries(opts.config ?? {})) config[qualify(k)] = v;
  pulumi.runtime.setAllConfig(config, (opts.secretKeys ?? []).map(qualify));
  return mocks;
}
