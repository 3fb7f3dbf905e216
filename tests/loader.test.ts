/**
 * Loads programs through @pulumi/pulumi's own runtime loader (`cmd/run`, which compiles with the project's
 * ts-node + typescript and type-checks), the way `pulumi up` does, against the in-process fake engine. This is
 * the test that catches what importing the program under vitest cannot: type errors, module resolution,
 * tsconfig and loader quirks. Each run spawns a Node process and type-checks the program: allow time.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createStrictMocks } from "./support/mocks";
import {
  loadStackConfig,
  runProgramThroughLoader,
  transcript,
  type RunProgramResult,
} from "./support/run-program";

const ROOT = path.resolve(__dirname, "..");
const FIXTURE = path.join(ROOT, "tests", "fixtures", "loader-program");
const TIMEOUT = 120_000;
const STACK_TYPE = "pulumi:pulumi:Stack";
/** The loader's own switch (cmd/run): compile without type-checking, for runs whose point is elsewhere. */
const TRANSPILE_ONLY = { PULUMI_NODEJS_TRANSPILE_ONLY: "true" };

const tempDirs: string[] = [];
afterAll(() => {
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

/** The fixture's config, as the CLI would pass it. */
const fixtureConfig = { greeting: "hello", token: "s3cret" };

function fixtureMocks() {
  return createStrictMocks({
    extraInvokes: { "loader:fixture:echo": (inputs) => ({ echoed: inputs.value }) },
  });
}

function describeRun(result: RunProgramResult): string {
  return `exit ${result.exitCode} (signal ${result.signal}, timed out: ${result.timedOut})\n${transcript(result)}`;
}

describe("the loader harness (fixture program)", () => {
  it(
    "loads the program, records the registrations and invoke, and returns plain and secret outputs",
    async () => {
      const result = await runProgramThroughLoader({
        programDir: FIXTURE,
        project: "loader-program",
        stack: "dev",
        config: fixtureConfig,
        secretKeys: ["token"],
        dryRun: false,
        mocks: fixtureMocks(),
        // Type-checking has its own tests below (a type error, the real program); this one is about the harness.
        env: TRANSPILE_ONLY,
      });
      expect(result.exitCode, describeRun(result)).toBe(0);
      expect(result.shutdownSignalled).toBe(true);

      const stack = result.resources.find((r) => r.type === STACK_TYPE);
      expect(stack?.urn).toBe(`urn:pulumi:dev::loader-program::${STACK_TYPE}::loader-program-dev`);
      const greeter = result.resources.find((r) => r.type === "loader:fixture:Greeter");
      expect(greeter).toMatchObject({
        custom: false,
        parent: stack?.urn,
        outputs: { command: "echo hello" },
      });
      const command = result.resources.find((r) => r.type === "command:local:Command");
      expect(command).toMatchObject({
        name: "greeter-echo",
        urn: "urn:pulumi:dev::loader-program::loader:fixture:Greeter$command:local:Command::greeter-echo",
        parent: greeter?.urn,
        custom: true,
        protect: true,
        ignoreChanges: ["create"],
        inputs: { create: "echo hello" },
        id: "greeter-echo-id",
      });

      expect(result.invokes).toEqual([
        expect.objectContaining({ token: "loader:fixture:echo", args: { value: "hello" } }),
      ]);

      expect(result.outputs).toEqual({ command: "echo hello", echo: "hello", secretToken: "s3cret" });
      expect(result.secretOutputs).toEqual(["secretToken"]);
      expect(result.logs.filter((l) => l.severity === "error")).toEqual([]);
    },
    TIMEOUT,
  );

  it(
    "runs a preview: --dry-run reaches the program and ids stay unknown",
    async () => {
      const result = await runProgramThroughLoader({
        programDir: FIXTURE,
        project: "loader-program",
        stack: "dev",
        config: fixtureConfig,
        secretKeys: ["token"],
        dryRun: true,
        mocks: fixtureMocks(),
        env: TRANSPILE_ONLY,
      });
      expect(result.exitCode, describeRun(result)).toBe(0);
      const command = result.resources.find((r) => r.type === "command:local:Command");
      expect(command?.id).toBe("");
      expect(result.outputs["command"]).toBe("echo hello");
      expect(result.secretOutputs).toEqual(["secretToken"]);
    },
    TIMEOUT,
  );

  it(
    "fails to load a program with a type error: the loader really type-checks",
    async () => {
      // Generated at run time so no deliberately broken .ts file sits under the root tsconfig's globs.
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "loader-type-error-"));
      tempDirs.push(dir);
      for (const file of ["Pulumi.yaml", "package.json", "tsconfig.json"]) {
        fs.copyFileSync(path.join(FIXTURE, file), path.join(dir, file));
      }
      fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"), "dir");
      fs.writeFileSync(
        path.join(dir, "index.ts"),
        [
          'import * as pulumi from "@pulumi/pulumi";',
          "",
          "// TS2322: a number is not a string. Plain JavaScript would run this happily.",
          "const name: string = 42;",
          "export const out = pulumi.output(name);",
          "",
        ].join("\n"),
      );

      const result = await runProgramThroughLoader({
        programDir: dir,
        project: "loader-program",
        stack: "dev",
        config: {},
        dryRun: true,
        mocks: fixtureMocks(),
      });
      expect(result.exitCode, describeRun(result)).not.toBe(0);
      expect(result.timedOut).toBe(false);
      expect(transcript(result)).toMatch(/TS2322/);
      // The loader reports it as a program error through the engine, like `pulumi up` shows it.
      expect(result.logs.some((l) => l.severity === "error" && /TS2322/.test(l.message))).toBe(true);
      expect(result.resources.filter((r) => r.type !== STACK_TYPE)).toEqual([]);
    },
    TIMEOUT,
  );
});

describe("the real program (project homelab, stack home)", () => {
  const stackConfig = (): Record<string, string> => loadStackConfig(ROOT, "homelab", "home");

  it(
    "loads through the loader with the home stack's config, protects the machine secrets and keeps the configs secret",
    async () => {
      const result = await runProgramThroughLoader({
        programDir: ROOT,
        project: "homelab",
        stack: "home",
        config: stackConfig(),
        dryRun: false,
      });
      expect(result.exitCode, describeRun(result)).toBe(0);

      const secrets = result.resources.filter((r) => r.type === "talos:machine/secrets:Secrets");
      expect(secrets.length, describeRun(result)).toBeGreaterThanOrEqual(1);
      for (const s of secrets) expect(s.protect, s.urn).toBe(true);

      expect(Object.keys(result.outputs)).toEqual(expect.arrayContaining(["kubeconfig", "talosconfig"]));
      expect(result.secretOutputs).toEqual(expect.arrayContaining(["kubeconfig", "talosconfig"]));
    },
    TIMEOUT,
  );

  it(
    "previews (the first pass of pulumi up) with unknown ids and outputs",
    async () => {
      const result = await runProgramThroughLoader({
        programDir: ROOT,
        project: "homelab",
        stack: "home",
        config: stackConfig(),
        dryRun: true,
        // The run above type-checks the whole program; this one only needs the loader's preview path.
        env: TRANSPILE_ONLY,
      });
      expect(result.exitCode, describeRun(result)).toBe(0);
      const secrets = result.resources.filter((r) => r.type === "talos:machine/secrets:Secrets");
      expect(secrets.length, describeRun(result)).toBeGreaterThanOrEqual(1);
      for (const s of secrets) expect(s.protect, s.urn).toBe(true);
      // Not known until the cluster exists; the SDK sends unknowns without their secret marker.
      expect(Object.keys(result.outputs)).toEqual(expect.arrayContaining(["kubeconfig", "talosconfig"]));
    },
    TIMEOUT,
  );

  it(
    "refuses a bad node address before registering anything, naming nodes[0]",
    async () => {
      const config = stackConfig();
      const nodesJson = config["homelab:nodes"];
      expect(nodesJson, "Pulumi.home.yaml has no homelab:nodes list").toBeDefined();
      const nodes = JSON.parse(nodesJson) as Record<string, unknown>[];
      const first = { ...nodes[0] };
      // Whatever the address field is called, it is the one holding an IPv4 address.
      const ipKey = Object.keys(first).find(
        (k) => typeof first[k] === "string" && /^\d{1,3}(\.\d{1,3}){3}$/.test(first[k] as string),
      );
      expect(ipKey, `no IPv4 address field in nodes[0]: ${JSON.stringify(first)}`).toBeDefined();
      first[ipKey as string] = "999.1.1.1";
      config["homelab:nodes"] = JSON.stringify([first, ...nodes.slice(1)]);

      const result = await runProgramThroughLoader({
        programDir: ROOT,
        project: "homelab",
        stack: "home",
        config,
        dryRun: true,
        env: TRANSPILE_ONLY,
      });
      expect(result.exitCode, describeRun(result)).not.toBe(0);
      expect(result.timedOut).toBe(false);
      // Reported to the user as a program error (the engine log), naming the offending entry.
      expect(
        result.logs.some((l) => l.severity === "error" && l.message.includes("nodes[0]")),
        describeRun(result),
      ).toBe(true);
      // Only the root stack resource the SDK registers before the program runs.
      expect(result.resources.filter((r) => r.type !== STACK_TYPE).map((r) => r.urn)).toEqual([]);
    },
    TIMEOUT,
  );
});
