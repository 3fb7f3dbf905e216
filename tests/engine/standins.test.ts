/**
 * The talos stand-in on its own: what it decides (update or replace per property, unknowns in previews, secret
 * outputs), what its simulated nodes allow, what the journal keeps and the injected failures. The other
 * stand-ins are tested beside their code, in tests/engine/standins. Then the one smoke test with the
 * real Pulumi CLI: set PULUMI_BIN to the 3.274.1 binary. The CLI runs only in a loopback-only network
 * namespace: outside one, the test re-runs itself under `unshare --net` (ENGINE_NETNS=1 marks that inner run,
 * which refuses to run anywhere else).
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { LocalWorkspace, PulumiCommand } from "@pulumi/pulumi/automation";
import { describe, expect, it } from "vitest";
import { Dispatcher } from "./standins/core/dispatch";
import { readJournal } from "./standins/core/journal";
import { isSecret, reveal, UNKNOWN, type WireMap } from "./standins/core/wire";
import { installStandins } from "./standins/install";
import { TOKENS } from "./standins/talos/plan";
import { createTalosProvider } from "./standins/talos/provider";
import { applyInputs, base, machineConfig, newSecrets, plain, useWorkDir } from "./standins/testing";

const w = useWorkDir();
const talos = () => new Dispatcher(createTalosProvider(w.env), w.env);

describe("talos stand-in", () => {
  it("creates Secrets with every required output, nested keys as secrets, and the bridge's id", async () => {
    const { id, outs } = await newSecrets(talos());
    expect(id).toBe("machine_secrets");
    expect(outs.talosVersion).toBe("v1.13"); // machinery v1.13.0's contract when none is given
    const ms = outs.machineSecrets as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(isSecret(ms.certs.os.key)).toBe(true);
    expect(isSecret(ms.certs.os.cert)).toBe(false);
    expect(
      isSecret(ms.secrets.bootstrapToken) && isSecret(ms.trustdinfo.token) && isSecret(ms.cluster.secret),
    ).toBe(true);
    expect(reveal(ms.secrets.bootstrapToken)).toMatch(/^[a-z0-9]{6}\.[a-z0-9]{16}$/);
    const cc = outs.clientConfiguration as WireMap;
    expect(isSecret(cc.clientKey)).toBe(true);
    expect(cc.caCertificate).toBe(ms.certs.os.cert);
  });

  it("updates Secrets on a Talos contract upgrade and replaces it only on a downgrade", async () => {
    const d = talos();
    const { outs } = await d.create({
      ...base(TOKENS.secrets, "s"),
      news: { talosVersion: "v1.13" },
      preview: false,
      timeout: 0,
    });
    const diff = (v: string) =>
      d.diff({
        ...base(TOKENS.secrets, "s"),
        id: "machine_secrets",
        olds: outs,
        oldInputs: {},
        news: { talosVersion: v },
        ignoreChanges: [],
      });
    expect(await diff("v1.13")).toEqual({ changes: false, diffs: [], replaces: [] });
    expect(await diff("v1.14")).toMatchObject({ changes: true, replaces: [] });
    expect(await diff("v1.12")).toMatchObject({ changes: true, replaces: ["talosVersion"] });
  });

  it("previews computed outputs as unknown and never invents them", async () => {
    const d = talos();
    const s = await d.create({ ...base(TOKENS.secrets, "s"), news: {}, preview: true, timeout: 0 });
    expect([s.id, s.outs.machineSecrets, s.outs.clientConfiguration]).toEqual(["", UNKNOWN, UNKNOWN]);
    const inputs = await applyInputs(d);
    const known = await d.create({
      ...base(TOKENS.configurationApply, "n"),
      news: inputs,
      preview: true,
      timeout: 0,
    });
    expect(known.outs.machineConfigurationHash).toMatch(/^[0-9a-f]{64}$/);
    expect(isSecret(known.outs.machineConfiguration)).toBe(true);
    expect([known.outs.endpoint, known.outs.resolvedApplyMode, known.outs.id]).toEqual([
      "10.0.0.11",
      "auto",
      UNKNOWN,
    ]);
    const unknownInput = await d.create({
      ...base(TOKENS.configurationApply, "n"),
      news: { ...inputs, machineConfigurationInput: UNKNOWN },
      preview: true,
      timeout: 0,
    });
    expect([unknownInput.outs.machineConfiguration, unknownInput.outs.machineConfigurationHash]).toEqual([
      UNKNOWN,
      UNKNOWN,
    ]);
  });

  it("updates a ConfigurationApply in place whatever input changes (no RequiresReplace in v0.11.0)", async () => {
    const d = talos();
    const inputs = await applyInputs(d);
    const { outs } = await d.create({
      ...base(TOKENS.configurationApply, "n"),
      news: inputs,
      preview: false,
      timeout: 0,
    });
    const changes: WireMap[] = [
      { node: "10.0.0.12" },
      { endpoint: "10.0.0.99" },
      { configPatches: ["machine:\n  install:\n    image: factory.talos.dev/installer/abc:v1.13.9\n"] },
      { applyMode: "no_reboot" },
      { onDestroy: { reset: true } },
    ];
    for (const change of changes) {
      const r = await d.diff({
        ...base(TOKENS.configurationApply, "n"),
        id: "machine_configuration_apply",
        olds: outs,
        oldInputs: inputs,
        news: { ...inputs, ...change },
        ignoreChanges: [],
      });
      expect(r.changes, JSON.stringify(change)).toBe(true);
      expect(r.replaces, JSON.stringify(change)).toEqual([]);
    }
    const patched = await d.diff({
      ...base(TOKENS.configurationApply, "n"),
      id: "x",
      olds: outs,
      oldInputs: inputs,
      news: { ...inputs, ...changes[2] },
      ignoreChanges: [],
    });
    expect(patched.diffs).toEqual(["configPatches", "machineConfiguration", "machineConfigurationHash"]);
  });

  it("bootstraps a configured control plane once and fails a second bootstrap as Talos does", async () => {
    const d = talos();
    const inputs = await applyInputs(d);
    await expect(
      d.create({
        ...base(TOKENS.bootstrap, "b"),
        news: { node: "10.0.0.11", clientConfiguration: inputs.clientConfiguration },
        preview: false,
        timeout: 0,
      }),
    ).rejects.toThrow(/connection refused/);
    await d.create({ ...base(TOKENS.configurationApply, "n"), news: inputs, preview: false, timeout: 0 });
    const b = {
      ...base(TOKENS.bootstrap, "b"),
      news: { node: "10.0.0.11", clientConfiguration: inputs.clientConfiguration },
      preview: false,
      timeout: 0,
    };
    expect((await d.create(b)).id).toBe("machine_bootstrap");
    await expect(d.create(b)).rejects.toThrow("AlreadyExists desc = etcd data directory is not empty");
  });

  it("serves the kubeconfig of the cluster configured on the node, as secrets, with the cluster name as id", async () => {
    const d = talos();
    const inputs = await applyInputs(d);
    await d.create({ ...base(TOKENS.configurationApply, "n"), news: inputs, preview: false, timeout: 0 });
    const k = await d.create({
      ...base(TOKENS.kubeconfig, "k"),
      news: { node: "10.0.0.11", clientConfiguration: inputs.clientConfiguration },
      preview: false,
      timeout: 0,
    });
    expect(k.id).toBe("lab");
    expect(isSecret(k.outs.kubeconfigRaw)).toBe(true);
    const kcc = k.outs.kubernetesClientConfiguration as WireMap;
    expect([kcc.host, isSecret(kcc.clientKey), k.outs.certificateRenewalDuration]).toEqual([
      "https://10.0.0.10:6443",
      true,
      "720h",
    ]);
    expect(reveal(k.outs.kubeconfigRaw)).toContain("current-context: admin@lab");
  });

  it("updates a Schematic in place: the Terraform id changes, which Pulumi keeps as the old resource id", async () => {
    const d = talos();
    const v = await d.create({
      ...base(TOKENS.schematic, "x"),
      news: { schematic: "customization: {}\n" },
      preview: false,
      timeout: 0,
    });
    expect(v.id).toBe("376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba");
    const ext = {
      schematic:
        "customization:\n  systemExtensions:\n    officialExtensions:\n      - siderolabs/iscsi-tools\n",
    };
    const req = {
      ...base(TOKENS.schematic, "x"),
      id: v.id,
      olds: v.outs,
      oldInputs: {},
      news: ext,
      ignoreChanges: [],
    };
    expect(await d.diff(req)).toEqual({ changes: true, diffs: ["id", "schematic"], replaces: [] });
    expect((await d.update({ ...req, preview: true })).id).toBe(UNKNOWN);
    expect((await d.update({ ...req, preview: false })).id).toMatch(/^(?!3765)[0-9a-f]{64}$/);
  });

  it("renders configs like the data source: patches merged, Kubernetes/Talos compatibility enforced", async () => {
    const d = talos();
    const { result, config } = await machineConfig(d, {
      configPatches: ["machine:\n  install:\n    image: factory.talos.dev/installer/abc:v1.13.9\n"],
    });
    expect(isSecret(result.outputs.machineConfiguration)).toBe(true);
    expect([result.outputs.id, result.outputs.kubernetesVersion]).toEqual(["lab", "1.36.0"]);
    expect(config).toContain("image: factory.talos.dev/installer/abc:v1.13.9");
    expect(config).toContain("kind: HostnameConfig");
    await expect(machineConfig(d, { kubernetesVersion: "1.37.0" })).rejects.toThrow(
      /too new to be used with Talos v1.13/,
    );
    await expect(
      machineConfig(d, { configPatches: ["- op: add\n  path: /machine/x\n  value: 1\n"] }),
    ).rejects.toThrow(/JSON6902/);
  });

  it("checks inputs as the bridge does: failures by property, schema secrets marked", async () => {
    const d = talos();
    const inputs = await applyInputs(d);
    const ok = await d.check({
      ...base(TOKENS.configurationApply, "n"),
      olds: {},
      news: inputs,
      randomSeed: Buffer.alloc(0),
    });
    expect(isSecret(ok.inputs.machineConfigurationInput)).toBe(true);
    const bad = await d.check({
      ...base(TOKENS.configurationApply, "n"),
      olds: {},
      news: { ...inputs, applyMode: "soon" },
      randomSeed: Buffer.alloc(0),
    });
    expect(bad.failures?.map((f) => f.property)).toEqual(["applyMode"]);
    await expect(
      d.check({
        ...base(TOKENS.configurationApply, "n"),
        olds: {},
        news: { node: "10.0.0.11", machineConfigurationInput: "x" },
        randomSeed: Buffer.alloc(0),
      }),
    ).rejects.toThrow(/Missing client configuration/);
  });
});

describe("journal and failure injection", () => {
  it("fails the first create of a selected resource, succeeds the next, and journals both without secrets", async () => {
    w.env.STANDIN_FAIL_ONCE = "homelab-node-1";
    const d = talos();
    const inputs = await applyInputs(d);
    const req = {
      ...base(TOKENS.configurationApply, "homelab-node-1"),
      news: inputs,
      preview: false,
      timeout: 0,
    };
    await expect(d.create(req)).rejects.toThrow(
      /^Error applying configuration: rpc error: code = Unavailable .*10\.0\.0\.11:50000/,
    );
    expect((await d.create(req)).id).toBe("machine_configuration_apply");
    const creates = readJournal(w.env.STANDIN_LOG!).filter(
      (e) => e.token === TOKENS.configurationApply && e.method === "create",
    );
    expect(creates.map((e) => e.result)).toEqual([{ failed: true }, { id: "machine_configuration_apply" }]);
    expect(creates[0].inputs).toMatchObject({ node: "10.0.0.11", clientConfiguration: "[secret]" });
    const key = plain(inputs).clientConfiguration.clientKey as string;
    expect(fs.readFileSync(w.env.STANDIN_LOG!, "utf8")).not.toContain(key);
  });
});

const PULUMI_BIN = process.env.PULUMI_BIN;

/** A resource by token, as an SDK would register it (CustomResource itself is abstract). */
class TalosSecrets extends pulumi.CustomResource {
  declare readonly machineSecrets: pulumi.Output<unknown>;
  constructor(name: string, talosVersion: string) {
    const props = { talosVersion, machineSecrets: undefined, clientConfiguration: undefined };
    super("talos:machine/secrets:Secrets", name, props, { version: "0.8.1" });
  }
}
const SMOKE = "the real CLI creates, keeps and replaces a talos Secrets through the stand-in";
const loopbackOnly = () =>
  fs
    .readFileSync("/proc/net/dev", "utf8")
    .split("\n")
    .slice(2)
    .map((l) => l.split(":")[0].trim())
    .filter((n) => n !== "")
    .every((n) => n === "lo");

describe.skipIf(!PULUMI_BIN)("real Pulumi CLI (PULUMI_BIN)", () => {
  it(SMOKE, { timeout: 240_000 }, async () => {
    if (!loopbackOnly()) {
      expect(
        process.env.ENGINE_NETNS,
        "ENGINE_NETNS=1 but this network namespace has more than loopback",
      ).toBeUndefined();
      const root = path.resolve(__dirname, "..", "..");
      const vitest = path.join(root, "node_modules", "vitest", "vitest.mjs");
      const inner = `ip link set lo up && exec "${process.execPath}" "${vitest}" run tests/engine/standins.test.ts -t "real CLI"`;
      const child = spawn("unshare", ["--net", "sh", "-c", inner], {
        cwd: root,
        env: { ...process.env, ENGINE_NETNS: "1", CI: "" },
      });
      let output = "";
      child.stdout.on("data", (b: Buffer) => (output += b));
      child.stderr.on("data", (b: Buffer) => (output += b));
      const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
      expect(code, output).toBe(0);
      expect(output).toMatch(/1 passed/);
      return;
    }
    const home = path.join(w.dir, "home");
    await installStandins({ pulumiBin: PULUMI_BIN!, pulumiHome: home });
    let talosVersion = "v1.13";
    const program = async () => {
      const s = new TalosSecrets("secrets", talosVersion);
      return { machineSecrets: s.machineSecrets };
    };
    fs.mkdirSync(path.join(w.dir, "backend"));
    const stack = await LocalWorkspace.createOrSelectStack(
      { stackName: "dev", projectName: "smoke", program },
      {
        workDir: w.dir,
        pulumiCommand: await PulumiCommand.get({
          root: path.dirname(path.dirname(PULUMI_BIN!)),
          skipVersionCheck: true,
        }),
        envVars: {
          PULUMI_HOME: home,
          PULUMI_BACKEND_URL: `file://${w.dir}/backend`,
          PULUMI_CONFIG_PASSPHRASE: "smoke",
          PULUMI_SKIP_UPDATE_CHECK: "true",
          STANDIN_LOG: w.env.STANDIN_LOG!,
          STANDIN_STATE: w.env.STANDIN_STATE!,
        },
      },
    );
    const up = async () => (await stack.up({ onOutput: () => {} })).summary.resourceChanges;
    expect(await up()).toEqual({ create: 2 });
    expect(await up()).toEqual({ same: 2 });
    talosVersion = "v1.12";
    expect(await up()).toEqual({ replace: 1, same: 1 });
    const diffs = readJournal(w.env.STANDIN_LOG!).filter(
      (e) => e.method === "diff" && e.token === TOKENS.secrets,
    );
    expect(diffs.map((e) => (e.result as WireMap).replaces)).toEqual([[], ["talosVersion"]]);
    const outputs = await stack.outputs();
    const token = (outputs.machineSecrets.value as { secrets: { bootstrapToken: string } }).secrets
      .bootstrapToken;
    const state = fs.readFileSync(
      path.join(w.dir, "backend", ".pulumi", "stacks", "smoke", "dev.json"),
      "utf8",
    );
    expect(token).toMatch(/^[a-z0-9]{6}\./);
    expect(state).not.toContain(token);
  });
});
