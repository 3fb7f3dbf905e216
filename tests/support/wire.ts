/**
 * Values as the SDK hands them to the engine (and the mock monitor to the mocks): secrets wrapped in the SDK's
 * signature-tagged object, unknowns as its sentinel string. The tags are the SDK's own (`runtime/rpc`).
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

/** Is the value (or anything inside it) something the SDK cannot know yet? */
export function containsUnknown(v: unknown): boolean {
  if (isUnknownValue(v)) return true;
  if (Array.isArray(v)) return v.some(containsUnknown);
  if (isPlainObject(v)) return Object.values(v).some(containsUnknown);
  return false;
}
