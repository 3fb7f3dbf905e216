/**
 * Kubernetes label, annotation and taint syntax as Talos checks it before accepting a config
 * (machinery v1.13.0 pkg/machinery/labels/validate.go: Validate, ValidateAnnotations, ValidateTaints),
 * with Talos's own messages, so the stack file's labels and taints and the patches' nodeLabels,
 * nodeAnnotations and nodeTaints are refused here rather than by the node.
 */

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
/** Taint effects Kubernetes knows (constants.ValidEffects). */
const EFFECTS = ["NoSchedule", "PreferNoSchedule", "NoExecute"];

/** Why a label/annotation key is not `[prefix/]name`, in Talos's words; undefined when it is. */
function qualifiedNameProblem(key: string): string | undefined {
  const parts = key.split("/");
  if (parts.length > 2) return `invalid format: too many slashes: ${JSON.stringify(key)}`;
  const [prefix, name] = parts.length === 2 ? parts : [undefined, parts[0]];
  if (prefix !== undefined) {
    if (prefix === "") return `prefix cannot be empty: ${JSON.stringify(key)}`;
    if (prefix.length > 253)
      return `prefix ${JSON.stringify(prefix)} is invalid: domain name length exceeds limit of 253`;
    if (!DNS1123_SUBDOMAIN.test(prefix))
      return `prefix ${JSON.stringify(prefix)} is invalid: domain doesn't match required format`;
  }
  if (name === "") return `name cannot be empty: ${JSON.stringify(key)}`;
  if (name.length > 63) return `name is too long: ${JSON.stringify(key)} (limit is 63)`;
  if (!QUALIFIED_NAME.test(name)) return `name ${JSON.stringify(name)} is invalid`;
  return undefined;
}

/** Why a label value is invalid, in Talos's words; undefined when it is fine (empty is fine). */
function labelValueProblem(value: string): string | undefined {
  if (value.length > 63) return `label value length exceeds limit of 63: ${JSON.stringify(value)}`;
  if (value !== "" && !QUALIFIED_NAME.test(value)) return `label value ${JSON.stringify(value)} is invalid`;
  return undefined;
}

/** Problems with one entry of nodeLabels, nodeAnnotations or nodeTaints. */
export function mapEntryProblem(
  kind: "nodeLabels" | "nodeAnnotations" | "nodeTaints",
  key: string,
  value: unknown,
): string | undefined {
  const keyProblem = qualifiedNameProblem(key);
  if (keyProblem || typeof value !== "string") return keyProblem;
  if (kind === "nodeLabels") return labelValueProblem(value);
  if (kind === "nodeTaints") {
    const cut = value.indexOf(":");
    const effect = cut === -1 ? value : value.slice(cut + 1);
    if (!EFFECTS.includes(effect)) return `invalid taint effect: ${JSON.stringify(effect)}`;
    return cut === -1 ? undefined : labelValueProblem(value.slice(0, cut));
  }
  return undefined;
}
