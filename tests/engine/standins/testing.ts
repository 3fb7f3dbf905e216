/**
 * Helpers shared by the stand-ins' own tests: a temp work dir and environment per test (call `useWorkDir()` at
 * the top of a test file), request skeletons, and the talos inputs a program would pass. Not part of the plugins.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach } from "vitest";
import type { Dispatcher } from "./core/dispatch";
import { reveal, secret, type WireMap } from "./core/wire";
import { FUNCTIONS } from "./talos/functions";
import { TOKENS } from "./talos/plan";

export interface WorkDir {
  /** This test's temp dir. */
  dir: string;
  /** Environment with STANDIN_LOG and STANDIN_STATE inside `dir`. */
  env: NodeJS.ProcessEnv;
}

/** A fresh temp dir and stand-in environment for every test of the calling file, removed afterwards. */
export function useWorkDir(): WorkDir {
  const w = { dir: "", env: {} } as WorkDir;
  beforeEach(() => {
    w.dir = fs.mkdtempSync(path.join(os.tmpdir(), "standins-"));
    w.env = {
      ...process.env,
      STANDIN_LOG: path.join(w.dir, "log.jsonl"),
      STANDIN_STATE: path.join(w.dir, "state"),
    };
  });
  afterEach(() => fs.rmSync(w.dir, { recursive: true, force: true }));
  return w;
}

export const urn = (type: string, name: string) => `urn:pulumi:dev::p::${type}::${name}`;
export const base = (type: string, name: string) => ({ urn: urn(type, name), type, name });
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const plain = (m: WireMap) => reveal(m) as Record<string, any>;

export function newSecrets(d: Dispatcher) {
  return d.create({ ...base(TOKENS.secrets, "s"), news: {}, preview: false, timeout: 0 });
}

/** A control-plane config for cluster "lab" rendered by the stand-in's data source, as the program gets it. */
export async function machineConfig(d: Dispatcher, extra: WireMap = {}) {
  const s = plain((await newSecrets(d)).outs);
  const r = await d.invoke({
    token: FUNCTIONS.machineConfiguration,
    preview: false,
    args: {
      clusterName: "lab",
      clusterEndpoint: "https://10.0.0.10:6443",
      machineType: "controlplane",
      machineSecrets: s.machineSecrets,
      ...extra,
    },
  });
  return { secrets: s, result: r, config: plain(r.outputs).machineConfiguration as string };
}

/** ConfigurationApply inputs for `node`, with the client configuration as the secret the program passes. */
export async function applyInputs(d: Dispatcher, node = "10.0.0.11"): Promise<WireMap> {
  const { secrets, config } = await machineConfig(d);
  return {
    node,
    clientConfiguration: secret(secrets.clientConfiguration),
    machineConfigurationInput: config,
    configPatches: [],
  };
}
