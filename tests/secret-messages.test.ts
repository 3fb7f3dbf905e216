/**
 * Validation messages quote what they found (a label value, a value inside a patch). When that came from a
 * setting held secret, the message that reaches the terminal and the CI log must not carry it, while still
 * naming the path and the fix. A plain setting's message stays as it was.
 */
import fc from "fast-check";
import * as YAML from "yaml";
import { describe, expect, it } from "vitest";
import { redact, secretStrings } from "../components/config/redact";
import { encodeConfig, runProgram } from "./support/program";
import { stackNodes } from "./support/spec";

const BAD_LABEL_VALUE = "hunter4 rack"; // a space: Kubernetes refuses it as a label value

function stackWithBadLabel() {
  const [cp, worker] = [stackNodes(1, 0)[0], stackNodes(0, 1)[0]];
  return { "homelab:nodes": [{ ...cp, labels: { "example.com/rack": BAD_LABEL_VALUE } }, worker] };
}

describe("a refused stack whose offending value sits in a secret setting", () => {
  it("names the path and the fix, and masks the value", async () => {
    const run = await runProgram(encodeConfig(stackWithBadLabel()), { secretKeys: ["homelab:nodes"] });
    const message = run.error?.message ?? "";
    expect(message).toContain('nodes[0].labels["example.com/rack"]');
    expect(message).toContain("[secret]");
    expect(message).not.toContain("hunter4");
    expect(run.resources.filter((r) => r.type !== "pulumi:pulumi:Stack")).toEqual([]);
  });

  it("quotes the value when the setting is plain", async () => {
    const run = await runProgram(encodeConfig(stackWithBadLabel()), { secretKeys: [] });
    expect(run.error?.message).toContain(BAD_LABEL_VALUE);
  });
});

describe("secretStrings and redact", () => {
  const secretish = fc.string({
    unit: fc.constantFrom(..."ABCXYZabcxyz0189+/_.@-"),
    minLength: 3,
    maxLength: 24,
  });
  const isSecret = (key: string) => key === "homelab:nodes";

  it("no value of a secret setting survives in a message quoting it, in a node field or inside a patch", () => {
    fc.assert(
      fc.property(secretish, secretish, (inLabel, inPatch) => {
        const all = {
          "homelab:nodes": JSON.stringify([
            {
              name: "cp-1",
              address: "10.0.0.1",
              role: "controlplane",
              labels: { tier: inLabel },
              patches: [YAML.stringify({ machine: { env: { TOKEN: inPatch } } })],
            },
          ]),
        };
        const message = `nodes[0]: ${JSON.stringify(inLabel)} and ${inPatch} are invalid`;
        const out = redact(message, secretStrings(all, isSecret));
        expect(out).not.toContain(inLabel);
        expect(out).not.toContain(inPatch);
      }),
    );
  });

  it("leaves plain settings, field names and a node's name, address and role readable", () => {
    const all = {
      "homelab:nodes": JSON.stringify([
        { name: "cp-1", address: "10.0.0.1", role: "controlplane", labels: { tier: "gold-secret" } },
      ]),
      "homelab:clusterName": "homelab",
    };
    const message = 'nodes[0] (cp-1, 10.0.0.1, controlplane): labels.tier "gold-secret"; cluster homelab';
    expect(redact(message, secretStrings(all, isSecret))).toBe(
      'nodes[0] (cp-1, 10.0.0.1, controlplane): labels.tier "[secret]"; cluster homelab',
    );
  });
});
