/**
 * An in-process stand-in for the Pulumi engine: the `Engine` and `ResourceMonitor` gRPC services a Pulumi
 * program talks to, served on 127.0.0.1 from the test process. It lets a test run the real program through
 * `@pulumi/pulumi/cmd/run` (see run-program.ts) without the Pulumi CLI. Engine behaviour itself (state, diffs,
 * replacements) is judged by the real engine in the engine tier (tests/engine); this fake only carries what
 * the loader test needs.
 *
 * What it does with each request:
 * - RegisterResource: records the registration and its options; for a custom resource asks a
 *   `pulumi.runtime.Mocks` object for the id and state and answers with them (components are only recorded).
 * - Invoke: records the call and answers with the mocks' `call` result.
 * - RegisterResourceOutputs: records the outputs; on the root `pulumi:pulumi:Stack` these are the stack outputs.
 * - Log: records severity and text.
 * - SupportsFeature: says yes to what the real engine supports *and this fake implements*; anything else
 *   (output values, parameterized packages, transforms, resource and error hooks) is answered "no", so the SDK
 *   fails loudly if the program uses it rather than the fake silently skipping it.
 * - Every other RPC (ReadResource, Call, RegisterPackage, ...) gets gRPC's own UNIMPLEMENTED answer: the SDK
 *   (3.248) sends none of them for the programs the loader test runs, and one that did would fail loudly.
 *
 * Values cross the wire in the SDK's own encoding (secrets and resources as signature-tagged objects, unknowns as
 * a sentinel string); they are decoded and encoded with the SDK's `runtime/rpc` helpers.
 */
import * as grpc from "@grpc/grpc-js";
import * as pulumi from "@pulumi/pulumi";
import * as engineRpc from "@pulumi/pulumi/proto/engine_grpc_pb";
import * as engineProto from "@pulumi/pulumi/proto/engine_pb";
import * as providerProto from "@pulumi/pulumi/proto/provider_pb";
import * as resourceRpc from "@pulumi/pulumi/proto/resource_grpc_pb";
import * as resourceProto from "@pulumi/pulumi/proto/resource_pb";
import * as rpc from "@pulumi/pulumi/runtime/rpc";
import * as gempty from "google-protobuf/google/protobuf/empty_pb";
import * as gstruct from "google-protobuf/google/protobuf/struct_pb";
import type { PendingRequest } from "./mocks";
import { requestOptions, unwrapSecrets, type RequestOptions } from "./wire";

/** The type token the SDK registers the root stack resource under. */
const ROOT_STACK_TYPE = "pulumi:pulumi:Stack";

/** Features the real engine reports and this fake honours. Anything else is answered "not supported". */
const SUPPORTED_FEATURES: ReadonlySet<string> = new Set([
  "secrets",
  "resourceReferences",
  "deletedWith",
  "replaceWith",
  "aliasSpecs",
]);

export type LogSeverity = "debug" | "info" | "warning" | "error";

export interface RecordedLog {
  severity: LogSeverity;
  message: string;
}

/** A registration: its options (unset ones left out, as in the strict mocks' records) and what came of it. */
export interface RecordedResource extends RequestOptions {
  urn: string;
  type: string;
  name: string;
  custom: boolean;
  /** Inputs as plain values (secrets unwrapped; unknowns are `pulumi.runtime`'s `unknown` sentinel). */
  inputs: Record<string, unknown>;
  /** Id the engine answered with ("" for components and for custom resources during a preview). */
  id: string;
  /** Outputs registered later with `registerOutputs` (components and the stack), as plain values. */
  outputs?: Record<string, unknown>;
  secretOutputs?: string[];
}

export interface RecordedInvoke {
  token: string;
  /** Arguments as plain values (the SDK strips secretness from invoke arguments before sending them). */
  args: Record<string, unknown>;
}

/**
 * What answers registrations and invokes. Strict mocks are also told, right before `newResource`/`call`, the
 * options `pulumi.runtime.Mocks` alone never sees; they fill in `record`, and the engine adds the URN to it.
 */
export type EngineMocks = pulumi.runtime.Mocks & { annotateNext?(meta: PendingRequest): void };

export interface FakeEngineOptions {
  mocks: EngineMocks;
  project: string;
  stack: string;
  /** Preview: the mocks are called with `pulumi.runtime.isDryRun()` true and decide what stays unknown. */
  dryRun: boolean;
}

/** Decoded property map: plain values plus which top-level names were (or held) secrets. */
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

function decode(struct: gstruct.Struct | undefined): Decoded {
  // Unknowns are kept (as the SDK's `unknown` sentinel) whatever this process thinks the dry-run flag is.
  const wire = rpc.deserializeProperties(struct ?? new gstruct.Struct(), true) as Record<string, unknown>;
  const plain: Record<string, unknown> = {};
  const secret: string[] = [];
  for (const [k, v] of Object.entries(wire)) {
    const r = unwrapSecrets(v);
    plain[k] = r.value;
    if (r.secret) secret.push(k);
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

/** Answers a unary call with what `answer` resolves to; a failure reaches the SDK as the gRPC error's details. */
function reply<T>(answer: Promise<T>, callback: grpc.sendUnaryData<T>): void {
  answer.then(
    (resp) => callback(null, resp),
    (err: unknown) =>
      callback(grpcError(grpc.status.UNKNOWN, err instanceof Error ? err.message : String(err))),
  );
}

const SEVERITIES: Record<number, LogSeverity> = {
  [engineProto.LogSeverity.DEBUG]: "debug",
  [engineProto.LogSeverity.INFO]: "info",
  [engineProto.LogSeverity.WARNING]: "warning",
  [engineProto.LogSeverity.ERROR]: "error",
};

type MonitorServer = Pick<
  resourceRpc.IResourceMonitorServer,
  "supportsFeature" | "registerResource" | "registerResourceOutputs" | "invoke" | "signalAndWaitForShutdown"
>;
type EngineServer = Pick<engineRpc.IEngineServer, "log" | "setRootResource">;

export class FakeEngine {
  readonly resources: RecordedResource[] = [];
  readonly invokes: RecordedInvoke[] = [];
  readonly logs: RecordedLog[] = [];
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

  private monitorService(): MonitorServer {
    return {
      supportsFeature: (call, callback) => {
        const resp = new resourceProto.SupportsFeatureResponse();
        resp.setHassupport(SUPPORTED_FEATURES.has(call.request.getId()));
        callback(null, resp);
      },
      registerResource: (call, callback) => reply(this.registerResource(call.request), callback),
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
      invoke: (call, callback) => reply(this.invoke(call.request), callback),
      signalAndWaitForShutdown: (_call, callback) => {
        this.shutdownSignalled = true;
        callback(null, new gempty.Empty());
      },
    };
  }

  private engineService(): EngineServer {
    return {
      log: (call, callback) => {
        const req = call.request;
        this.logs.push({ severity: SEVERITIES[req.getSeverity()] ?? "info", message: req.getMessage() });
        callback(null, new gempty.Empty());
      },
      // The SDK (3.248) only ever sets the root resource; it never reads it back.
      setRootResource: (_call, callback) => callback(null, new engineProto.SetRootResourceResponse()),
    };
  }

  /**
   * Asks the mocks as the SDK's mock monitor does, telling strict mocks the request's options first, and encodes
   * the answer inside the program-like store.
   */
  private answer(
    meta: PendingRequest,
    ask: () => Record<string, unknown> | Promise<Record<string, unknown>>,
  ): Promise<gstruct.Struct> {
    return inProgramStore(this.opts, async () => {
      // No await between the annotation and the call: the mocks pair them up synchronously.
      this.opts.mocks.annotateNext?.(meta);
      return encode(await ask());
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
    const options = requestOptions(req);
    const record: RecordedResource = { urn, type, name, custom, ...options, inputs: inputs.plain, id: "" };
    // Recorded before the mocks answer, so a registration the mocks reject still shows up.
    this.resources.push(record);
    this.byUrn.set(urn, record);

    const resp = new resourceProto.RegisterResourceResponse();
    resp.setUrn(urn);
    resp.setResult(resourceProto.Result.SUCCESS);
    // Components built in the program (the root stack too) have no provider behind them: only recorded.
    if (!custom) {
      resp.setObject(new gstruct.Struct());
      return resp;
    }
    const meta: PendingRequest = { kind: "register", type, name, ...options };
    const state = await this.answer(meta, async () => {
      const result = await this.opts.mocks.newResource({
        type,
        name,
        inputs: inputs.wire,
        provider: req.getProvider() || undefined,
        custom,
      });
      record.id = result.id ?? "";
      return result.state;
    });
    if (meta.record && "type" in meta.record) meta.record.urn = urn;
    resp.setId(record.id);
    resp.setObject(state);
    return resp;
  }

  private async invoke(req: resourceProto.ResourceInvokeRequest): Promise<providerProto.InvokeResponse> {
    const token = req.getTok();
    const args = decode(req.getArgs());
    this.invokes.push({ token, args: args.plain });
    const resp = new providerProto.InvokeResponse();
    resp.setReturn(
      await this.answer({ kind: "invoke", type: token, ...requestOptions(req) }, () =>
        this.opts.mocks.call({ token, inputs: args.wire, provider: req.getProvider() || undefined }),
      ),
    );
    return resp;
  }
}
