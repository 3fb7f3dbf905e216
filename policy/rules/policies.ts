/**
 * Every rule of the pack, one file per family:
 *
 * - `lifecycle.ts`: destructive operations (machine secrets protected, reset on destroy, the node lifecycle step's
 *   resets, apply mode, bootstrap);
 * - `versions.ts`: provider plugins, Talos and Kubernetes versions, Helm chart versions pinned;
 * - `images.ts`: container images pinned wherever they are named;
 * - `credentials.ts`: secret outputs and the explicit Kubernetes provider.
 *
 * How a rule is built, and how unknown values during a preview are handled, is in `rule.ts`.
 */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { credentialsStaySecret, kubernetesExplicitProvider } from "./credentials";
import { imagesPinned } from "./images";
import {
  applyModeNoForcedReboot,
  bootstrapNeverReplaced,
  machineSecretsProtected,
  nodeLifecycleResetRequiresOptIn,
  resetOnDestroyRequiresOptIn,
} from "./lifecycle";
import { helmChartVersionPinned, providerVersionsPinned, versionsPinned } from "./versions";

export { credentialsStaySecret, kubernetesExplicitProvider } from "./credentials";
export { imagesPinned } from "./images";
export {
  applyModeNoForcedReboot,
  bootstrapNeverReplaced,
  machineSecretsProtected,
  nodeLifecycleResetRequiresOptIn,
  resetOnDestroyRequiresOptIn,
} from "./lifecycle";
export {
  helmChartVersionPinned,
  parseYamlDocuments,
  providerVersionsPinned,
  versionsPinned,
} from "./versions";

/** Every rule, in the order the pack reports them. */
export const policies: ResourceValidationPolicy[] = [
  machineSecretsProtected,
  providerVersionsPinned,
  versionsPinned,
  imagesPinned,
  helmChartVersionPinned,
  resetOnDestroyRequiresOptIn,
  nodeLifecycleResetRequiresOptIn,
  applyModeNoForcedReboot,
  bootstrapNeverReplaced,
  credentialsStaySecret,
  kubernetesExplicitProvider,
];
