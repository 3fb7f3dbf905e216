/**
 * The command stand-in (command.ts) on its own: what it replaces, what it runs and with which environment, how
 * it fails, and that a secret reaching the child never reaches the journal.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { createCommandProvider } from "./command";
import { Dispatcher } from "./core/dispatch";
import { isSecret, reveal, secret, UNKNOWN, type WireMap } from "./core/wire";
import { base, useWorkDir } from "./testing";

const w = useWorkDir();

describe("command stand-in", () => {
  const cmd = () => new Dispatcher(createCommandProvider(w.env), w.env);
  const T = "command:local:Command";

  it("replaces on a trigger change and updates on any other change", async () => {
    const d = cmd();
    const olds = { create: "true", triggers: ["a"] };
    const diff = (news: WireMap) =>
      d.diff({ ...base(T, "c"), id: "c1", olds, oldInputs: olds, news, ignoreChanges: [] });
    expect(await diff({ create: "true", triggers: ["b"] })).toMatchObject({
      changes: true,
      replaces: ["triggers"],
    });
    expect(await diff({ create: "false", triggers: ["a"] })).toMatchObject({
      changes: true,
      diffs: ["create"],
      replaces: [],
    });
    expect(await diff(olds)).toMatchObject({ changes: false });
  });

  it("runs create with the interpreter and environment, a secret reaching the child but not the journal", async () => {
    const out = path.join(w.dir, "seen");
    const news = {
      create: `printf '%s' "$TOKEN" > ${out}; echo hi; echo warn >&2`,
      interpreter: ["/bin/bash", "-c"],
      environment: { TOKEN: secret("s3cr3t-value-42") },
    };
    const r = await cmd().create({ ...base(T, "c"), news, preview: false, timeout: 0 });
    expect(fs.readFileSync(out, "utf8")).toBe("s3cr3t-value-42");
    expect([reveal(r.outs.stdout), reveal(r.outs.stderr), isSecret(r.outs.stdout)]).toEqual([
      "hi",
      "warn",
      true,
    ]);
    expect(r.id).toMatch(/^c[0-9a-f]{8}$/);
    expect(fs.readFileSync(w.env.STANDIN_LOG!, "utf8")).not.toContain("s3cr3t-value-42");
  });

  it("fails the step on a non-zero exit with the provider's message, and runs nothing in a preview", async () => {
    await expect(
      cmd().create({ ...base(T, "c"), news: { create: "echo boom; exit 3" }, preview: false, timeout: 0 }),
    ).rejects.toThrow('exit status 3: running "echo boom; exit 3":\nboom');
    const marker = path.join(w.dir, "ran");
    const p = await cmd().create({
      ...base(T, "c"),
      news: { create: `touch ${marker}` },
      preview: true,
      timeout: 0,
    });
    expect([fs.existsSync(marker), p.outs.stdout]).toEqual([false, UNKNOWN]);
  });

  it("re-runs update (else create) on update with the previous output in the environment, and delete on delete", async () => {
    const d = cmd();
    const olds = { create: "echo created", stdout: "created", stderr: "" };
    const upd = (news: WireMap) =>
      d.update({ ...base(T, "c"), id: "c1", olds, oldInputs: {}, news, preview: false, ignoreChanges: [] });
    expect((await upd({ create: 'echo "again after $PULUMI_COMMAND_STDOUT"' })).stdout).toBe(
      "again after created",
    );
    expect((await upd({ create: "echo no", update: "echo updated" })).stdout).toBe("updated");
    const gone = path.join(w.dir, "deleted");
    await d.delete({
      ...base(T, "c"),
      id: "c1",
      olds: { create: "true", delete: `echo "$PULUMI_COMMAND_STDOUT" > ${gone}`, stdout: "created" },
      oldInputs: {},
    });
    expect(fs.readFileSync(gone, "utf8")).toBe("created\n");
  });

  it("runs the local.run function at every call, previews included, with stdin, and fails on a non-zero exit", async () => {
    const d = cmd();
    const args = {
      command: 'read -r line; printf "%s/%s" "$NODE" "$line"',
      interpreter: ["/bin/bash", "-c"],
      environment: { NODE: secret("10.0.0.1") },
      stdin: secret("from-stdin\n"),
    };
    for (const preview of [true, false]) {
      const r = await d.invoke({ token: "command:local:run", preview, args });
      expect(r.outputs.stdout).toBe("10.0.0.1/from-stdin");
      expect(r.outputs.command).toBe(args.command);
    }
    await expect(
      d.invoke({ token: "command:local:run", preview: false, args: { command: "exit 3" } }),
    ).rejects.toThrow(/exit status 3/);
    expect(fs.readFileSync(w.env.STANDIN_LOG!, "utf8")).not.toContain("from-stdin");
  });
});
