/**
 * What the stand-ins leave behind for the tests: one JSON line per call in the file named by `STANDIN_LOG`,
 * and the failure injection driven by `STANDIN_FAIL_ONCE` with its memory in `STANDIN_STATE`.
 *
 * Secrets never reach the log: every value goes through {@link redact} first, so a secret input is written as
 * "[secret]" whatever its depth.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { redact, sha256Hex, type Wire } from "./wire";

/** One recorded call. `inputs` are the new inputs (Check, Diff, Create, Update), the args (Invoke, Configure) or
 * the old state (Delete), always redacted. */
export interface JournalEntry {
  provider: string;
  method: string;
  /** Resource type or function token. */
  token?: string;
  urn?: string;
  id?: string;
  preview?: boolean;
  inputs?: Wire;
  /** What the stand-in decided, where it is a decision (Diff: changes/replaces; Create: id; errors). */
  result?: Wire;
}

/** Appends one entry to `STANDIN_LOG` (no-op when unset). One `appendFileSync` per line keeps lines whole when
 * several plugin processes write at once. */
export function record(entry: JournalEntry, env: NodeJS.ProcessEnv = process.env): void {
  const file = env.STANDIN_LOG;
  if (!file) return;
  const line = { ...entry, inputs: redact(entry.inputs), time: new Date().toISOString() };
  fs.appendFileSync(file, `${JSON.stringify(line)}\n`);
}

/** Reads a log written by {@link record} (for tests and harnesses). */
export function readJournal(file: string): JournalEntry[] {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as JournalEntry);
}

/** The state directory (simulated nodes, failure memory); throws with the fix when a behaviour needs it. */
export function stateDir(env: NodeJS.ProcessEnv = process.env, why = "this stand-in behaviour"): string {
  const dir = env.STANDIN_STATE;
  if (!dir) {
    throw new Error(`stand-in: ${why} needs STANDIN_STATE set to a writable directory (one per test)`);
  }
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

/** Whether `selector` names this resource: its name (last URN part), or a suffix of its URN. */
export function selects(selector: string, urn: string): boolean {
  const name = urn.split("::").pop() ?? "";
  return selector === name || urn.endsWith(selector);
}

/**
 * Failure injection. `STANDIN_FAIL_ONCE` holds comma-separated selectors (a resource name or URN suffix). The
 * first create or update of a selected resource fails; the stand-in remembers it in `STANDIN_STATE`, so the
 * next attempt (the next `pulumi up`) succeeds.
 */
export function takeInjectedFailure(urn: string, env: NodeJS.ProcessEnv = process.env): boolean {
  const selectors = (env.STANDIN_FAIL_ONCE ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  const hit = selectors.find((s) => selects(s, urn));
  if (!hit) return false;
  const dir = path.join(stateDir(env, "STANDIN_FAIL_ONCE"), "failed-once");
  fs.mkdirSync(dir, { recursive: true });
  const marker = path.join(dir, sha256Hex(`${hit}\n${urn}`));
  try {
    // `wx` fails if the marker exists: exactly one process gets to fail, even with parallel steps.
    fs.writeFileSync(marker, `${hit} ${urn}\n`, { flag: "wx" });
    return true;
  } catch {
    return false;
  }
}
