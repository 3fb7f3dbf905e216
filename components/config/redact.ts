/**
 * Keeps values from secret stack settings out of the program's error and warning messages. A validation
 * message may quote what it found (a schema problem in a patch quotes the offending value, a bad label quotes
 * the label), and those messages reach the terminal and the CI log in clear. Pulumi only says which top-level
 * setting is secret (`pulumi config set --secret --path nodes[0].patches[0] ...` makes all of `nodes` secret),
 * so every value such a setting carries is treated as secret, except the fields that are never secret
 * (docs/configuration.md): a node's name, address, role and hostname name resources and are stack outputs.
 */
import * as YAML from "yaml";

const PREFIX = "homelab:";
/** Fields whose values are identifiers, never secret (and redacting them would make every message unreadable). */
const NEVER_SECRET_FIELDS = new Set(["name", "address", "role", "hostname"]);
/** Shorter values (`1`, `on`) occur everywhere in messages; replacing them would garble text, not hide secrets. */
const MIN_LENGTH = 3;

/**
 * Every string value the secret `homelab:*` settings hold, including the string scalars inside the YAML patches
 * they carry. Numbers and booleans are left out: `true` or `6443` in a message says nothing about a secret.
 */
export function secretStrings(all: Record<string, string>, isSecret: (key: string) => boolean): string[] {
  const found = new Set<string>();
  const add = (s: string) => {
    if (s.length >= MIN_LENGTH) found.add(s);
  };
  const walk = (value: unknown, field: string | undefined): void => {
    if (field !== undefined && NEVER_SECRET_FIELDS.has(field)) return;
    if (typeof value === "string") {
      add(value);
      // A patch is YAML text: the schema checks quote its scalars one by one.
      if (/\n|: |^\s*[{[]/.test(value)) {
        try {
          walk(YAML.parse(value) as unknown, undefined);
        } catch {
          // Not YAML: the whole string is already on the list.
        }
      }
    } else if (Array.isArray(value)) {
      for (const v of value) walk(v, undefined);
    } else if (value !== null && typeof value === "object") {
      // Keys are structure (ours, or Talos's field names that the messages must be able to name), not secrets.
      for (const [k, v] of Object.entries(value)) walk(v, k);
    }
  };
  for (const [key, raw] of Object.entries(all)) {
    if (!key.startsWith(PREFIX) || !isSecret(key)) continue;
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      // A plain string setting.
    }
    walk(value, undefined);
  }
  return [...found].sort((a, b) => b.length - a.length);
}

/** `text` with every occurrence of each secret replaced by `[secret]` (longest first, so no part is left). */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) out = out.split(s).join("[secret]");
  return out;
}
