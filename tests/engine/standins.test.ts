/**
 * The talos stand-in on its own: what it decides (update or replace per property, unknowns in previews, secret
 * outputs), what its simulated nodes allow, what the journal keeps and the injected failures. The other
 * stand-ins are tested beside their code, in tests/engine/standins. The real Pulumi CLI drives them in the
 * engine tier (tests/engine/*.engine.test.ts, `npm run test:engine`).
 */
import * as fs from "node:fs";
import { describe, expect, it } from "vitest";
import { Dispatcher } from "./standins/core/dispatch";
import { readJournal } from "./standins/core/journal";
import { isSecret, reveal, UNKNOWN, type WireMap } from "./standins/core/wire";
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
