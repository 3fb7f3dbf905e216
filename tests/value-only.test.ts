/**
 * `valueOnly` (components/cluster/value-only.ts) hands the Kubernetes provider its kubeconfig without the
 * resources it came from, so a targeted `up` of a new stack is not refused on the provider (the engine tier
 * shows that end to end). Here: what it keeps (value, secrecy, unknown-ness) and what it drops (the dependency
 * the SDK would send to the engine), read from the registration the SDK builds.
 */
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { valueOnly } from "../components/cluster/value-only";
import { installMocks, type StrictMocks } from "./support/mocks";
import { isKnown, isSecret, promiseOf, settle } from "./support/outputs";

/** A resource registered by token (CustomResource itself is abstract). */
class RawResource extends pulumi.CustomResource {}

let mocks: StrictMocks;
beforeAll(async () => {
  mocks = await installMocks();
});

describe("valueOnly", () => {
  it("keeps the value and its secrecy", async () => {
    const o = valueOnly(pulumi.secret("kubeconfig-text"));
    expect(await promiseOf(o)).toBe("kubeconfig-text");
    expect(await isSecret(o)).toBe(true);
    expect(await isSecret(valueOnly(pulumi.output("plain")))).toBe(false);
  });

  it("keeps an unknown value unknown instead of waiting for it", async () => {
    const unknown = pulumi.output(pulumi.unknown) as pulumi.Output<string>;
    expect(await isKnown(valueOnly(unknown))).toBe(false);
  });

  it("sends the value to the engine without the dependency on the resource it came from", async () => {
    mocks.reset();
    const secrets = new RawResource(
      "talos:machine/secrets:Secrets",
      "secrets",
      { talosVersion: "v1.13.9", machineSecrets: undefined, clientConfiguration: undefined },
      { version: "0.8.1", pluginDownloadURL: "github://api.github.com/pulumiverse" },
    );
    const version = (secrets as unknown as Record<string, pulumi.Output<string>>).talosVersion;
    const kept = new pulumi.ComponentResource("test:index:Kept", "kept", { v: version });
    const dropped = new pulumi.ComponentResource("test:index:Dropped", "dropped", { v: valueOnly(version) });
    await Promise.all([promiseOf(kept.urn), promiseOf(dropped.urn)]);
    await settle();
    const registered = (name: string) => mocks.resources.find((r) => r.name === name);
    expect(registered("kept")?.inputs).toEqual({ v: "v1.13.9" });
    expect(registered("dropped")?.inputs).toEqual({ v: "v1.13.9" });
    expect(JSON.stringify(registered("kept")?.options)).toContain("secrets");
    expect(JSON.stringify(registered("dropped")?.options ?? {})).not.toContain("secrets");
  });
});
