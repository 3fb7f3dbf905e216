/**
 * Pure builders for the patches the program registers. The role config invokes (one per role) carry only
 * what the program generates for every node of the role; each node's apply carries its generated settings,
 * then the stack file's patches: `patches.all`, `patches.<role>`, the node's own. Later patches win, so the
 * precedence is: generated defaults < stack-wide < per-role < per-node. Each generated document holds one
 * setting, with the origin (stack-file path and level) the precedence checks and the machinery check read.
 */
import type {
  ClusterSpec,
  NodeRole,
  NodeSpec,
  PatchDocument,
  PatchLevel,
  SettingOrigin,
  StackPatch,
} from "../config/spec";
import { settingOf } from "../config/secret-settings";

/** KubePrism's port; Talos's default, and what Cilium's kube-proxy-free mode talks to. */
export const KUBEPRISM_PORT = 7445;
/** Name of the link alias the VIP uses when its interface is chosen by a CEL expression. */
export const VIP_LINK_ALIAS = "vip-uplink";

/** A registered patch document and where it came from. */
export interface LayeredPatch {
  readonly doc: PatchDocument;
  /** Its level, and the stack-file path(s) it carries. */
  readonly origin: SettingOrigin;
  /** For a document carrying several settings: the stack-file path of each, by dotted key path. */
  readonly sources?: Readonly<Record<string, string>>;
  /**
   * The top-level stack settings its values come from (`nodes`, `patches`, `vip`, ...): a document built from
   * one the stack holds secret is registered as a secret (components/config/secret-settings.ts).
   */
  readonly settings: readonly string[];
}

/** The stack-file path behind one value of a patch (a dotted key path inside its document). */
export function sourceOf(layer: LayeredPatch, path: readonly string[]): string {
  for (let n = path.length; n > 0; n--) {
    const source = layer.sources?.[path.slice(0, n).join(".")];
    if (source) return source;
  }
  return layer.origin.source;
}

const origin = (source: string, level: PatchLevel): SettingOrigin => ({ source, level });

/** The VIP documents (control planes only): a Layer2VIPConfig, preceded by a LinkAliasConfig when selected by CEL. */
export function vipDocuments(spec: ClusterSpec): PatchDocument[] {
  if (!spec.vip) return [];
  const docs: PatchDocument[] = [];
  let link = spec.vip.link;
  if (spec.vip.linkMatch) {
    docs.push({
      apiVersion: "v1alpha1",
      kind: "LinkAliasConfig",
      name: VIP_LINK_ALIAS,
      selector: { match: spec.vip.linkMatch },
    });
    link = VIP_LINK_ALIAS;
  }
  docs.push({ apiVersion: "v1alpha1", kind: "Layer2VIPConfig", name: spec.vip.address, link });
  return docs;
}

/**
 * What the role's config generation gets: the installer image, KubePrism, the pod and service networks,
 * the CNI prerequisites; on control planes also scheduling and the VIP. Values the program relies on
 * (the CNI it deploys reads the networks and KubePrism) are stack-wide settings even when defaulted.
 */
export function rolePatchLayers(spec: ClusterSpec, role: NodeRole, image: string): LayeredPatch[] {
  const kubeProxyFree = spec.cni.name === "cilium" && spec.cni.kubeProxyReplacement;
  const layers: LayeredPatch[] = [
    {
      doc: { machine: { install: { image } } },
      origin: origin("talosVersion and extensions (the installer image)", 1),
      settings: ["talosVersion", "extensions"],
    },
    {
      doc: { machine: { features: { kubePrism: { enabled: true, port: KUBEPRISM_PORT } } } },
      origin: kubeProxyFree
        ? origin("cni (Cilium without kube-proxy reaches the API through KubePrism)", 1)
        : origin("the default KubePrism", 0),
      settings: kubeProxyFree ? ["cni"] : [],
    },
    {
      doc: {
        cluster: {
          network: { podSubnets: [...spec.podSubnets], serviceSubnets: [...spec.serviceSubnets] },
        },
      },
      origin: origin("network (the pod and service subnets)", 1),
      settings: ["network"],
    },
  ];
  if (spec.cni.name !== "flannel") {
    // Calico and Cilium are installed by the program after bootstrap; Talos must not deploy flannel.
    const cluster: Record<string, unknown> = { network: { cni: { name: "none" } } };
    if (kubeProxyFree) cluster.proxy = { disabled: true };
    layers.push({ doc: { cluster }, origin: origin("cni", 1), settings: ["cni"] });
  }
  if (role === "controlplane") {
    layers.push({
      doc: { cluster: { allowSchedulingOnControlPlanes: spec.allowSchedulingOnControlPlanes } },
      origin:
        spec.allowSchedulingOrigin ??
        origin("the default allowSchedulingOnControlPlanes (true below three workers)", 0),
      settings: spec.allowSchedulingOrigin ? ["allowSchedulingOnControlPlanes"] : [],
    });
    for (const doc of vipDocuments(spec)) layers.push({ doc, origin: origin("vip", 1), settings: ["vip"] });
  }
  return layers;
}

/** The role config invoke's patches. */
export function rolePatches(spec: ClusterSpec, role: NodeRole, image: string): PatchDocument[] {
  return rolePatchLayers(spec, role, image).map((l) => l.doc);
}

/** The stack file's patches that reach a node, in the order they apply, with their levels. */
function stackPatchLayers(spec: ClusterSpec, node: NodeSpec): LayeredPatch[] {
  const layer = (level: PatchLevel) => (p: StackPatch) => ({
    doc: p.doc,
    origin: origin(p.where, level),
    settings: settingsOf([p.where]),
  });
  return [
    ...spec.patches.all.map(layer(1)),
    ...spec.patches[node.role].map(layer(2)),
    ...node.patches.map(layer(3)),
  ];
}

function defaultOrigins(node: NodeSpec) {
  return (
    node.origins ?? {
      installDisk: origin("the default install disk", 0),
      hostname: origin(`nodes[${node.index}].name (the default hostname)`, 0),
      labels: {},
      taints: {},
    }
  );
}

/** The top-level settings behind stack-file paths (program defaults' descriptions name none). */
function settingsOf(sources: Iterable<string>): string[] {
  return [...new Set([...sources].flatMap((s) => settingOf(s) ?? []))].sort();
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === "object" && !Array.isArray(v);

/** A v1alpha1 patch document that chooses the install disk (by path or selector). */
function setsInstallDisk(doc: PatchDocument): boolean {
  if ("kind" in doc) return false;
  const install = isRecord(doc.machine) && isRecord(doc.machine.install) ? doc.machine.install : undefined;
  const set = (v: unknown) => v !== undefined && !(isRecord(v) && "$patch" in v);
  return install !== undefined && (set(install.disk) || set(install.diskSelector));
}

/** A HostnameConfig patch document that chooses automatic hostnames (`auto`). */
function setsHostnameAuto(doc: PatchDocument): boolean {
  return doc.kind === "HostnameConfig" && doc.auto !== undefined;
}

/** One generated value of a node: where it goes, and where it came from. */
interface Setting {
  readonly path: readonly string[];
  readonly value: unknown;
  readonly origin: SettingOrigin;
}

/**
 * Settings as one document per level (the install disk with the labels and taints of the same level),
 * so every value keeps its own level and a node's registered patches stay few.
 */
function settingLayers(settings: readonly Setting[]): LayeredPatch[] {
  const byLevel = new Map<PatchLevel, { doc: PatchDocument; sources: Record<string, string> }>();
  for (const s of settings) {
    const group = byLevel.get(s.origin.level) ?? { doc: {}, sources: {} };
    let node = group.doc;
    for (const key of s.path.slice(0, -1)) node = (node[key] ??= {}) as PatchDocument;
    node[s.path[s.path.length - 1]] = s.value;
    group.sources[s.path.join(".")] = s.origin.source;
    byLevel.set(s.origin.level, group);
  }
  return [...byLevel.entries()]
    .sort(([a], [b]) => a - b)
    .map(([level, g]) => ({
      doc: g.doc,
      origin: origin([...new Set(Object.values(g.sources))].join(", "), level),
      sources: g.sources,
      // A program default (level 0) carries a description, not a path: it derives from no setting.
      settings: level === 0 ? [] : settingsOf(Object.values(g.sources)),
    }));
}

/**
 * A node's generated settings: static hostname, install disk, labels and taints. A generated document is
 * left out where a stack patch of a higher level makes the same choice another way (automatic hostnames,
 * another install disk or selector), since a merge could only add to it, never take it back.
 */
export function nodeSettingLayers(spec: ClusterSpec, node: NodeSpec): LayeredPatch[] {
  const origins = defaultOrigins(node);
  const stack = stackPatchLayers(spec, node);
  const replacedBy = (o: SettingOrigin, sets: (doc: PatchDocument) => boolean) =>
    stack.some((p) => p.origin.level > o.level && sets(p.doc));
  const layers: LayeredPatch[] = [];
  if (!replacedBy(origins.hostname, setsHostnameAuto)) {
    // Talos ≥ 1.12 generates `HostnameConfig{auto: stable}`; a static name replaces it in the same document kind.
    layers.push({
      doc: { apiVersion: "v1alpha1", kind: "HostnameConfig", hostname: node.hostname, auto: "off" },
      origin: origins.hostname,
      // The node's name or its own hostname: from `nodes` either way.
      settings: ["nodes"],
    });
  }
  const settings: Setting[] = [];
  if (!replacedBy(origins.installDisk, setsInstallDisk)) {
    const install =
      "path" in node.installDisk
        ? { disk: node.installDisk.path }
        : { diskSelector: { ...node.installDisk.selector } };
    settings.push({ path: ["machine", "install"], value: install, origin: origins.installDisk });
  }
  const fallback = origin(`nodes[${node.index}]`, 3);
  for (const [key, values, byKey] of [
    ["nodeLabels", node.labels, origins.labels],
    ["nodeTaints", node.taints, origins.taints],
  ] as const) {
    for (const [k, v] of Object.entries(values)) {
      settings.push({ path: ["machine", key, k], value: v, origin: byKey[k] ?? fallback });
    }
  }
  layers.push(...settingLayers(settings));
  return layers;
}

/** Everything a node's apply carries, in order: its generated settings, then the stack file's patches. */
export function nodePatchLayers(spec: ClusterSpec, node: NodeSpec): LayeredPatch[] {
  return [...nodeSettingLayers(spec, node), ...stackPatchLayers(spec, node)];
}

/** The node apply's patches. */
export function nodePatches(spec: ClusterSpec, node: NodeSpec): PatchDocument[] {
  return nodePatchLayers(spec, node).map((l) => l.doc);
}
