/**
 * Builds the policy pack's config (`--policy-pack-config`) from the stack file, so the stack's own opt-ins are
 * what loosen a rule, reviewed in the same pull request as the change that needs them:
 *
 *   homelab:resetOnDestroy: true   ->   reset-on-destroy-requires-opt-in.allowResetOnDestroy = true
 *                                  ->   node-lifecycle-reset-requires-opt-in.allowResetOnDestroy = true
 *
 * Nothing else in the stack file can relax a rule. Usage (the workflows run exactly this):
 *
 *   npx ts-node --transpile-only policy/pack-config.ts Pulumi.home.yaml > policy-config.json
 */
import * as fs from "fs";
import * as YAML from "yaml";
import { isRecord } from "./rules/support";

export type PackConfig = Record<string, { enforcementLevel?: string } & Record<string, unknown>>;

/** The stack's boolean opt-in, accepting the string form `pulumi config set` writes for plain values. */
function flag(value: unknown, key: string): boolean {
  if (value === undefined || value === null) {
    return false;
  }
  if (value === true || value === "true") {
    return true;
  }
  if (value === false || value === "false") {
    return false;
  }
  throw new Error(`${key} must be true or false, not ${JSON.stringify(value)}`);
}

export function packConfigFromStack(stackFileText: string): PackConfig {
  const parsed: unknown = YAML.parse(stackFileText);
  const config = isRecord(parsed) && isRecord(parsed.config) ? parsed.config : {};
  const allowResetOnDestroy = flag(config["homelab:resetOnDestroy"], "homelab:resetOnDestroy");
  return {
    "reset-on-destroy-requires-opt-in": { allowResetOnDestroy },
    "node-lifecycle-reset-requires-opt-in": { allowResetOnDestroy },
  };
}

if (require.main === module) {
  const file = process.argv[2];
  if (file === undefined) {
    process.stderr.write("usage: pack-config.ts <Pulumi.<stack>.yaml>\n");
    process.exit(2);
  }
  process.stdout.write(`${JSON.stringify(packConfigFromStack(fs.readFileSync(file, "utf8")), null, 2)}\n`);
}
