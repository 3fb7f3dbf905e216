/**
 * Values as the SDK hands them to the engine (and the mock monitor to the mocks): secrets wrapped in the SDK's
 * signature-tagged object, unknowns as its sentinel string. The tags are the SDK's own (`runtime/rpc`). Also the
 * options a registration or invoke request carries, read the same way by the mock-monitor wrapper (mocks.ts)
 * and the fake engine (fake-engine.ts).
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- wire values are untyped whatever the program sends */
import * as pulumi from "@pulumi/pulumi";

/** The wire form of an unknown value; the SDK turns it into an unknown Output property during a preview. */
export const UNKNOWN = pulumi.runtime.unknownValue;

export function isUnknownValue(v: unknown): boolean {
  return v === UNKNOWN || pulumi.isUnknown(v);
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return (
    typeof v === "object" && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype
  );
}

/** Removes secret wrappers (`{ [specialSigKey]: specialSecretSig, value }`); reports whether there was one anywhere inside. */
export function unwrapSecrets(v: unknown): { value: any; secret: boolean } {
  if (pulumi.runtime.isRpcSecret(v)) {
    return { value: unwrapSecrets(pulumi.runtime.unwrapRpcSecret(v)).value, secret: true };
  }
  if (Array.isArray(v)) {
    let secret = false;
    const value = v.map((e) => {
      const r = unwrapSecrets(e);
      secret ||= r.secret;
      return r.value;
    });
    return { value, secret };
  }
  if (isPlainObject(v)) {
    let secret = false;
    const value: Record<string, unknown> = {};
    for (const [k, e] of Object.entries(v)) {
      const r = unwrapSecrets(e);
      secret ||= r.secret;
      value[k] = r.value;
    }
    return { value, secret };
  }
  return { value: v, secret: false };
}

/** Where secrets sit inside a wire value, as paths below `at` (`configPatches[3]`, `env.TOKEN`). */
export function secretPaths(v: unknown, at: string): string[] {
  if (pulumi.runtime.isRpcSecret(v)) return [at];
  if (Array.isArray(v)) return v.flatMap((e, i) => secretPaths(e, `${at}[${i}]`));
  if (isPlainObject(v)) return Object.entries(v).flatMap(([k, e]) => secretPaths(e, `${at}.${k}`));
  return [];
}

/** Is the value (or anything inside it) something the SDK cannot know yet? */
export function containsUnknown(v: unknown): boolean {
  if (isUnknownValue(v)) return true;
  if (Array.isArray(v)) return v.some(containsUnknown);
  if (isPlainObject(v)) return Object.values(v).some(containsUnknown);
  return false;
}

/** What the SDK told the engine about a registration or invoke besides its inputs. */
export interface RequestOptions {
  version?: string;
  pluginDownloadURL?: string;
  additionalSecretOutputs?: string[];
  parent?: string;
  dependencies?: string[];
  protect?: boolean;
  ignoreChanges?: string[];
  retainOnDelete?: boolean;
  replaceOnChanges?: string[];
  deletedWith?: string;
}

/** The parts of the RegisterResource/ReadResource/Invoke protobuf requests that carry options. */
export interface WireRequest {
  getType?(): string;
  getName?(): string;
  getTok?(): string;
  getVersion(): string;
  getPlugindownloadurl(): string;
  getAdditionalsecretoutputsList?(): string[];
  getParent?(): string;
  getDependenciesList?(): string[];
  getProtect?(): boolean | undefined;
  getIgnorechangesList?(): string[];
  getRetainondelete?(): boolean | undefined;
  getReplaceonchangesList?(): string[];
  getDeletedwith?(): string;
  /** A registration's inputs as the SDK sent them (a protobuf Struct), secrets still wrapped where they are. */
  getObject?(): { toJavaScript(): Record<string, unknown> } | undefined;
}

/**
 * Where the secrets of a registration's inputs sit as the SDK sent them. The mock monitor's own decoding lifts
 * a secret inside a list to the whole list (@pulumi/pulumi runtime/rpc.js deserializeProperty: "push secretness
 * up to the top level"); the engine keeps it where it is, so this reads the request itself.
 */
export function requestSecretPaths(req: WireRequest): string[] | undefined {
  const inputs = req.getObject?.()?.toJavaScript();
  if (!inputs) return undefined;
  return Object.entries(inputs).flatMap(([k, v]) => secretPaths(v, k));
}

/** The options a request carries, unset ones (empty, false) left out. */
export function requestOptions(req: WireRequest): RequestOptions {
  const text = (v: string | undefined) => (v ? v : undefined);
  const list = (v: string[] | undefined) => (v && v.length > 0 ? [...v] : undefined);
  const flag = (v: boolean | undefined) => (v === true ? true : undefined);
  const out: RequestOptions = {
    version: text(req.getVersion()),
    pluginDownloadURL: text(req.getPlugindownloadurl()),
    additionalSecretOutputs: list(req.getAdditionalsecretoutputsList?.()),
    parent: text(req.getParent?.()),
    dependencies: list(req.getDependenciesList?.()),
    protect: flag(req.getProtect?.()),
    ignoreChanges: list(req.getIgnorechangesList?.()),
    retainOnDelete: flag(req.getRetainondelete?.()),
    replaceOnChanges: list(req.getReplaceonchangesList?.()),
    deletedWith: text(req.getDeletedwith?.()),
  };
  for (const k of Object.keys(out) as (keyof RequestOptions)[]) if (out[k] === undefined) delete out[k];
  return out;
}
