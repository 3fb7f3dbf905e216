/**
 * An in-process stand-in for the Pulumi engine: the `Engine` and `ResourceMonitor` gRPC services a Pulumi
 * program talks to, served on 127.0.0.1 from the test process. It lets a test run the real program through
 * `@pulumi/pulumi/cmd/run` (see run-program.ts) without the Pulumi CLI.
 *
 * What it does with each request:
 * - RegisterResource / ReadResource: records everything the program asked for (options included), asks a
 *   `pulumi.runtime.Mocks` object for the resulting id and state, and answers with them.
 * - Invoke: records the call and answers with the mocks' `call` result.
 * - RegisterResourceOutputs: records the outputs; on the root `pulumi:pulumi:Stack` these are the stack outputs.
 * - Log: records severity and text.
 * - SupportsFeature: says yes to what the real engine supports *and this fake implements*; transforms and
 *   resource/error hooks need the engine to call back into the program, which this fake does not do, so it says
 *   no and the SDK fails loudly if the program uses them (rather than silently skipping them).
 *
 * Values cross the wire in the SDK's own encoding (secrets and resources as signature-tagged objects, unknowns as
 * a sentinel string); they are decoded and encoded with the SDK's `runtime/rpc` helpers.
 */
import * as grpc from "@grpc/grpc-js";
import * as pulumi from "@pulumi/pulumi";
import * as aliasProto from "@pulumi/pulumi/proto/alias_pb";
import * as engineRpc from "@pulumi/pulumi/proto/engine_grpc_pb";
import * as engineProto from "@pulumi/pulumi/proto/engine_pb";
import * as providerProto from "@pulumi/pulumi/proto/provider_pb";
import * as resourceRpc from "@pulumi/pulumi/proto/resource_grpc_pb";
import * as resourceProto from "@pulumi/pulumi/proto/resource_pb";
import * as rpc from "@pulumi/pulumi/runtime/rpc";
import * as gempty from "google-protobuf/google/protobuf/empty_pb";
import * as gstruct from "google-protobuf/google/protobuf/struct_pb";
import type { PendingRequest } from "./mocks";
import { requestOptions } from "./wire";

/** The type token the SDK registers the root stack resource under. */
export const ROOT_STACK_TYPE = "pulumi:pulumi:Stack";

/** Features the real engine reports and this fake honours. Anything else is answered "not supported". */
const SUPPORTED_FEATURES: ReadonlySet<string> = new Set([
  "secrets",
  "resourceReferences",
  "outputValues",
  "deletedWith",
  "replaceWith",
  "aliasSpecs",
  "parameterization",
]);

export type LogSeverity = "debug" | "info" | "warning" | "error";

export interface RecordedLog {
  severity: LogSeverity;
  message: string;
  /** URN of the resource the message is about, "" if none. */
  urn: string;
  streamId: number;
  ephemeral: boolean;
}

export interface RecordedAlias {
  urn?: string;
  name?: string;
  type?: string;
  stack?: string;
  project?: string;
  parentUrn?: string;
  noParent?: boolean;
}

export interface RecordedResource {
  /** "register" for new/managed resources, "read" for `get`-style reads of existing ones. */
  operation: "register" | "read";
  urn: string;
  type: string;
  name: string;
  /** Parent URN ("" only for the root stack resource). */
  parent: string;
  custom: boolean;
  remote: boolean;
  /** URNs of every resource this one depends on (explicit `dependsOn` and implicit via inputs). */
  dependencies: string[];
  /** Per-input dependencies, input name to URNs. */
  propertyDependencies: Record<string, string[]>;
  /** `undefined` when the program did not set the option. */
  protect: boolean | undefined;
  retainOnDelete: boolean | undefined;
  /** `undefined` when the program did not set the option. */
  deleteBeforeReplace: boolean | undefined;
  ignoreChanges: string[];
  replaceOnChanges: string[];
  hideDiffs: string[];
  additionalSecretOutputs: string[];
  aliases: RecordedAlias[];
  version: string;
  pluginDownloadURL: string;
  packageRef: string;
  /** Provider reference (`urn::id`), "" for the default provider. */
  provider: string;
  /** Component providers by package. */
  providers: Record<string, string>;
  importId: string;
  deletedWith: string;
  replaceWith: string[];
  customTimeouts: { create: string; update: string; delete: string; read: string } | undefined;
  /** Inputs as plain values (secrets unwrapped; unknowns are `pulumi.runtime`'s `unknown` sentinel). */
  inputs: Record<string, unknown>;
  /** Names of the inputs that were secret. */
  secretInputs: string[];
  /** Id the engine answered with ("" for components and for custom resources during a preview). */
  id: string;
  /** State the mocks produced, as plain values. */
  state: Record<string, unknown>;
  /** Outputs registered later with `registerOutputs` (components and the stack), as plain values. */
  outputs?: Record<string, unknown>;
  secretOutputs?: string[];
}

export interface RecordedInvoke {
  token: string;
  /** Arguments as plain values (the SDK strips secretness from invoke arguments before sending them). */
  args: Record<string, unknown>;
  provider: string;
  version: string;
  pluginDownloadURL: string;
  packageRef: string;
}

export interface RecordedCall {
  token: string;
  args: Record<string, unknown>;
  provider: string;
  version: string;
  pluginDownloadURL: string;
}

export interface RecordedPackage {
  ref: string;
  name: string;
  version: string;
  downloadURL: string;
  parameterization?: { name: string; version: string };
}

/**
 * What strict mocks can be told about the request they are about to answer: the registration options
 * `pulumi.runtime.Mocks` alone never sees. Called right before `newResource`/`call`. The mocks fill in
 * `record`; the engine then adds the URN to it.
 */
export type RequestAnnotation = PendingRequest;

export type EngineMocks = pulumi.runtime.Mocks & { annotateNext?(meta: RequestAnnotation): void };

export interface FakeEngineOptions {
  mocks: EngineMocks;
  project: string;
  stack: string;
  /** Preview: the mocks are called with `pulumi.runtime.isDryRun()` true and decide what stays unknown. */
  dryRun: boolean;
}

/** Decoded property map: plain values plus which top-level names were secret. */
interface Decoded {
  /** What `pulumi.runtime.Mocks` receives: the SDK's decoded form, secrets still wrapped. */
  wire: Record<string, unknown>;
  plain: Record<string, unknown>;
  secret: string[];
}

// The SDK's store flags decide how `serializeProperties` encodes secrets and resources. They are internal, so
// reach them through the module's runtime exports; the fake encodes inside its own async-local store so the
// test process's global Pulumi state stays untouched.
interface StoreFlags {
  supportsSecrets: boolean;
  supportsResourceReferences: boolean;
  settings: { options: { dryRun: boolean; project: string; stack: string } };
}
interface StateInternals {
  withLocalStorage<T>(callback: () => T): T;
  getStore(): StoreFlags;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const stateInternals = require("@pulumi/pulumi/runtime/state") as StateInternals;

/** Output values (only sent for remote components) become plain values, secret-wrapped or unknown as tagged. */
function flattenOutputValues(value: unknown): unknown {
  if (Array.isArray(value)) {
    return value.map(flattenOutputValues);
  }
  if (value === null || typeof value !== "object") {
    return value;
  }
  const obj = value as Record<string, unknown>;
  if (obj[rpc.specialSigKey] === rpc.specialOutputValueSig) {
    const inner = "value" in obj ? flattenOutputValues(obj["value"]) : rpc.unknownValue;
    return obj["secret"] === true ? { [rpc.specialSigKey]: rpc.specialSecretSig, value: inner } : inner;
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    out[k] = flattenOutputValues(v);
  }
  return out;
}

function decode(struct: gstruct.Struct | undefined): Decoded {
  const raw = flattenOutputValues(struct?.toJavaScript() ?? {}) as Record<string, unknown>;
  // Unknowns are kept (as the SDK's `unknown` sentinel) whatever this process thinks the dry-run flag is.
  const wire = rpc.deserializeProperties(
    gstruct.Struct.fromJavaScript(raw as Record<string, gstruct.JavaScriptValue>),
    true,
  );
  const plain: Record<string, unknown> = {};
  const secret: string[] = [];
  for (const [k, v] of Object.entries(wire)) {
    if (rpc.isRpcSecret(v)) {
      secret.push(k);
    }
    plain[k] = rpc.unwrapRpcSecret(v);
  }
  return { wire, plain, secret };
}

/**
 * Runs `fn` in an async-local SDK store set up like the program's: dry-run flag (mocks ask
 * `pulumi.runtime.isDryRun()` to decide what a preview leaves unknown), project, stack, and support for secrets
 * and resource references (so `serializeProperties` encodes them the way the engine would send them).
 */
function inProgramStore<T>(opts: FakeEngineOptions, fn: () => Promise<T>): Promise<T> {
  return stateInternals.withLocalStorage(async () => {
    const store = stateInternals.getStore();
    store.supportsSecrets = true;
    store.supportsResourceReferences = true;
    store.settings.options.dryRun = opts.dryRun;
    store.settings.options.project = opts.project;
    store.settings.options.stack = opts.stack;
    return fn();
  });
}

/** Encodes mock results the way the engine would send them to a program that accepts secrets and resources. */
async function encode(props: Record<string, unknown>): Promise<gstruct.Struct> {
  const serialized = await rpc.serializeProperties("fake-engine", props as pulumi.Inputs);
  return gstruct.Struct.fromJavaScript(serialized as Record<string, gstruct.JavaScriptValue>);
}

function grpcError(code: grpc.status, message: string): grpc.ServiceError {
  return Object.assign(new Error(message), { code, details: message, metadata: new grpc.Metadata() });
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

const SEVERITIES: Record<number, LogSeverity> = {
  [engineProto.LogSeverity.DEBUG]: "debug",
  [engineProto.LogSeverity.INFO]: "info",
  [engineProto.LogSeverity.WARNING]: "warning",
  [engineProto.LogSeverity.ERROR]: "error",
};

function recordAlias(alias: aliasProto.Alias): RecordedAlias {
  if (alias.hasUrn()) {
    return { urn: alias.getUrn() };
  }
  const spec = alias.getSpec();
  if (spec === undefined) {
    return {};
  }
  const out: RecordedAlias = {};
  if (spec.getName()) out.name = spec.getName();
  if (spec.getType()) out.type = spec.getType();
  if (spec.getStack()) out.stack = spec.getStack();
  if (spec.getProject()) out.project = spec.getProject();
  if (spec.hasParenturn()) out.parentUrn = spec.getParenturn();
  if (spec.hasNoparent()) out.noParent = spec.getNoparent();
  return out;
}

export class FakeEngine {
  readonly resources: RecordedResource[] = [];
  readonly invokes: RecordedInvoke[] = [];
  readonly calls: RecordedCall[] = [];
  readonly logs: RecordedLog[] = [];
  readonly packages: RecordedPackage[] = [];
  /** Features the program asked about, with the answer given. */
  readonly featureQueries: Record<string, boolean> = {};
  /** Version ranges the program required via `pulumi.runtime.requirePulumiVersion` (all accepted). */
  readonly requiredPulumiVersions: string[] = [];
  rootResourceUrn = "";
  /** Set once the SDK has said the program is done (`SignalAndWaitForShutdown`). */
  shutdownSignalled = false;

  private readonly server = new grpc.Server({
    "grpc.max_receive_message_length": 400 * 1024 * 1024,
    "grpc.max_send_message_length": 400 * 1024 * 1024,
  });
  private readonly byUrn = new Map<string, RecordedResource>();
  private port = 0;

  private constructor(private readonly opts: FakeEngineOptions) {}

  /** Starts both services on one ephemeral 127.0.0.1 port. */
  static async start(opts: FakeEngineOptions): Promise<FakeEngine> {
    const engine = new FakeEngine(opts);
    engine.server.addService(resourceRpc.ResourceMonitorService, engine.monitorService());
    engine.server.addService(engineRpc.EngineService, engine.engineService());
    engine.port = await new Promise<number>((resolve, reject) =>
      engine.server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, port) =>
        err ? reject(err) : resolve(port),
      ),
    );
    return engine;
  }

  /** `host:port` to pass as both `--monitor` and `--engine`. */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** The stack's outputs (plain values) and which of them are secret, once the program registered them. */
  get stackOutputs(): { outputs: Record<string, unknown>; secretOutputs: string[] } {
    const stack = this.resources.find((r) => r.type === ROOT_STACK_TYPE);
    return { outputs: stack?.outputs ?? {}, secretOutputs: stack?.secretOutputs ?? [] };
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, 2_000);
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** URN the way the engine builds it: the parent's qualified type is prefixed, except the root stack's. */
  private urnFor(parent: string, type: string, name: string): string {
    let qualifiedType = type;
    if (parent) {
      const parentQualifiedType = parent.split("::")[2] ?? "";
      if (parentQualifiedType && parentQualifiedType !== ROOT_STACK_TYPE) {
        qualifiedType = `${parentQualifiedType}$${type}`;
      }
    }
    return `urn:pulumi:${this.opts.stack}::${this.opts.project}::${qualifiedType}::${name}`;
  }

  private monitorService(): resourceRpc.IResourceMonitorServer {
    const unimplemented =
      (what: string) =>
      (_call: unknown, callback: (err: grpc.ServiceError | null, resp?: gempty.Empty) => void): void =>
        callback(grpcError(grpc.status.UNIMPLEMENTED, `fake engine: ${what} is not implemented`));

    return {
      getDeploymentInfo: (_call, callback) => {
        const info = new resourceProto.DeploymentInfo();
        info.setProject(this.opts.project);
        info.setStack(this.opts.stack);
        info.setDryrun(this.opts.dryRun);
        callback(null, info);
      },
      supportsFeature: (call, callback) => {
        const id = call.request.getId();
        const supported = SUPPORTED_FEATURES.has(id);
        this.featureQueries[id] = supported;
        const resp = new resourceProto.SupportsFeatureResponse();
        resp.setHassupport(supported);
        callback(null, resp);
      },
      registerResource: (call, callback) => {
        this.registerResource(call.request).then(
          (resp) => callback(null, resp),
          (err: unknown) => callback(grpcError(grpc.status.UNKNOWN, errorMessage(err))),
        );
      },
      readResource: (call, callback) => {
        this.readResource(call.request).then(
          (resp) => callback(null, resp),
          (err: unknown) => callback(grpcError(grpc.status.UNKNOWN, errorMessage(err))),
        );
      },
      registerResourceOutputs: (call, callback) => {
        const req = call.request;
        const res = this.byUrn.get(req.getUrn());
        if (!res) {
          callback(grpcError(grpc.status.NOT_FOUND, `fake engine: unknown resource ${req.getUrn()}`));
          return;
        }
        const outputs = decode(req.getOutputs());
        res.outputs = outputs.plain;
        res.secretOutputs = outputs.secret;
        callback(null, new gempty.Empty());
      },
      invoke: (call, callback) => {
        this.invoke(call.request).then(
          (resp) => callback(null, resp),
          (err: unknown) => callback(grpcError(grpc.status.UNKNOWN, errorMessage(err))),
        );
      },
      call: (call, callback) => {
        const req = call.request;
        this.calls.push({
          token: req.getTok(),
          args: decode(req.getArgs()).plain,
          provider: req.getProvider(),
          version: req.getVersion(),
          pluginDownloadURL: req.getPlugindownloadurl(),
        });
        callback(
          grpcError(
            grpc.status.UNIMPLEMENTED,
            `fake engine: method calls on remote components (${req.getTok()}) are not supported`,
          ),
        );
      },
      registerPackage: (call, callback) => {
        const req = call.request;
        const param = req.getParameterization();
        const ref = `fake-package-${this.packages.length}`;
        this.packages.push({
          ref,
          name: req.getName(),
          version: req.getVersion(),
          downloadURL: req.getDownloadUrl(),
          ...(param ? { parameterization: { name: param.getName(), version: param.getVersion() } } : {}),
        });
        const resp = new resourceProto.RegisterPackageResponse();
        resp.setRef(ref);
        callback(null, resp);
      },
      signalAndWaitForShutdown: (_call, callback) => {
        this.shutdownSignalled = true;
        callback(null, new gempty.Empty());
      },
      registerStackTransform: unimplemented("RegisterStackTransform (transforms)"),
      registerStackInvokeTransform: unimplemented("RegisterStackInvokeTransform (invoke transforms)"),
      registerResourceHook: unimplemented("RegisterResourceHook (resource hooks)"),
      registerErrorHook: unimplemented("RegisterErrorHook (error hooks)"),
    };
  }

  private engineService(): engineRpc.IEngineServer {
    return {
      log: (call, callback) => {
        const req = call.request;
        this.logs.push({
          severity: SEVERITIES[req.getSeverity()] ?? "info",
          message: req.getMessage(),
          urn: req.getUrn(),
          streamId: req.getStreamid(),
          ephemeral: req.getEphemeral(),
        });
        callback(null, new gempty.Empty());
      },
      getRootResource: (_call, callback) => {
        const resp = new engineProto.GetRootResourceResponse();
        resp.setUrn(this.rootResourceUrn);
        callback(null, resp);
      },
      setRootResource: (call, callback) => {
        this.rootResourceUrn = call.request.getUrn();
        callback(null, new engineProto.SetRootResourceResponse());
      },
      startDebugging: (_call, callback) => callback(null, new gempty.Empty()),
      requirePulumiVersion: (call, callback) => {
        this.requiredPulumiVersions.push(call.request.getPulumiVersionRange());
        callback(null, new engineProto.RequirePulumiVersionResponse());
      },
    };
  }

  /** Calls the mocks as the SDK's mock monitor does, telling strict mocks the request's options first. */
  private answer<T>(
    meta: RequestAnnotation,
    ask: () => T | Promise<T>,
  ): Promise<{ result: T; meta: RequestAnnotation }> {
    return inProgramStore(this.opts, async () => {
      // No await between the annotation and the call: the mocks pair them up synchronously.
      this.opts.mocks.annotateNext?.(meta);
      const result = await ask();
      return { result, meta };
    });
  }

  private async registerResource(
    req: resourceProto.RegisterResourceRequest,
  ): Promise<resourceProto.RegisterResourceResponse> {
    const type = req.getType();
    const name = req.getName();
    const urn = this.urnFor(req.getParent(), type, name);
    if (this.byUrn.has(urn)) {
      throw new Error(`Duplicate resource URN '${urn}'; try giving it a unique name`);
    }
    const inputs = decode(req.getObject());
    const custom = req.getCustom();
    const timeouts = req.getCustomtimeouts();
    const propertyDependencies: Record<string, string[]> = {};
    req.getPropertydependenciesMap().forEach((deps, key) => {
      propertyDependencies[key] = deps.getUrnsList();
    });
    const providers: Record<string, string> = {};
    req.getProvidersMap().forEach((ref, pkg) => {
      providers[pkg] = ref;
    });
    const record: RecordedResource = {
      operation: "register",
      urn,
      type,
      name,
      parent: req.getParent(),
      custom,
      remote: req.getRemote(),
      dependencies: req.getDependenciesList(),
      propertyDependencies,
      protect: req.hasProtect() ? req.getProtect() : undefined,
      retainOnDelete: req.hasRetainondelete() ? req.getRetainondelete() : undefined,
      deleteBeforeReplace: req.getDeletebeforereplacedefined() ? req.getDeletebeforereplace() : undefined,
      ignoreChanges: req.getIgnorechangesList(),
      replaceOnChanges: req.getReplaceonchangesList(),
      hideDiffs: req.getHidediffsList(),
      additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
      aliases: [...req.getAliasurnsList().map((u) => ({ urn: u })), ...req.getAliasesList().map(recordAlias)],
      version: req.getVersion(),
      pluginDownloadURL: req.getPlugindownloadurl(),
      packageRef: req.getPackageref(),
      provider: req.getProvider(),
      providers,
      importId: req.getImportid(),
      deletedWith: req.getDeletedwith(),
      replaceWith: req.getReplaceWithList(),
      customTimeouts: timeouts
        ? {
            create: timeouts.getCreate(),
            update: timeouts.getUpdate(),
            delete: timeouts.getDelete(),
            read: timeouts.getRead(),
          }
        : undefined,
      inputs: inputs.plain,
      secretInputs: inputs.secret,
      id: "",
      state: {},
    };
    // Recorded before the mocks answer, so a registration the mocks reject still shows up.
    this.resources.push(record);
    this.byUrn.set(urn, record);

    // Components built in the program have no provider behind them: the engine only records them.
    const hasProvider = type !== ROOT_STACK_TYPE && (custom || record.remote);
    const { encoded, id } = await inProgramStore(this.opts, async () => {
      if (!hasProvider) {
        return { encoded: await encode({}), id: "" };
      }
      const { result, meta } = await this.answer(
        { kind: "register", type, name, ...requestOptions(req) },
        () =>
          this.opts.mocks.newResource({
            type,
            name,
            inputs: inputs.wire,
            provider: req.getProvider() || undefined,
            custom,
            id: req.getImportid() || undefined,
          }),
      );
      if (meta.record && "type" in meta.record) {
        (meta.record as { urn?: string }).urn = urn;
      }
      return { encoded: await encode(result.state), id: custom ? (result.id ?? "") : "" };
    });
    record.id = id;
    record.state = decode(encoded).plain;

    const resp = new resourceProto.RegisterResourceResponse();
    resp.setUrn(urn);
    resp.setId(id);
    resp.setObject(encoded);
    resp.setResult(resourceProto.Result.SUCCESS);
    return resp;
  }

  private async readResource(
    req: resourceProto.ReadResourceRequest,
  ): Promise<resourceProto.ReadResourceResponse> {
    const type = req.getType();
    const name = req.getName();
    const urn = this.urnFor(req.getParent(), type, name);
    const inputs = decode(req.getProperties());
    const record: RecordedResource = {
      operation: "read",
      urn,
      type,
      name,
      parent: req.getParent(),
      custom: true,
      remote: false,
      dependencies: req.getDependenciesList(),
      propertyDependencies: {},
      protect: undefined,
      retainOnDelete: undefined,
      deleteBeforeReplace: undefined,
      ignoreChanges: [],
      replaceOnChanges: [],
      hideDiffs: [],
      additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
      aliases: [],
      version: req.getVersion(),
      pluginDownloadURL: req.getPlugindownloadurl(),
      packageRef: req.getPackageref(),
      provider: req.getProvider(),
      providers: {},
      importId: "",
      deletedWith: "",
      replaceWith: [],
      customTimeouts: undefined,
      inputs: inputs.plain,
      secretInputs: inputs.secret,
      id: req.getId(),
      state: {},
    };
    this.resources.push(record);
    this.byUrn.set(urn, record);

    const encoded = await inProgramStore(this.opts, async () => {
      const { result, meta } = await this.answer({ kind: "read", type, name, ...requestOptions(req) }, () =>
        this.opts.mocks.newResource({
          type,
          name,
          inputs: inputs.wire,
          provider: req.getProvider() || undefined,
          custom: true,
          id: req.getId(),
        }),
      );
      if (meta.record && "type" in meta.record) {
        (meta.record as { urn?: string }).urn = urn;
      }
      return encode(result.state);
    });
    record.state = decode(encoded).plain;

    const resp = new resourceProto.ReadResourceResponse();
    resp.setUrn(urn);
    resp.setProperties(encoded);
    return resp;
  }

  private async invoke(req: resourceProto.ResourceInvokeRequest): Promise<providerProto.InvokeResponse> {
    const token = req.getTok();
    const args = decode(req.getArgs());
    const record: RecordedInvoke = {
      token,
      args: args.plain,
      provider: req.getProvider(),
      version: req.getVersion(),
      pluginDownloadURL: req.getPlugindownloadurl(),
      packageRef: req.getPackageref(),
    };
    this.invokes.push(record);
    const resp = new providerProto.InvokeResponse();
    if (token === "pulumi:pulumi:getResource") {
      // The SDK's own lookup of a resource by URN (used when rehydrating resource references).
      const res = this.byUrn.get(String(args.plain["urn"]));
      if (!res) {
        throw new Error(`unknown resource ${String(args.plain["urn"])}`);
      }
      const state = await inProgramStore(this.opts, () => encode(res.state));
      resp.setReturn(
        gstruct.Struct.fromJavaScript({ urn: res.urn, id: res.id || null, state: state.toJavaScript() }),
      );
      return resp;
    }
    const encoded = await inProgramStore(this.opts, async () => {
      const { result } = await this.answer({ kind: "invoke", type: token, ...requestOptions(req) }, () =>
        this.opts.mocks.call({ token, inputs: args.wire, provider: req.getProvider() || undefined }),
      );
      return encode(result);
    });
    resp.setReturn(encoded);
    return resp;
  }
}
