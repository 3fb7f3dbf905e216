/**
 * The other providers the program uses, as the strict mocks imitate them: which Kubernetes, provider and
 * component tokens they accept, and what Kubernetes objects, Helm releases and local commands answer.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- inputs and state are untyped wire data whatever the program sends */
import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import { COMMAND_INPUTS, COMMAND_TOKEN } from "../engine/standins/command";
import { isPlainObject, UNKNOWN } from "./wire";

export { COMMAND_TOKEN };

/** `kubernetes:<group>/<version>:<Kind>` (core/v1, helm.sh/v3, operator.tigera.io/v1, ...) or `kubernetes:yaml:ConfigFile`. */
export const KUBERNETES_TOKEN =
  /^kubernetes:[a-z0-9]([a-z0-9.-]*[a-z0-9])?(\/v[0-9]+((alpha|beta)[0-9]+)?)?:[A-Z][A-Za-z0-9]*$/;
export const PROVIDER_TOKEN = /^pulumi:providers:[a-z][a-z0-9-]*$/;
/** A component type: `package:module:Type` (also `package:Type`). */
export const COMPONENT_TOKEN = /^[A-Za-z][\w-]*:([\w./-]*:)?[A-Za-z][\w$]*$/;
// One list of the Command provider's inputs for the strict mocks and the engine tier's stand-in.
const COMMAND_INPUT_SET = new Set(COMMAND_INPUTS);

/** `<resource name>-<8 chars>`, deterministic where the provider picks the suffix at random. */
function autoName(name: string): string {
  return `${name}-${createHash("sha256").update(name).digest("hex").slice(0, 8)}`;
}

export function kubernetesState(
  type: string,
  name: string,
  inputs: Record<string, any>,
  previewUnknown: boolean = pulumi.runtime.isDryRun(),
): Record<string, any> {
  const state: Record<string, any> = { ...inputs };
  if (type === "kubernetes:helm.sh/v3:Release") {
    const releaseName = inputs.name ?? autoName(name);
    state.name = releaseName;
    state.status = previewUnknown
      ? UNKNOWN
      : {
          name: releaseName,
          namespace: inputs.namespace ?? "default",
          chart: inputs.chart,
          version: inputs.version,
          appVersion: inputs.version,
          revision: 1,
          status: "deployed",
        };
  } else if (typeof inputs.kind === "string" && !(isPlainObject(inputs.metadata) && inputs.metadata.name)) {
    // The provider auto-names objects without metadata.name: `<resource name>-<8 random chars>`.
    const metadata = isPlainObject(inputs.metadata) ? inputs.metadata : {};
    state.metadata = { ...metadata, name: autoName(name) };
  }
  return state;
}

/** Input names a `command:local:Command` registration has that the provider does not take. */
export function unknownCommandInputs(inputs: Record<string, any>): string[] {
  return Object.keys(inputs).filter((k) => !COMMAND_INPUT_SET.has(k) && inputs[k] !== undefined);
}

/** A command's state: its inputs, and output streams that a preview does not know yet (nothing ran). */
export function commandState(
  inputs: Record<string, any>,
  previewUnknown: boolean = pulumi.runtime.isDryRun(),
): Record<string, any> {
  const ran = previewUnknown ? UNKNOWN : "";
  return { ...inputs, stdout: ran, stderr: ran };
}
