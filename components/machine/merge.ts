/**
 * What Talos makes of a sequence of strategic-merge patches, close enough to say which value reaches a
 * node and which is lost, without Go: the same rules as machinery v1.13.0 `config/configpatcher/strategic.go`
 * (a patch document merges into the document of the same kind and name, or is added; `$patch: delete`
 * removes it) and `config/merge/merge.go` (maps merge key by key, lists are appended except the fields
 * tagged `merge:"replace"`, scalars are replaced). tools/talos-check runs the real machinery over the same
 * patches in the tests, and a test holds the two to the same verdicts.
 */
import type { PatchDocument, SettingOrigin } from "../config/spec";
import { sourceOf, type LayeredPatch } from "./patches";

/** A configuration's documents by key: "v1alpha1", "<kind>" or "<kind>/<name>". */
export type Documents = Map<string, Record<string, unknown>>;

const isRecord = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === "object" && !Array.isArray(v);

const isDelete = (v: unknown) => isRecord(v) && v.$patch === "delete";

/** How a patch finds its target: the v1alpha1 config has no kind; other documents go by kind and name. */
export function documentKey(doc: PatchDocument): string {
  if (typeof doc.kind !== "string") return "v1alpha1";
  return typeof doc.name === "string" ? `${doc.kind}/${doc.name}` : doc.kind;
}

/**
 * The parts of the provider's generated config (Talos 1.12 and 1.13 contracts) that decide what a patch
 * does: install disk /dev/sda (terraform-provider-talos v0.11.0 util.go generate options),
 * `grubUseUKICmdline: true` (machinery generate/init.go, worker.go) and `HostnameConfig{auto: stable}`
 * (generate/network.go).
 */
function generatedBase(): Documents {
  return new Map<string, Record<string, unknown>>([
    ["v1alpha1", { machine: { install: { disk: "/dev/sda", grubUseUKICmdline: true } } }],
    ["HostnameConfig", { apiVersion: "v1alpha1", kind: "HostnameConfig", auto: "stable" }],
  ]);
}

/** Fields Talos replaces instead of merging (`merge:"replace"` in machinery v1.13.0 config/types). */
const REPLACED = new Set([
  "v1alpha1:cluster.network.podSubnets",
  "v1alpha1:cluster.network.serviceSubnets",
  "v1alpha1:cluster.apiServer.auditPolicy",
]);

/**
 * Map fields whose keys are the user's (a `$patch: delete` of a key that is not there fails with "lookup
 * failed", machinery v1.13.0 config/configloader/internal/decoder/selector.go deleteForPath); deleting an
 * unset field of a settings struct is fine.
 */
const USER_KEYED =
  /(^|\.)(nodeLabels|nodeAnnotations|nodeTaints|sysctls|sysfs|extraArgs|env|mirrors|config)$/;

/** Receives the path of every `$patch: delete` that finds nothing to delete where Talos fails on it. */
type MissingDelete = (path: readonly string[]) => void;

function mergeValue(
  left: unknown,
  right: unknown,
  doc: string,
  path: readonly string[],
  missing: MissingDelete,
): unknown {
  if (right === null || right === undefined) return left;
  // merge.go: an empty string or a zero number does not replace a value (only booleans always do).
  if ((right === "" || right === 0) && left !== undefined) return left;
  if (REPLACED.has(`${doc}:${path.join(".")}`) || !(isRecord(left) || Array.isArray(left))) {
    return strip(right);
  }
  if (Array.isArray(right)) return Array.isArray(left) ? [...left, ...(strip(right) as unknown[])] : right;
  if (!isRecord(right) || !isRecord(left)) return strip(right);
  const out: Record<string, unknown> = { ...left };
  for (const [key, value] of Object.entries(right)) {
    if (isDelete(value)) {
      if (!(key in out) && USER_KEYED.test(path.join("."))) missing([...path, key]);
      delete out[key];
    } else if (key in out) out[key] = mergeValue(out[key], value, doc, [...path, key], missing);
    else {
      reportDeletes(value, [...path, key], missing);
      out[key] = strip(value);
    }
  }
  return out;
}

/** Deletions inside a value that lands where nothing was: each finds nothing (inside a struct that is fine). */
function reportDeletes(value: unknown, path: readonly string[], missing: MissingDelete): void {
  if (!isRecord(value)) return;
  for (const [k, v] of Object.entries(value)) {
    if (isDelete(v)) missing([...path, k]);
    else reportDeletes(v, [...path, k], missing);
  }
}

/** A value without `$patch: delete` entries, as it lands where there was nothing to delete. */
function strip(value: unknown): unknown {
  if (Array.isArray(value)) return value.filter((v) => !isDelete(v)).map(strip);
  if (!isRecord(value)) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([k, v]) => k !== "$patch" && !isDelete(v))
      .map(([k, v]) => [k, strip(v)]),
  );
}

/** The configuration after one more patch document; `missing` hears of deletions that fail. */
function applyPatch(
  state: Documents,
  doc: PatchDocument,
  missing: MissingDelete = () => undefined,
): Documents {
  const next = new Map(state);
  const key = documentKey(doc);
  if (doc.$patch === "delete") next.delete(key);
  else {
    const current = next.get(key);
    const merged = current ? mergeValue(current, doc, key.split("/")[0], [], missing) : strip(doc);
    next.set(key, merged as Record<string, unknown>);
  }
  return next;
}

/** The value at a dotted path of a document, if set. */
export function lookup(state: Documents, key: string, path: readonly string[]): unknown {
  let node: unknown = state.get(key);
  for (const segment of path) node = isRecord(node) ? node[segment] : undefined;
  return node;
}

/** One value a patch sets: a scalar at a path, or an item the list at the path must contain. */
interface Claim {
  readonly doc: string;
  readonly path: readonly string[];
  readonly value: unknown;
  readonly inList: boolean;
  readonly origin: SettingOrigin;
}

/** Every value a patch sets (identity keys and `$patch` directives claim nothing), each with its source. */
export function claimsOf(layer: LayeredPatch): Claim[] {
  const { doc } = layer;
  const key = documentKey(doc);
  const origin = (path: readonly string[]) => ({ source: sourceOf(layer, path), level: layer.origin.level });
  const out: Claim[] = [];
  const walk = (node: unknown, path: string[]) => {
    if (isRecord(node)) {
      if ("$patch" in node) return;
      for (const [k, child] of Object.entries(node)) {
        if (key !== "v1alpha1" && path.length === 0 && ["apiVersion", "kind", "name"].includes(k)) continue;
        walk(child, [...path, k]);
      }
    } else if (Array.isArray(node)) {
      for (const item of node) {
        if (!isDelete(item)) out.push({ doc: key, path, value: item, inList: true, origin: origin(path) });
      }
    } else if (node !== null && node !== undefined) {
      out.push({ doc: key, path, value: node, inList: false, origin: origin(path) });
    }
  };
  walk(doc, []);
  return out;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Whether the claim is true of the configuration, and why not when a Talos rule defeats it. */
export function holds(claim: Claim, state: Documents): { ok: boolean; reason?: string } {
  const now = lookup(state, claim.doc, claim.path);
  const ok = claim.inList
    ? Array.isArray(now) && now.some((item) => same(item, claim.value))
    : now !== undefined && same(now, claim.value);
  if (!ok) return { ok };
  // A node installs to the disk the selector picks whenever one is set (talos@v1.13.9
  // internal/app/machined/pkg/runtime/v1alpha1/v1alpha1_sequencer_tasks.go Install).
  if (claim.doc === "v1alpha1" && claim.path.join(".") === "machine.install.disk") {
    if (lookup(state, "v1alpha1", ["machine", "install", "diskSelector"]) !== undefined) {
      return {
        ok: false,
        reason: "machine.install.diskSelector is set, and Talos installs to the disk it picks",
      };
    }
  }
  return { ok: true };
}

/** A user-set value that does not reach the node as set. */
export interface Override {
  readonly claim: Claim;
  /** The later patch that changed it, or the patch that keeps it from taking effect. */
  readonly by: SettingOrigin;
  readonly now: unknown;
  readonly reason?: string;
}

/**
 * Replays the patches over the generated base and returns every value set at level 1 or more that a later
 * patch of the same or a lower level changes, or that never takes effect; with the final configuration.
 */
export function trackOverrides(patches: readonly LayeredPatch[]): {
  overrides: Override[];
  /** `$patch: delete` entries that find nothing to delete, which Talos refuses, by patch. */
  failedDeletes: { origin: SettingOrigin; path: string }[];
  final: Documents;
} {
  let state = generatedBase();
  const overrides: Override[] = [];
  const failedDeletes: { origin: SettingOrigin; path: string }[] = [];
  let live: Claim[] = [];
  const all: Claim[] = [];
  for (const patch of patches) {
    state = applyPatch(state, patch.doc, (path) =>
      failedDeletes.push({ origin: patch.origin, path: path.join(".") }),
    );
    const after = state;
    live = live.filter((claim) => {
      const { ok, reason } = holds(claim, after);
      if (ok) return true;
      if (patch.origin.level <= claim.origin.level) {
        overrides.push({ claim, by: patch.origin, now: lookup(after, claim.doc, claim.path), reason });
      }
      return false;
    });
    for (const claim of claimsOf(patch)) {
      all.push(claim);
      if (claim.origin.level < 1) continue;
      const { ok, reason } = holds(claim, after);
      if (ok) {
        live.push(claim);
        continue;
      }
      const selector = [...all]
        .reverse()
        .find((c) => c.doc === "v1alpha1" && c.path.join(".").startsWith("machine.install.diskSelector"));
      overrides.push({
        claim,
        by: reason && selector ? selector.origin : patch.origin,
        now: lookup(after, claim.doc, claim.path),
        reason: reason ?? "Talos's merge keeps the value that was there",
      });
    }
  }
  return { overrides, failedDeletes, final: state };
}
