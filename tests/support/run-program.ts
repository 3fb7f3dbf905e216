/**
 * Runs a Pulumi program the way `pulumi preview`/`pulumi up` does, minus the CLI: a fake engine
 * (fake-engine.ts) serves the engine and resource-monitor RPCs, and the program is started through
 * `@pulumi/pulumi/cmd/run` with the argv and environment the Node.js language host gives it. That loader
 * compiles TypeScript with the project's own `ts-node` + `typescript` and type-checks as it goes, so this
 * catches what a vitest import of the program cannot: type errors, module resolution, tsconfig quirks.
 *
 * What the language host does, and what is reproduced here:
 * - it resolves `@pulumi/pulumi/cmd/run` from the program directory and runs `node <that path>`;
 * - argv: `--monitor <addr> --engine <addr> --organization <org> --project <p> --root-directory <dir>
 *   --stack <s> --pwd <dir> [--dry-run] --parallel <n> <entry point>`; the entry point is Pulumi.yaml's `main`
 *   (relative to the project directory), or `.` to let the loader use package.json's `main`;
 * - env: the config as `PULUMI_CONFIG` (JSON object, `namespace:key` keys, string values, objects and arrays as
 *   JSON text) and `PULUMI_CONFIG_SECRET_KEYS` (JSON array); `PULUMI_NODEJS_TYPESCRIPT=true` unless Pulumi.yaml's
 *   runtime option `typescript` is false (its other options, unused here, are refused). The loader itself
 *   copies the flags into `PULUMI_NODEJS_*` for the SDK, and type-checks unless `PULUMI_NODEJS_TRANSPILE_ONLY=true`
 *   or the tsconfig says `noCheck`.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import YAML from "yaml";
import {
  FakeEngine,
  type EngineMocks,
  type RecordedInvoke,
  type RecordedLog,
  type RecordedResource,
} from "./fake-engine";
import { createStrictMocks } from "./mocks";

export interface RunProgramOptions {
  /** Directory holding Pulumi.yaml (the project root; also the program's working directory). */
  programDir: string;
  project: string;
  stack: string;
  /** Stack config; a key without a namespace is taken as `<project>:<key>`. Values as the CLI passes them. */
  config: Record<string, string>;
  /** Config keys (as given in `config`) that are secret. */
  secretKeys?: string[];
  dryRun: boolean;
  /** Extra environment for the program (e.g. `PULUMI_NODEJS_TRANSPILE_ONLY`). */
  env?: Record<string, string>;
  /** What answers registrations and invokes; strict mocks (tests/support/mocks.ts) by default. */
  mocks?: EngineMocks;
}

/** A safety net only: the program is killed after this long (the loader test allows 120 s per run). */
const TIMEOUT_MS = 110_000;

export interface RunProgramResult {
  /** Exit code of the loader; null if it was killed. 32 means it already reported the error itself. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  stdout: string;
  stderr: string;
  resources: RecordedResource[];
  invokes: RecordedInvoke[];
  logs: RecordedLog[];
  /** Stack outputs as plain values (from RegisterResourceOutputs on the root `pulumi:pulumi:Stack`). */
  outputs: Record<string, unknown>;
  /** Names of the stack outputs that are secret. */
  secretOutputs: string[];
  /** Whether the SDK told the engine the program finished normally (SignalAndWaitForShutdown). */
  shutdownSignalled: boolean;
}

/** What the language host reads from Pulumi.yaml to start a Node.js program. */
interface ProjectFile {
  main?: string;
  /** `runtime.options.typescript`, true unless set to false. */
  typescript: boolean;
}

function readProjectFile(programDir: string): ProjectFile {
  const file = path.join(programDir, "Pulumi.yaml");
  const doc = (YAML.parse(fs.readFileSync(file, "utf8")) ?? {}) as { main?: unknown; runtime?: unknown };
  const runtime = (typeof doc.runtime === "string" ? { name: doc.runtime } : (doc.runtime ?? {})) as {
    name?: unknown;
    options?: Record<string, unknown>;
  };
  if (runtime.name !== "nodejs") {
    throw new Error(`${file}: runtime is "${String(runtime.name)}", not nodejs`);
  }
  const options = runtime.options ?? {};
  // The other options (tsconfig, nodeargs, ...) change how the language host starts the program; no project
  // here sets one, so one that appears must be carried over here first rather than silently ignored.
  const unsupported = Object.keys(options).filter((k) => k !== "typescript");
  if (unsupported.length > 0) {
    throw new Error(
      `${file}: runtime option(s) ${unsupported.join(", ")} not carried over by run-program.ts`,
    );
  }
  return {
    main: typeof doc.main === "string" ? doc.main : undefined,
    typescript: options["typescript"] !== false && options["typescript"] !== "false",
  };
}

/**
 * Reads `Pulumi.<stack>.yaml` into config the way the CLI hands it to the language host: `namespace:key` keys,
 * strings as they are, numbers and booleans as their text, objects and arrays as JSON text.
 */
export function loadStackConfig(programDir: string, project: string, stack: string): Record<string, string> {
  const file = path.join(programDir, `Pulumi.${stack}.yaml`);
  const doc = (YAML.parse(fs.readFileSync(file, "utf8")) ?? {}) as Record<string, unknown>;
  return encodeStackConfig((doc["config"] ?? {}) as Record<string, unknown>, project, file);
}

/**
 * Config values as the CLI hands them to a program: keys namespaced (`project:key`), strings as they are,
 * lists and maps as JSON. `source` names the file in the error for an encrypted value.
 */
export function encodeStackConfig(
  config: Record<string, unknown>,
  project: string,
  source = "stack config",
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(config)) {
    const fullKey = key.includes(":") ? key : `${project}:${key}`;
    if (value !== null && typeof value === "object" && !Array.isArray(value) && "secure" in value) {
      throw new Error(`${source}: ${key} is an encrypted secret; the harness cannot decrypt it`);
    }
    out[fullKey] =
      typeof value === "string"
        ? value
        : value === null
          ? ""
          : typeof value === "object"
            ? JSON.stringify(value)
            : String(value);
  }
  return out;
}

/** The child's environment: this process's, without test-runner and stray Pulumi variables. */
function programEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith("VITEST") || k.startsWith("PULUMI_") || k === "NODE_OPTIONS") continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}

export async function runProgramThroughLoader(opts: RunProgramOptions): Promise<RunProgramResult> {
  const programDir = path.resolve(opts.programDir);
  const project = readProjectFile(programDir);
  const mocks = opts.mocks ?? createStrictMocks();

  const qualify = (k: string) => (k.includes(":") ? k : `${opts.project}:${k}`);
  const config: Record<string, string> = {};
  for (const [k, v] of Object.entries(opts.config)) {
    config[qualify(k)] = v;
  }
  const secretKeys = (opts.secretKeys ?? []).map(qualify);

  const env: Record<string, string> = {
    PULUMI_CONFIG: JSON.stringify(config),
    PULUMI_CONFIG_SECRET_KEYS: JSON.stringify(secretKeys),
    ...(project.typescript ? { PULUMI_NODEJS_TYPESCRIPT: "true" } : {}),
  };

  // The language host asks Node where the program's own @pulumi/pulumi keeps the loader.
  const runPath = require.resolve("@pulumi/pulumi/cmd/run", { paths: [programDir] });

  const engine = await FakeEngine.start({
    mocks,
    project: opts.project,
    stack: opts.stack,
    dryRun: opts.dryRun,
  });
  const argv = [
    runPath,
    "--monitor",
    engine.address,
    "--engine",
    engine.address,
    // What the CLI passes for self-managed backends.
    "--organization",
    "organization",
    "--project",
    opts.project,
    "--root-directory",
    programDir,
    "--stack",
    opts.stack,
    "--pwd",
    programDir,
    ...(opts.dryRun ? ["--dry-run"] : []),
    // The CLI's default: unbounded.
    "--parallel",
    "2147483647",
    project.main ?? ".",
  ];

  try {
    const child = spawn(process.execPath, argv, {
      cwd: programDir,
      env: programEnv({ ...env, ...(opts.env ?? {}) }),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, TIMEOUT_MS);
    const [exitCode, signal] = await new Promise<[number | null, NodeJS.Signals | null]>(
      (resolve, reject) => {
        child.on("error", reject);
        child.on("close", (code, sig) => resolve([code, sig]));
      },
    ).finally(() => clearTimeout(timer));

    const { outputs, secretOutputs } = engine.stackOutputs;
    return {
      exitCode,
      signal,
      timedOut,
      stdout,
      stderr,
      resources: engine.resources,
      invokes: engine.invokes,
      logs: engine.logs,
      outputs,
      secretOutputs,
      shutdownSignalled: engine.shutdownSignalled,
    };
  } finally {
    await engine.stop();
  }
}

/** What the program told the user (engine log above debug, stdout, stderr), for assertions and messages. */
export function transcript(result: RunProgramResult): string {
  return [
    ...result.logs.filter((l) => l.severity !== "debug").map((l) => `[${l.severity}] ${l.message}`),
    `--- stdout ---`,
    result.stdout,
    `--- stderr ---`,
    result.stderr,
  ].join("\n");
}
