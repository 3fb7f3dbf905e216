/**
 * The contract every stand-in implements: the resource-provider RPCs of `pulumi/pulumi` proto/provider.proto
 * (v3.274.1), with property maps already decoded from their Structs into wire JSON ({@link WireMap}: secrets as
 * signature objects, unknowns as the sentinel string). The gRPC side lives in server.ts.
 */
import type { WireMap } from "./wire";

export interface CheckFailure {
  property: string;
  reason: string;
}

export interface CheckRequest {
  urn: string;
  type: string;
  name: string;
  olds: WireMap;
  news: WireMap;
  /** The engine's per-resource seed for random choices (autonaming); stable across a deployment's retries. */
  randomSeed: Buffer;
}

export interface CheckResponse {
  inputs: WireMap;
  failures?: CheckFailure[];
}

export interface DiffRequest {
  urn: string;
  type: string;
  name: string;
  id: string;
  /** The old outputs (state). */
  olds: WireMap;
  /** The old inputs (the engine sends them since Configure's `sendsOldInputs`). */
  oldInputs: WireMap;
  news: WireMap;
  ignoreChanges: string[];
}

export interface DiffResponse {
  /** `true`: some; `false`: none. */
  changes: boolean;
  /** Top-level keys that changed. */
  diffs?: string[];
  /** Top-level keys whose change forces a replacement. */
  replaces?: string[];
  deleteBeforeReplace?: boolean;
}

export interface CreateRequest {
  urn: string;
  type: string;
  name: string;
  news: WireMap;
  preview: boolean;
  timeout: number;
}

export interface CreateResponse {
  id: string;
  outs: WireMap;
}

export interface UpdateRequest {
  urn: string;
  type: string;
  name: string;
  id: string;
  olds: WireMap;
  oldInputs: WireMap;
  news: WireMap;
  preview: boolean;
  ignoreChanges: string[];
}

export interface DeleteRequest {
  urn: string;
  type: string;
  name: string;
  id: string;
  olds: WireMap;
  oldInputs: WireMap;
}

export interface ReadRequest {
  urn: string;
  type: string;
  id: string;
  olds: WireMap;
  inputs: WireMap;
}

export interface ReadResponse {
  id: string;
  outs: WireMap;
  inputs: WireMap;
}

export interface InvokeRequest {
  token: string;
  args: WireMap;
  preview: boolean;
}

export interface InvokeResponse {
  outputs: WireMap;
  failures?: CheckFailure[];
}

/** One stand-in plugin. Methods left out answer as a provider that does not implement them would. */
export interface StandinProvider {
  /** Plugin name (`pulumi-resource-<name>`) and version, as the real plugin reports them. */
  readonly name: string;
  readonly version: string;
  /** The JSON text GetSchema returns. */
  schema(): string;
  checkConfig?(req: CheckRequest): Promise<CheckResponse> | CheckResponse;
  diffConfig?(req: DiffRequest): Promise<DiffResponse> | DiffResponse;
  /** Provider configuration (known values only: the engine never calls Configure with unknowns). */
  configure?(args: WireMap): Promise<void> | void;
  check(req: CheckRequest): Promise<CheckResponse> | CheckResponse;
  diff(req: DiffRequest): Promise<DiffResponse> | DiffResponse;
  create(req: CreateRequest): Promise<CreateResponse> | CreateResponse;
  read?(req: ReadRequest): Promise<ReadResponse> | ReadResponse;
  update(req: UpdateRequest): Promise<WireMap> | WireMap;
  delete(req: DeleteRequest): Promise<void> | void;
  invoke?(req: InvokeRequest): Promise<InvokeResponse> | InvokeResponse;
  /** The error the real provider could give for this resource's create/update (failure injection). */
  injectedFailure(type: string, news: WireMap): string;
}
