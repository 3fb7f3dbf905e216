/** The rule that no container image the program deploys floats, wherever the image is named. */
import { rule } from "./rule";
import { imageVerdict, isExactVersion, isProviderType, isRecord, stringsUnderKey, TYPES } from "./support";
import { parseYamlDocuments } from "./versions";

/** Resource types whose `image` strings are container images that must be pinned. */
function isKubernetesWorkload(type: string): boolean {
  return type.startsWith("kubernetes:") && type !== TYPES.helmRelease && !isProviderType(type);
}

/** A value naming a moving target instead of a release. */
const FLOATING_VALUE = /^(latest|stable|edge|main|master|nightly)$/i;
/** `registry.example/repo/name[:tag][@digest]`: a registry host with a dot or port, then a path, no spaces. */
const IMAGE_LIKE = /^[a-z0-9-]+(\.[a-z0-9-]+)+(:\d+)?\/[^\s]+$/i;

/**
 * No container image anywhere in what the program deploys floats: Talos config patches, Kubernetes workloads,
 * Helm values, and the talosctl commands that upgrade nodes.
 */
export const imagesPinned = rule(
  "images-pinned",
  "Container images in Talos configs, Kubernetes objects, Helm values and upgrade commands must be pinned.",
  (args, report) => {
    if (args.type === TYPES.talosConfigurationApply) {
      const sources: [string, unknown][] = [
        ["machineConfigurationInput", args.props.machineConfigurationInput],
      ];
      const patches = Array.isArray(args.props.configPatches) ? (args.props.configPatches as unknown[]) : [];
      patches.forEach((p, i) => sources.push([`configPatches[${i}]`, p]));
      for (const [where, text] of sources) {
        if (typeof text !== "string") {
          continue;
        }
        for (const doc of parseYamlDocuments(text)) {
          for (const image of stringsUnderKey(doc, "image")) {
            const verdict = imageVerdict(image.value);
            if (!verdict.pinned) {
              report(`${where}: ${image.path} ${image.value} ${verdict.reason}.`);
            }
          }
        }
      }
      return;
    }
    if (args.type === TYPES.helmRelease) {
      // Charts often split repository and tag; only a floating tag is certain to be wrong here.
      for (const tag of stringsUnderKey(args.props.values, "tag")) {
        if (imageVerdict(`x:${tag.value}`).pinned === false && tag.value !== "") {
          report(`values.${tag.path} is \`${tag.value}\`; pin a release.`);
        }
      }
      for (const image of stringsUnderKey(args.props.values, "image")) {
        if (image.value.includes(":") && !imageVerdict(image.value).pinned) {
          report(`values.${image.path} ${image.value} is not pinned.`);
        }
      }
      return;
    }
    if (args.type === TYPES.localCommand) {
      // The upgrade scripts take their target from the environment (TARGET_IMAGE, TARGET_VERSION, ...); a
      // literal `--image`/`--to` in the script text is checked too. Prose in the scripts is not.
      const environment = isRecord(args.props.environment) ? args.props.environment : {};
      for (const [key, value] of Object.entries(environment)) {
        if (typeof value !== "string") continue;
        if (FLOATING_VALUE.test(value.trim()) || (/VERSION$/.test(key) && value.trim() === "")) {
          report(`environment.${key} is \`${value}\`; upgrades must name an exact release.`);
        } else if (IMAGE_LIKE.test(value)) {
          const verdict = imageVerdict(value);
          if (!verdict.pinned) report(`environment.${key} ${value} ${verdict.reason}.`);
        }
      }
      for (const field of ["create", "update", "delete"]) {
        const script = args.props[field];
        if (typeof script !== "string") continue;
        // Shell comments describe the flags; only commands pass them.
        const code = script
          .split("\n")
          .map((line) => line.replace(/(^|\s)#.*$/, ""))
          .join("\n");
        for (const m of code.matchAll(/--(image|to)[= ]+["']?([^\s"'$]+)(?=[\s"']|$)/g)) {
          const [, flag, value] = m as unknown as [string, string, string];
          const pinned = flag === "image" ? imageVerdict(value).pinned : isExactVersion(value);
          if (!pinned) report(`${field}: --${flag} ${value} is not an exact release.`);
        }
      }
      return;
    }
    if (isKubernetesWorkload(args.type)) {
      for (const image of stringsUnderKey(args.props, "image")) {
        const verdict = imageVerdict(image.value);
        if (!verdict.pinned) {
          report(`${image.path} ${image.value} ${verdict.reason}.`);
        }
      }
    }
  },
  { severity: "medium" },
);
