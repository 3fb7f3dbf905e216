/**
 * Stand-in for `pulumi-resource-command` v1.2.1 (pulumi/pulumi-command, a pulumi-go-provider `infer` provider),
 * for `command:local:Command`. It runs the commands for real, as the provider does
 * (`provider/pkg/provider/local/commandController.go`, `commandOutputs.go` run()):
 * - the program is `interpreter` (default `/bin/sh -c`) followed by the command text, in `dir` (default the
 *   plugin's working directory, which the engine sets to the program's), with the plugin's environment plus
 *   `environment` (secret values unwrapped: the child sees them, the call log does not), and `stdin` if given;
 * - Create runs `create`; Update runs `update`, or `create` again when there is no `update`; Delete runs
 *   `delete` if set. With `addPreviousOutputInEnv` (default true) the previous stdout/stderr are passed as
 *   PULUMI_COMMAND_STDOUT / PULUMI_COMMAND_STDERR;
 * - a non-zero exit fails the step with `exit status N: running "<command>":\n<stdout+stderr>`; stdout and stderr
 *   (one trailing newline trimmed) become the outputs;
 * - in a preview nothing runs and stdout/stderr are unknown;
 * - `triggers` is `replaceOnChanges` (`local/command.go` CommandArgs tag `provider:"replaceOnChanges"`; the SDK
 *   also sets the `triggers[*]` option); any other input change is an in-place update;
 * - infer's default dependency wiring makes every output depend on every input, so stdout and stderr are
 *   secret when any input is; inputs echoed in the state keep their own secrecy;
 * - the id is the resource name plus 8 random hex digits (`resource.NewUniqueHex(name, 8, 0)`).
 * - the `command:local:run` function (`local.run`, `local/run.go`) runs `command` the same way, at every preview
 *   and deployment (its SDK doc: "always be run on any preview or deployment"), and answers with its inputs plus
 *   stdout and stderr; a non-zero exit fails the invoke.
 * Not imitated: streaming the output into the engine's log (`logging`), `assetPaths`/`archivePaths`.
 */
import { spawn } from "node:child_process";
import type { StandinProvider } from "./core/provider";
import {
  changedKeys,
  containsSecret,
  isObject,
  randomHex,
  reveal,
  secret,
  UNKNOWN,
  type Wire,
  type WireMap,
} from "./core/wire";

export const COMMAND_TOKEN = "command:local:Command";
export const RUN_TOKEN = "command:local:run";

/** The inputs `command:local:Command` takes (@pulumi/command 1.2.1, local/command.js constructor). */
export const COMMAND_INPUTS: readonly string[] = [
  "addPreviousOutputInEnv",
  "archivePaths",
  "assetPaths",
  "create",
  "delete",
  "dir",
  "environment",
  "interpreter",
  "logging",
  "stdin",
  "triggers",
  "update",
];

export interface RunResult {
  stdout: string;
  stderr: string;
}

/** What `run()` needs, revealed. */
interface RunSpec {
  interpreter?: string[];
  dir?: string;
  environment?: Record<string, string>;
  stdin?: string;
  addPreviousOutputInEnv?: boolean;
}

/** Go's exec error text for a finished process. */
function exitText(code: number | null, signal: NodeJS.Signals | null): string {
  return signal
    ? `signal: ${signal === "SIGKILL" ? "killed" : signal.replace(/^SIG/, "").toLowerCase()}`
    : `exit status ${code}`;
}

/** Runs one command as the provider's run() does; rejects with its error text on failure. */
export function runCommand(
  command: string,
  spec: RunSpec,
  previous?: RunResult,
  baseEnv: NodeJS.ProcessEnv = process.env,
): Promise<RunResult> {
  const argv = spec.interpreter && spec.interpreter.length > 0 ? spec.interpreter : ["/bin/sh", "-c"];
  const env: NodeJS.ProcessEnv = { ...baseEnv, ...(spec.environment ?? {}) };
  if (spec.addPreviousOutputInEnv !== false && previous) {
    if (previous.stdout !== "") env.PULUMI_COMMAND_STDOUT = previous.stdout;
    if (previous.stderr !== "") env.PULUMI_COMMAND_STDERR = previous.stderr;
  }
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], [...argv.slice(1), command], {
      cwd: spec.dir ?? process.cwd(),
      env,
      // Without `stdin` the child reads /dev/null, as Go's exec does with a nil Stdin.
      stdio: [spec.stdin !== undefined && spec.stdin !== "" ? "pipe" : "ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    let both = "";
    child.stdout?.on("data", (d: Buffer) => ((stdout += d), (both += d)));
    child.stderr?.on("data", (d: Buffer) => ((stderr += d), (both += d)));
    child.on("error", (e) =>
      reject(new Error(`fork/exec ${argv[0]}: ${e.message}: running ${JSON.stringify(command)}:\n`)),
    );
    child.on("close", (code, signal) => {
      if (code === 0) resolve({ stdout: stdout.replace(/\n$/, ""), stderr: stderr.replace(/\n$/, "") });
      else reject(new Error(`${exitText(code, signal)}: running ${JSON.stringify(command)}:\n${both}`));
    });
    child.stdin?.on("error", () => {}); // a command may exit without reading its stdin
    child.stdin?.end(spec.stdin);
  });
}

function runSpec(inputs: WireMap): RunSpec {
  const r = reveal(inputs) as WireMap;
  const env = isObject(r.environment)
    ? Object.fromEntries(Object.entries(r.environment).map(([k, v]) => [k, String(v)]))
    : undefined;
  return {
    interpreter: Array.isArray(r.interpreter) ? r.interpreter.map(String) : undefined,
    dir: typeof r.dir === "string" ? r.dir : undefined,
    environment: env,
    stdin: typeof r.stdin === "string" ? r.stdin : undefined,
    addPreviousOutputInEnv: r.addPreviousOutputInEnv !== false,
  };
}

/** The state: the inputs as given (each keeping its secrecy) plus stdout/stderr, secret if any input is. */
function state(inputs: WireMap, out: { stdout: Wire; stderr: Wire }): WireMap {
  const wrap = (v: Wire) => (containsSecret(inputs) && v !== UNKNOWN ? secret(v) : v);
  const kept = Object.fromEntries(Object.entries(inputs).filter(([k]) => COMMAND_INPUTS.includes(k)));
  return { ...kept, stdout: wrap(out.stdout), stderr: wrap(out.stderr) };
}

function previousOutput(olds: WireMap): RunResult {
  const r = reveal(olds) as WireMap;
  return {
    stdout: typeof r.stdout === "string" ? r.stdout : "",
    stderr: typeof r.stderr === "string" ? r.stderr : "",
  };
}

const text = (m: WireMap, key: string): string | undefined => {
  const v = reveal(m[key]);
  return typeof v === "string" ? v : undefined;
};

export function createCommandProvider(env: NodeJS.ProcessEnv = process.env): StandinProvider {
  const known = (type: string) => {
    if (type !== COMMAND_TOKEN)
      throw new Error(`unknown resource type ${type}: the stand-in implements ${COMMAND_TOKEN}`);
  };
  return {
    name: "command",
    version: "1.2.1",
    // Not the provider's schema (not part of this project's inputs): just the token the stand-in serves.
    schema: () =>
      JSON.stringify({
        name: "command",
        version: "1.2.1",
        resources: { [COMMAND_TOKEN]: { properties: {} } },
      }),
    check: ({ type, news }) => {
      known(type);
      // infer applies the schema default of addPreviousOutputInEnv (BaseInputs Annotate: SetDefault true).
      return { inputs: { addPreviousOutputInEnv: true, ...news } };
    },
    diff: ({ type, oldInputs, olds, news }) => {
      known(type);
      const before = Object.keys(oldInputs).length > 0 ? oldInputs : olds;
      const diffs = changedKeys(
        Object.fromEntries(Object.entries(before).filter(([k]) => COMMAND_INPUTS.includes(k))),
        Object.fromEntries(Object.entries(news).filter(([k]) => COMMAND_INPUTS.includes(k))),
      );
      return { changes: diffs.length > 0, diffs, replaces: diffs.filter((k) => k === "triggers") };
    },
    create: async ({ type, name, news, preview }) => {
      known(type);
      const id = `${name}${randomHex(4)}`;
      if (preview) return { id, outs: state(news, { stdout: UNKNOWN, stderr: UNKNOWN }) };
      const create = text(news, "create");
      const out =
        create === undefined
          ? { stdout: "", stderr: "" }
          : await runCommand(create, runSpec(news), undefined, env);
      return { id, outs: state(news, out) };
    },
    update: async ({ type, olds, news, preview }) => {
      known(type);
      if (preview) return state(news, { stdout: UNKNOWN, stderr: UNKNOWN });
      const cmd = text(news, "update") ?? text(news, "create");
      const previous = previousOutput(olds);
      const out = cmd === undefined ? previous : await runCommand(cmd, runSpec(news), previous, env);
      return state(news, out);
    },
    delete: async ({ type, olds }) => {
      known(type);
      const del = text(olds, "delete");
      if (del !== undefined) await runCommand(del, runSpec(olds), previousOutput(olds), env);
    },
    invoke: async ({ token, args }) => {
      if (token !== RUN_TOKEN)
        throw new Error(`unknown function ${token}: the stand-in implements ${RUN_TOKEN}`);
      const command = text(args, "command");
      if (command === undefined) {
        return {
          outputs: {},
          failures: [{ property: "command", reason: "missing required property 'command'" }],
        };
      }
      const out = await runCommand(command, runSpec(args), undefined, env);
      const inputs = Object.fromEntries(
        Object.entries(reveal(args) as WireMap).filter(
          ([k]) => k === "command" || COMMAND_INPUTS.includes(k),
        ),
      );
      return { outputs: { ...inputs, stdout: out.stdout, stderr: out.stderr } };
    },
    injectedFailure: (_type, news) => {
      const cmd = text(news, "update") ?? text(news, "create") ?? "";
      return `exit status 1: running ${JSON.stringify(cmd)}:\nerror: injected failure (STANDIN_FAIL_ONCE)\n`;
    },
  };
}
