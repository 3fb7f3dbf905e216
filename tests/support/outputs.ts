/**
 * Reading `pulumi.Output`s in tests without `apply` callbacks that silently never run.
 *
 * `output.apply(fn)` skips `fn` while the value is unknown (a preview), so a test that resolves a promise
 * inside `apply` hangs instead of failing. These helpers read the Output's own promises instead: they
 * resolve to `undefined` for an unknown value and reject when the resource or invoke behind the Output
 * failed, which is what the strict mocks rely on to surface contract violations.
 */
import * as pulumi from "@pulumi/pulumi";

/** The promise-valued members every Output carries at run time (not part of the public typings). */
interface OutputInternals<T> {
  readonly isKnown: Promise<boolean>;
  readonly isSecret: Promise<boolean>;
  promise(withUnknowns?: boolean): Promise<T>;
}

function internals<T>(o: pulumi.Output<T>): OutputInternals<T> {
  const candidate = o as unknown as Partial<OutputInternals<T>>;
  if (!pulumi.Output.isInstance(o) || typeof candidate.promise !== "function") {
    throw new TypeError("promiseOf/isSecret expect a pulumi.Output");
  }
  return candidate as OutputInternals<T>;
}

/**
 * The Output's value once every resource and invoke it depends on has settled: `undefined` if the value is
 * unknown (preview) or contains unknowns; rejects with the underlying error if one of them failed.
 */
export async function promiseOf<T>(o: pulumi.Output<T>): Promise<T | undefined> {
  const inner = internals(o);
  const [known, value] = await Promise.all([inner.isKnown, inner.promise()]);
  return known ? value : undefined;
}

/** Whether Pulumi would store the Output's value encrypted. */
export async function isSecret(o: pulumi.Output<unknown>): Promise<boolean> {
  return internals(o).isSecret;
}

/** Whether the Output's value is known (false for values only the engine can compute during a preview). */
export async function isKnown(o: pulumi.Output<unknown>): Promise<boolean> {
  return internals(o).isKnown;
}

/** The error the Output rejects with, or `undefined` if it resolves: for asserting that a step fails. */
export async function failureOf(o: pulumi.Output<unknown>): Promise<Error | undefined> {
  const inner = internals(o);
  // A failed Output rejects its value, isKnown and isSecret promises separately; observe all three so the
  // expected failure does not also surface as unhandled rejections.
  const results = await Promise.allSettled([inner.promise(), inner.isKnown, inner.isSecret]);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (!failed) return undefined;
  return failed.reason instanceof Error ? failed.reason : new Error(String(failed.reason));
}

/**
 * The error a resource's registration failed with, or `undefined` if it succeeded. A failed registration
 * rejects the resource's urn, id and every output property; the SDK attaches no handler to those, so a test
 * that expects the failure must observe all of them or the runner reports unhandled rejections. This does.
 */
export async function failureOfResource(resource: pulumi.Resource): Promise<Error | undefined> {
  const outputs = new Set<pulumi.Output<unknown>>([resource.urn]);
  if (pulumi.CustomResource.isInstance(resource)) outputs.add(resource.id);
  for (const value of Object.values(resource)) {
    if (pulumi.Output.isInstance(value)) outputs.add(value as pulumi.Output<unknown>);
  }
  const failures = await Promise.all([...outputs].map((o) => failureOf(o)));
  return failures.find((f) => f !== undefined);
}

/**
 * Waits until the program's outstanding registrations and invokes have reached the mocks. Use after
 * constructing resources whose outputs the test does not read, before asserting on what the mocks recorded.
 */
export async function settle(): Promise<void> {
  const waitForRPCs = (pulumi.runtime as unknown as { waitForRPCs?: () => Promise<void> }).waitForRPCs;
  if (typeof waitForRPCs === "function") {
    await waitForRPCs();
  }
  // One more macrotask so callbacks chained on the last RPC (outputs resolving) have run too.
  await new Promise((resolve) => setImmediate(resolve));
}
