/**
 * End to end, without the Pulumi CLI: starts the pack the way the CLI's analyzer plugin does (Pulumi's
 * `run-policy-pack`, which compiles `policy/index.ts` with type checking), then talks to it over the same gRPC
 * protocol the engine uses. This proves the pack loads, registers every rule as mandatory, accepts the config
 * `pack-config.ts` produces, and reports violations to the engine.
 */
import * as grpc from "@grpc/grpc-js";
import { AnalyzerClient } from "@pulumi/pulumi/proto/analyzer_grpc_pb";
import {
  AnalyzeDiagnostic,
  AnalyzeRequest,
  AnalyzeResponse,
  AnalyzerInfo,
  AnalyzerResourceOptions,
  ConfigureAnalyzerRequest,
  EnforcementLevel,
  PolicyConfig,
} from "@pulumi/pulumi/proto/analyzer_pb";
import { spawn, type ChildProcess } from "child_process";
import { Empty } from "google-protobuf/google/protobuf/empty_pb";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import * as path from "path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { packConfigFromStack } from "../pack-config";
import { policies } from "../rules/policies";
import { machineConfig } from "./fabricate";

const policyDir = path.resolve(__dirname, "..");
const runPolicyPack = require.resolve("@pulumi/pulumi/cmd/run-policy-pack");

let child: ChildProcess | undefined;
let client: AnalyzerClient;

beforeAll(async () => {
  const proc = spawn(process.execPath, [runPolicyPack, "127.0.0.1:1", "."], {
    cwd: policyDir,
    stdio: ["ignore", "pipe", "pipe"],
  });
  child = proc;
  let stderr = "";
  proc.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  const port = await new Promise<string>((resolve, reject) => {
    proc.stdout?.once("data", (d: Buffer) => resolve(d.toString().trim()));
    proc.once("exit", (code) => reject(new Error(`policy pack exited with ${code}: ${stderr}`)));
  });
  client = new AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
});

afterAll(() => {
  client?.close();
  child?.kill();
});

/** Resolves a unary call's callback into a promise. */
function unary<Res>(
  invoke: (cb: (err: grpc.ServiceError | null, res: Res) => void) => unknown,
): Promise<Res> {
  return new Promise((resolve, reject) => invoke((err, res) => (err ? reject(err) : resolve(res))));
}

async function analyze(
  type: string,
  props: Record<string, unknown>,
  opts: { protect?: boolean; secrets?: string[] } = {},
): Promise<AnalyzeDiagnostic[]> {
  const req = new AnalyzeRequest();
  req.setType(type);
  req.setName("res");
  req.setUrn(`urn:pulumi:home::homelab::${type}::res`);
  req.setProperties(Struct.fromJavaScript(props as Parameters<typeof Struct.fromJavaScript>[0]));
  const options = new AnalyzerResourceOptions();
  options.setProtect(opts.protect ?? false);
  options.setAdditionalsecretoutputsList(opts.secrets ?? []);
  req.setOptions(options);
  const res = await unary<AnalyzeResponse>((cb) => client.analyze(req, cb));
  return res.getDiagnosticsList();
}

describe("the policy pack under Pulumi's policy runtime", () => {
  it("registers every rule, mandatory", async () => {
    const info = await unary<AnalyzerInfo>((cb) => client.getAnalyzerInfo(new Empty(), cb));
    expect(info.getName()).toBe("homelab");
    const registered = info.getPoliciesList().map((p) => [p.getName(), p.getEnforcementlevel()]);
    expect(registered).toEqual(policies.map((p) => [p.name, EnforcementLevel.MANDATORY]));
  });

  it("reports a mandatory violation for unprotected machine secrets on `latest`", async () => {
    const diagnostics = await analyze("talos:machine/secrets:Secrets", { talosVersion: "latest" });
    const byPolicy = diagnostics.map((d) => [d.getPolicyname(), d.getEnforcementlevel()]);
    expect(byPolicy).toEqual(
      expect.arrayContaining([
        ["talos-machine-secrets-protected", EnforcementLevel.MANDATORY],
        ["talos-kubernetes-versions-pinned", EnforcementLevel.MANDATORY],
      ]),
    );
  });

  it("reports nothing for machine secrets as the program creates them", async () => {
    const diagnostics = await analyze(
      "talos:machine/secrets:Secrets",
      { talosVersion: "v1.13.9" },
      { protect: true, secrets: ["clientConfiguration", "machineSecrets"] },
    );
    expect(diagnostics.map((d) => d.getMessage())).toEqual([]);
  });

  it("lets the stack's reset-on-destroy opt-in through, and only that", async () => {
    const apply = {
      node: "10.0.0.3",
      machineConfigurationInput: machineConfig(),
      onDestroy: { reset: true, graceful: true },
    };
    const secrets = ["machineConfiguration"];
    const before = await analyze("talos:machine/configurationApply:ConfigurationApply", apply, { secrets });
    expect(before.map((d) => d.getPolicyname())).toEqual(["reset-on-destroy-requires-opt-in"]);

    const configure = new ConfigureAnalyzerRequest();
    const packConfig = packConfigFromStack("config:\n  homelab:resetOnDestroy: true\n");
    for (const [name, value] of Object.entries(packConfig)) {
      const { enforcementLevel: _ignored, ...properties } = value;
      const policyConfig = new PolicyConfig();
      policyConfig.setEnforcementlevel(EnforcementLevel.MANDATORY);
      policyConfig.setProperties(
        Struct.fromJavaScript(properties as Parameters<typeof Struct.fromJavaScript>[0]),
      );
      configure.getPolicyconfigMap().set(name, policyConfig);
    }
    await unary<Empty>((cb) => client.configure(configure, cb));

    const after = await analyze("talos:machine/configurationApply:ConfigurationApply", apply, { secrets });
    expect(after.map((d) => d.getMessage())).toEqual([]);
  });
});
