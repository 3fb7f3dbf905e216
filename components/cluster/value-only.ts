import * as pulumi from "@pulumi/pulumi";

/** What @pulumi/pulumi's Output is underneath (output.js OutputImpl; `pulumi.secret` builds one the same way). */
interface OutputInternals<T> {
  promise(withUnknowns?: boolean): Promise<T>;
  readonly isKnown: Promise<boolean>;
  readonly isSecret: Promise<boolean>;
}
type OutputConstructor = new <T>(
  resources: pulumi.Resource[],
  promise: Promise<T>,
  isKnown: Promise<boolean>,
  isSecret: Promise<boolean>,
  allResources: Promise<pulumi.Resource[]>,
) => pulumi.Output<T>;

/**
 * The same value (known-ness and secrecy included) without the resources it came from, so the engine records no
 * dependency edge for it. Only for an explicit provider's configuration: the engine always includes explicit
 * providers in a targeted `up` and refuses to create one whose dependencies are skipped creates
 * (pulumi/pulumi pkg/resource/deploy/step_generator.go, "isImplicitlyTargetedResource" and
 * GetResourceWillBeCreatedButWasNotSpecifiedInTargetList), which made every targeted `up` of a new stack fail on
 * the Kubernetes provider. The provider still waits for the value itself, so the order is unchanged; in such a
 * targeted run the value is unknown and the provider is configured as unreachable, touching nothing.
 */
export function valueOnly<T>(output: pulumi.Output<T>): pulumi.Output<T> {
  const o = output as unknown as OutputInternals<T>;
  const Output = pulumi.Output as unknown as OutputConstructor;
  return new Output<T>([], o.promise(true), o.isKnown, o.isSecret, Promise.resolve([]));
}
