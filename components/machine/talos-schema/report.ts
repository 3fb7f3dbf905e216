/** Paths inside a document, and the collector that turns findings into sentences naming them. */
import { closest } from "../../config/suggest";
import type { SchemaProblem } from "./types";

export type Segment = string | number;

/** JSON pointer to segments, telling list indices from map keys by walking the document. */
export function segmentsOf(doc: unknown, pointer: string): Segment[] {
  if (pointer === "") return [];
  const segments: Segment[] = [];
  let node: unknown = doc;
  for (const raw of pointer.slice(1).split("/")) {
    const key = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    if (Array.isArray(node)) {
      const index = Number(key);
      segments.push(index);
      node = node[index];
    } else {
      segments.push(key);
      node = isPlainObject(node) ? node[key] : undefined;
    }
  }
  return segments;
}

/** `machine.nodeLabels["node.kubernetes.io/role"]`, `machine.network.interfaces[0].vip`. */
export function formatPath(path: Segment[]): string {
  let out = "";
  for (const segment of path) {
    if (typeof segment === "number") out += `[${segment}]`;
    else if (/^[A-Za-z_$][\w$-]*$/.test(segment)) out += out === "" ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

/** The dotted path with list indices erased, as the legacy rules are keyed. */
export function patternOf(path: Segment[]): string {
  return path.filter((s): s is string => typeof s === "string").join(".");
}

/** Closest candidate by edit distance, if close enough to be a plausible typo. */
export function joinOr(items: string[]): string {
  if (items.length <= 1) return items.join("");
  return `${items.slice(0, -1).join(", ")} or ${items[items.length - 1]}`;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export class Reporter {
  readonly problems: SchemaProblem[] = [];
  private readonly seen = new Set<string>();

  constructor(private readonly where: string) {}

  error(path: Segment[] | string, text: string): void {
    this.add("error", path, text);
  }

  warning(path: Segment[] | string, text: string): void {
    this.add("warning", path, text);
  }

  /** `fallback` is offered when no allowed name is close, e.g. `machine.install` for a top-level `install`. */
  unknownKey(path: Segment[], allowed: string[], fallback?: Segment[]): void {
    const key = String(path[path.length - 1]);
    const suggestion = closest(key, allowed);
    const hint = suggestion
      ? ` — did you mean ${formatPath([...path.slice(0, -1), suggestion])}?`
      : fallback
        ? ` — did you mean ${formatPath(fallback)}?`
        : "";
    this.error(path, `${formatPath(path)} is not a Talos setting${hint}`);
  }

  private add(severity: SchemaProblem["severity"], path: Segment[] | string, text: string): void {
    const dotted = typeof path === "string" ? path : formatPath(path);
    const message = `${this.where}: ${text}`;
    if (this.seen.has(message)) return;
    this.seen.add(message);
    this.problems.push({ severity, where: this.where, path: dotted, message });
  }
}

export function describeValue(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "an empty value";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a map";
  if (typeof value === "string")
    return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  return String(value);
}
