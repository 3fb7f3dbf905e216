/**
 * Installs the three stand-in plugins into an isolated PULUMI_HOME, so the real Pulumi CLI loads them instead of
 * downloading the real providers.
 *
 * The stand-ins are TypeScript; the plugin processes the engine starts must not pay for a TypeScript compiler at
 * every start, so this transpiles them once (TypeScript's `transpileModule`, no type check: `npm test` does that)
 * into `buildDir`, copies the talos schema beside them, and writes one shim per plugin. A shim bakes in the
 * absolute paths of node and of the build, and sets NODE_PATH to this project's node_modules so the plugin
 * finds `@pulumi/pulumi`, `@grpc/grpc-js` and `yaml` from wherever the engine copied it. Then it runs
 * `pulumi plugin install resource <name> <version> --file <shim>` with that PULUMI_HOME (never ~/.pulumi).
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import ts from "typescript";

/** The directory of the stand-in sources (this file's). */
export const STANDINS_DIR = __dirname;
const PROJECT_NODE_MODULES = path.resolve(__dirname, "..", "..", "..", "node_modules");

/** The plugins, at the versions the program's SDKs ask for (package.json; sdks/talos/package.json). */
export const STANDIN_PLUGINS = [
  { name: "talos", version: "0.8.1" },
  { name: "command", version: "1.2.1" },
  { name: "kubernetes", version: "4.34.2" },
] as const;

export interface InstallOptions {
  /** The `pulumi` binary (3.274.1). */
  pulumiBin: string;
  /** An isolated PULUMI_HOME (a temp dir); created if missing. */
  pulumiHome: string;
  /** Where the transpiled plugins and shims go (default `<pulumiHome>/standins`). */
  buildDir?: string;
  /** Extra environment for `pulumi plugin install`. */
  env?: NodeJS.ProcessEnv;
}

export interface InstalledStandins {
  buildDir: string;
  /** Shim path by plugin name. */
  shims: Record<string, string>;
}

/** Transpiles the stand-in sources under STANDINS_DIR (not their tests) to CommonJS in `outDir`; JSON is copied. */
export function buildStandins(outDir: string): void {
  const walk = (rel: string): void => {
    for (const entry of fs.readdirSync(path.join(STANDINS_DIR, rel), { withFileTypes: true })) {
      const from = path.join(rel, entry.name);
      if (entry.isDirectory()) {
        walk(from);
        continue;
      }
      fs.mkdirSync(path.join(outDir, rel), { recursive: true });
      if (entry.name.endsWith(".json")) {
        fs.copyFileSync(path.join(STANDINS_DIR, from), path.join(outDir, from));
      } else if (
        entry.name.endsWith(".ts") &&
        !entry.name.endsWith(".test.ts") &&
        entry.name !== "testing.ts"
      ) {
        const source = fs.readFileSync(path.join(STANDINS_DIR, from), "utf8");
        const out = ts.transpileModule(source, {
          fileName: from,
          compilerOptions: {
            module: ts.ModuleKind.CommonJS,
            target: ts.ScriptTarget.ES2022,
            esModuleInterop: true,
          },
        });
        fs.writeFileSync(path.join(outDir, from.replace(/\.ts$/, ".js")), out.outputText);
      }
    }
  };
  walk(".");
}

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** The shim the engine runs as `pulumi-resource-<name>`. */
export function shimScript(name: string, version: string, buildDir: string): string {
  return [
    "#!/bin/sh",
    `# Stand-in for pulumi-resource-${name} v${version}: tests/engine/standins (see its README.md).`,
    `NODE_PATH=${quote(PROJECT_NODE_MODULES)} exec ${quote(process.execPath)} ${quote(path.join(buildDir, "plugins", `${name}.js`))} "$@"`,
    "",
  ].join("\n");
}

/** tests/fake-talosctl/talosctl: the fake `talosctl` of the upgrade scripts, to which tools/talosctl.ts hands what
 * it does not know itself. */
export const UPGRADE_FAKE_TALOSCTL = path.resolve(__dirname, "..", "..", "fake-talosctl", "talosctl");

/**
 * Writes `talosctl` and `kubectl` into `<buildDir>/bin` (already built by `buildStandins`): the fakes of
 * tools/, over the simulated nodes of the talos stand-in. Put that directory first on the PATH of whatever runs
 * the node lifecycle scripts (the command plugin, or a test). Returns the directory.
 */
export function installTools(buildDir: string): string {
  const bin = path.join(buildDir, "bin");
  fs.mkdirSync(bin, { recursive: true });
  for (const tool of ["talosctl", "kubectl"]) {
    const script = [
      "#!/bin/sh",
      `# Fake ${tool}: tests/engine/standins/tools/${tool}.ts (see its header).`,
      `FAKE_TALOSCTL_DELEGATE=\${FAKE_TALOSCTL_DELEGATE:-${quote(UPGRADE_FAKE_TALOSCTL)}} NODE_PATH=${quote(PROJECT_NODE_MODULES)} exec ${quote(process.execPath)} ${quote(path.join(buildDir, "tools", `${tool}.js`))} "$@"`,
      "",
    ].join("\n");
    fs.writeFileSync(path.join(bin, tool), script, { mode: 0o755 });
  }
  return bin;
}

/** Builds the stand-ins and installs them as plugins into `pulumiHome`. */
export async function installStandins(opts: InstallOptions): Promise<InstalledStandins> {
  const buildDir = opts.buildDir ?? path.join(opts.pulumiHome, "standins");
  fs.mkdirSync(opts.pulumiHome, { recursive: true });
  buildStandins(buildDir);
  installTools(buildDir);
  const shimDir = path.join(buildDir, "shims");
  fs.mkdirSync(shimDir, { recursive: true });
  const shims: Record<string, string> = {};
  for (const { name, version } of STANDIN_PLUGINS) {
    const shim = path.join(shimDir, `pulumi-resource-${name}`);
    fs.writeFileSync(shim, shimScript(name, version, buildDir), { mode: 0o755 });
    shims[name] = shim;
    await promisify(execFile)(
      opts.pulumiBin,
      ["plugin", "install", "resource", name, version, "--file", shim],
      {
        env: { ...process.env, ...opts.env, PULUMI_HOME: opts.pulumiHome, PULUMI_SKIP_UPDATE_CHECK: "true" },
      },
    );
  }
  return { buildDir, shims };
}
