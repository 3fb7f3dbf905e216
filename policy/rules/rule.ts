/**
 * How a rule is built. Each is a plain `ResourceValidationPolicy` whose `validateResource` can be called with
 * fabricated arguments, so every rule is unit-tested without the Pulumi CLI (see `policy/tests/`).
 *
 * All rules read resource inputs through the engine's unknown-checking proxy: a value that is unknown during
 * `pulumi preview` makes that one check advisory for the preview ("can't run during preview"), and the same
 * check runs, mandatory, on `pulumi up` once the value is resolved and before the resource is touched.
 */
import type { ReportViolation, ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";

export type Validate = (args: ResourceValidationArgs, report: ReportViolation) => void;

export function rule(
  name: string,
  description: string,
  validate: Validate,
  extra: Partial<ResourceValidationPolicy> = {},
): ResourceValidationPolicy {
  return { name, description, enforcementLevel: "mandatory", validateResource: validate, ...extra };
}
