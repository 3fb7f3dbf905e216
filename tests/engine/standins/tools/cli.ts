/**
 * What the fake `talosctl` and `kubectl` (talosctl.ts, kubectl.ts) share: argument parsing in the way cobra reads
 * these flags, the credentials-file checks the scripts' callers rely on, and exiting with a message as the real
 * CLIs do (cobra prints `Error: <message>`; talosctl and kubectl exit 1).
 */
import * as fs from "node:fs";

export class CliError extends Error {}

export interface ParsedArgs {
  /** Positional words, in order (the subcommand first). */
  readonly words: string[];
  /** `--flag value` and `--flag=value`; repeated flags keep every value. A bare `--flag` is `"true"`. */
  readonly flags: Map<string, string[]>;
}

/**
 * Splits argv into words and flags. `valued` lists the flags that take a separate value (`-n 10.0.0.1`); every
 * other flag is boolean unless written `--flag=value`, as cobra treats bool flags.
 */
export function parseArgs(argv: readonly string[], valued: ReadonlySet<string>): ParsedArgs {
  const words: string[] = [];
  const flags = new Map<string, string[]>();
  const add = (k: string, v: string) => flags.set(k, [...(flags.get(k) ?? []), v]);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith("-") || a === "-") {
      words.push(a);
      continue;
    }
    const eq = a.indexOf("=");
    if (eq > 0) add(a.slice(0, eq), a.slice(eq + 1));
    else if (valued.has(a)) {
      if (i + 1 >= argv.length) throw new CliError(`flag needs an argument: ${a}`);
      add(a, argv[++i]);
    } else add(a, "true");
  }
  return { words, flags };
}

/** The last value of any of `names`. */
export function flag(p: ParsedArgs, ...names: string[]): string | undefined {
  for (const n of names) {
    const v = p.flags.get(n);
    if (v && v.length > 0) return v[v.length - 1];
  }
  return undefined;
}

/** A cobra bool flag: absent -> `dflt`, `--x` or `--x=true` -> true, `--x=false` -> false. */
export function boolFlag(p: ParsedArgs, name: string, dflt: boolean): boolean {
  const v = flag(p, name);
  if (v === undefined) return dflt;
  if (v === "true" || v === "1") return true;
  if (v === "false" || v === "0") return false;
  throw new CliError(
    `invalid argument "${v}" for "${name}" flag: strconv.ParseBool: parsing "${v}": invalid syntax`,
  );
}

/**
 * The scripts hand credentials over in private files that exist while the call runs; the fakes refuse anything
 * else so a test notices a leak (a world-readable copy, a path that was already removed).
 */
export function requirePrivateFile(what: string, file: string): string {
  if (!fs.existsSync(file)) throw new CliError(`${what} ${file} does not exist`);
  const mode = fs.statSync(file).mode & 0o777;
  if (mode !== 0o600) throw new CliError(`${what} ${file} has mode ${mode.toString(8)}, want 600`);
  return fs.readFileSync(file, "utf8");
}

/**
 * Appends the call to `$STANDIN_STATE/tool-calls.log` (one line: tool and arguments, credential paths shown as
 * `<file>`), so a test can check what was run, and in which order, across tools.
 */
export function logCall(tool: string, argv: readonly string[], credentialFlags: ReadonlySet<string>): void {
  const dir = process.env.STANDIN_STATE;
  if (!dir) return;
  const shown = argv.map((a, i) =>
    credentialFlags.has(argv[i - 1] ?? "")
      ? "<file>"
      : credentialFlags.has(a.split("=")[0]) && a.includes("=")
        ? `${a.split("=")[0]}=<file>`
        : a,
  );
  fs.mkdirSync(dir, { recursive: true });
  fs.appendFileSync(`${dir}/tool-calls.log`, `${[tool, ...shown].join(" ")}\n`);
}

/** Runs `main`, printing a CliError (or any error) as the real CLIs do and exiting 1. */
export function runCli(main: () => void): void {
  try {
    main();
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    // kubectl prints an API server's refusal as it came; everything else is a client-side `error:`.
    process.stderr.write(message.startsWith("Error from server") ? `${message}\n` : `error: ${message}\n`);
    process.exit(1);
  }
}
