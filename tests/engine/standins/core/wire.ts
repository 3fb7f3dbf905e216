/**
 * Property values as the Pulumi engine puts them on the provider wire (a google.protobuf.Struct turned into
 * plain JSON). A provider that answers `acceptSecrets: true` in Configure gets secrets as objects tagged with
 * the special signature key, and, in previews, unknowns as a sentinel string. The constants are the SDK's own
 * (`@pulumi/pulumi` runtime/rpc.js `specialSigKey`, `specialSecretSig`, `unknownValue`; the engine side is
 * `sdk/go/common/resource/plugin/rpc.go` in pulumi/pulumi v3.274.1).
 */
import * as crypto from "node:crypto";

/** The engine's marker for a value not known yet (preview). */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
/** Key of the signature field of a special (secret, asset, resource) object. */
export const SIG_KEY = "4dabf18193072939515e22adb298388d";
/** Signature value of a secret. */
export const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

/** Any JSON value as found in a Struct. */
export type Wire = null | boolean | number | string | Wire[] | { [key: string]: Wire };
/** A property map (the Struct of a request or response). */
export type WireMap = Record<string, Wire>;

export function isObject(v: unknown): v is Record<string, Wire> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function isSecret(v: unknown): v is { [SIG_KEY]: string; value: Wire } {
  return isObject(v) && v[SIG_KEY] === SECRET_SIG;
}

export function isUnknown(v: unknown): boolean {
  return v === UNKNOWN;
}

/** Wraps a value as a secret (idempotent: a secret stays one level deep). */
export function secret(v: Wire): Wire {
  return isSecret(v) ? v : { [SIG_KEY]: SECRET_SIG, value: v };
}

/** The value with every secret wrapper removed, at any depth. */
export function reveal(v: Wire | undefined): Wire | undefined {
  if (isSecret(v)) return reveal(v.value);
  if (Array.isArray(v)) return v.map((e) => reveal(e) ?? null);
  if (isObject(v)) {
    const out: WireMap = {};
    for (const [k, e] of Object.entries(v)) {
      const r = reveal(e);
      if (r !== undefined) out[k] = r;
    }
    return out;
  }
  return v;
}

/** `reveal` for a whole property map. */
export function revealMap(m: WireMap | undefined): WireMap {
  return (reveal(m ?? {}) as WireMap) ?? {};
}

export function containsSecret(v: unknown): boolean {
  if (isSecret(v)) return true;
  if (Array.isArray(v)) return v.some(containsSecret);
  if (isObject(v)) return Object.values(v).some(containsSecret);
  return false;
}

export function containsUnknown(v: unknown): boolean {
  if (v === UNKNOWN) return true;
  if (isSecret(v)) return containsUnknown(v.value);
  if (Array.isArray(v)) return v.some(containsUnknown);
  if (isObject(v)) return Object.values(v).some(containsUnknown);
  return false;
}

/** What the call log writes instead of a secret value. */
export const REDACTED = "[secret]";

/** The value with every secret replaced by {@link REDACTED}: safe to write to a log. */
export function redact(v: Wire | undefined): Wire | undefined {
  if (isSecret(v)) return REDACTED;
  if (Array.isArray(v)) return v.map((e) => redact(e) ?? null);
  if (isObject(v)) {
    const out: WireMap = {};
    for (const [k, e] of Object.entries(v)) {
      const r = redact(e);
      if (r !== undefined) out[k] = r;
    }
    return out;
  }
  return v;
}

/** Structural equality of two revealed values; `null` and a missing key are the same (as in the engine). */
export function sameValue(a: Wire | undefined, b: Wire | undefined): boolean {
  const x = a ?? null;
  const y = b ?? null;
  if (Array.isArray(x) || Array.isArray(y)) {
    return (
      Array.isArray(x) && Array.isArray(y) && x.length === y.length && x.every((e, i) => sameValue(e, y[i]))
    );
  }
  if (isObject(x) || isObject(y)) {
    if (!isObject(x) || !isObject(y)) return false;
    const keys = new Set([...Object.keys(x), ...Object.keys(y)]);
    return [...keys].every((k) => sameValue(x[k], y[k]));
  }
  return x === y;
}

/** Top-level keys whose (revealed) values differ between two property maps. */
export function changedKeys(olds: WireMap, news: WireMap, ignore: readonly string[] = []): string[] {
  const o = revealMap(olds);
  const n = revealMap(news);
  const keys = new Set([...Object.keys(o), ...Object.keys(n)]);
  return [...keys].filter((k) => !ignore.includes(k) && !sameValue(o[k], n[k])).sort();
}

/** Drops `undefined` so the value fits a protobuf Struct (which has no such thing). */
export function toWire(v: unknown): Wire {
  return JSON.parse(JSON.stringify(v ?? null)) as Wire;
}

/** Lowercase hex of `bytes` random bytes. */
export function randomHex(bytes: number): string {
  return crypto.randomBytes(bytes).toString("hex");
}

/** Deterministic hex digest, for values that must be stable across runs (ids derived from inputs). */
export function sha256Hex(data: string): string {
  return crypto.createHash("sha256").update(data).digest("hex");
}
