/**
 * The pure part of `npm run lab` (scripts/lab.sh): where `talosctl cluster create qemu` puts the lab's
 * machines, reading them back from talosctl's state file, and writing the lab's stack file
 * (Pulumi.lab.yaml) so that `STACK=lab npm run up` converges them with this program.
 *
 * Everything talosctl decides is taken from its v1.13.9 source (github.com/siderolabs/talos), named where
 * it is used. scripts/lab.sh calls the command line at the bottom through ts-node.
 */
import * as fs from "fs";
import * as YAML from "yaml";
import type * as ConfigSchema from "../components/config/schema";
import {
  DEFAULT_KUBERNETES_VERSION,
  DEFAULT_TALOS_VERSION,
  parseSemver,
} from "../components/config/versions";

/** A problem with the lab's flags or files; scripts/lab.sh prints the message as is. */
export class LabError extends Error {}

/** `--cidr`'s default in `talosctl cluster create qemu` (create/cmd_qemu.go). */
export const DEFAULT_LAB_CIDR = "10.5.0.0/24";
/** The disk Talos installs to in talosctl's QEMU VMs (pkg/provision/providers/qemu/qemu.go, GenOptions). */
export const LAB_INSTALL_DISK = "/dev/vda";
// makers/common.go: gatewayOffset = 1, nodesOffset = 2 (addresses counted from the CIDR's own address).
const GATEWAY_OFFSET = 1;
const NODES_OFFSET = 2;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export type Role = "controlplane" | "worker";

/** One VM of the lab, as talosctl names and addresses it. */
export interface LabMachine {
  name: string;
  role: Role;
  address: string;
}

/** An IPv4 prefix as talosctl reads `--cidr` (netip.ParsePrefix: the address is NOT masked). */
export interface Ipv4Prefix {
  address: number;
  bits: number;
}

export function parseIpv4Prefix(cidr: string): Ipv4Prefix {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr.trim());
  const octets = m ? m.slice(1, 5).map(Number) : [];
  const bits = m ? Number(m[5]) : NaN;
  if (!m || octets.some((o) => o > 255) || bits > 32) {
    throw new LabError(
      `--cidr ${JSON.stringify(cidr)} is not an IPv4 CIDR (talosctl's lab network is IPv4): use e.g. ${DEFAULT_LAB_CIDR}`,
    );
  }
  return { address: octets.reduce((acc, o) => acc * 256 + o, 0), bits };
}

export function ipv4ToString(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join(".");
}

/**
 * The n-th address after the prefix's own address, as NthIPInNetwork (github.com/siderolabs/net v0.4.0,
 * net.go) computes it: `Next()` n times, then an error unless the network still contains it.
 */
export function nthAddress(prefix: Ipv4Prefix, n: number): string | undefined {
  const size = 2 ** (32 - prefix.bits);
  const network = prefix.address - (prefix.address % size);
  const addr = prefix.address + n;
  return addr < network + size ? ipv4ToString(addr) : undefined;
}

/** The lab's bridge: the first address after the prefix's own (makers/common.go, initGatewayIPs). */
export function labGateway(cidr: string): string {
  const gateway = nthAddress(parseIpv4Prefix(cidr), GATEWAY_OFFSET);
  if (gateway === undefined) throw new LabError(`--cidr ${cidr} has no room for the lab's gateway`);
  return gateway;
}

/** Checks a lab name (talosctl `--name`, the cluster name, and the prefix of every machine's name). */
export function checkLabName(name: string, controlplanes: number, workers: number): void {
  // The longest machine name must still be a DNS label: it is the node's name and hostname in the stack.
  const longest = Math.max(
    `${name}-controlplane-${controlplanes}`.length,
    workers > 0 ? `${name}-worker-${workers}`.length : 0,
  );
  if (!DNS_LABEL.test(name) || longest > 63) {
    throw new LabError(
      `--name ${JSON.stringify(name)} must be a DNS label (lowercase letters, digits, '-') short enough that ` +
        `"${name}-controlplane-${controlplanes}" has at most 63 characters: use e.g. homelab-lab`,
    );
  }
}

/**
 * The machines `talosctl cluster create qemu --name <name> --controlplanes C --workers W --cidr <cidr>`
 * creates: "<name>-controlplane-i" then "<name>-worker-i", addresses from the CIDR's 2nd address on,
 * control planes first (makers/common.go: initIPs and the node loops of initNodes).
 */
export function labMachines(
  name: string,
  controlplanes: number,
  workers: number,
  cidr: string,
): LabMachine[] {
  if (!Number.isInteger(controlplanes) || controlplanes < 1) {
    throw new LabError(
      `--controlplanes must be a whole number of at least 1 (use 1 or 3), not ${controlplanes}`,
    );
  }
  if (!Number.isInteger(workers) || workers < 0) {
    throw new LabError(`the number of workers must be a whole number of at least 0, not ${workers}`);
  }
  checkLabName(name, controlplanes, workers);
  const prefix = parseIpv4Prefix(cidr);
  const roles: Role[] = [
    ...Array<Role>(controlplanes).fill("controlplane"),
    ...Array<Role>(workers).fill("worker"),
  ];
  return roles.map((role, i) => {
    const address = nthAddress(prefix, NODES_OFFSET + i);
    if (address === undefined) {
      throw new LabError(
        `--cidr ${cidr} is too small for ${roles.length} machines (talosctl: "network does not contain enough IPs"): use a /24 such as ${DEFAULT_LAB_CIDR}`,
      );
    }
    const index = role === "controlplane" ? i + 1 : i - controlplanes + 1;
    return { name: `${name}-${role}-${index}`, role, address };
  });
}

const record = (v: unknown): Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};

/**
 * Reads talosctl's state file (`<state>/<name>/state.yaml`, pkg/provision/state.go State.Save): go-yaml
 * lowercases the Go field names, machine types print as "controlplane"/"worker", addresses as text.
 */
export function parseLabState(text: string): { name: string; cidr: string; machines: LabMachine[] } {
  const info = record(record(YAML.parse(text)).clusterinfo);
  const cidr = String((record(info.network).cidrs as unknown[] | undefined)?.[0] ?? "");
  const nodes = Array.isArray(info.nodes) ? info.nodes.map(record) : [];
  const machines = nodes.map((n): LabMachine => {
    const role = n.type === "controlplane" || n.type === "init" ? "controlplane" : "worker";
    const ips = Array.isArray(n.ips) ? n.ips.map(String) : [];
    return { name: String(n.name ?? ""), role, address: ips.find((ip) => !ip.includes(":")) ?? "" };
  });
  if (
    typeof info.clustername !== "string" ||
    machines.length === 0 ||
    machines.some((m) => !m.name || !m.address)
  ) {
    throw new LabError("talosctl's state file has no cluster name or no machines with an IPv4 address");
  }
  // Control planes first, each role in talosctl's numbering, as labMachines lists them.
  const order = (m: LabMachine) => [
    m.role === "controlplane" ? 0 : 1,
    Number(/-(\d+)$/.exec(m.name)?.[1] ?? 0),
  ];
  machines.sort((a, b) => order(a)[0] - order(b)[0] || order(a)[1] - order(b)[1]);
  return { name: info.clustername, cidr, machines };
}

/** The settings of a stack file the lab carries over, with the project defaults (Pulumi.yaml) filled in. */
export interface LabSettings {
  talosVersion: string;
  kubernetesVersion: string;
  /** Carried as written: the stack's CNI, extensions and network ranges are part of what the lab tries. */
  carried: Record<string, unknown>;
  resetOnDestroy: boolean;
}

const CARRIED_KEYS = ["cni", "extensions", "network"] as const;

/** `homelab:*` keys of a stack file, without the prefix. */
export function stackConfig(text: string | undefined): Record<string, unknown> {
  const config = record(record(text === undefined ? {} : YAML.parse(text)).config);
  return Object.fromEntries(
    Object.entries(config)
      .filter(([k]) => k.startsWith("homelab:"))
      .map(([k, v]) => [k.slice("homelab:".length), v]),
  );
}

/** The settings in `stackText`, the defaults of the program for anything it leaves out. */
export function labSettings(stackText: string | undefined): LabSettings {
  const c = stackConfig(stackText);
  const version = (v: unknown, fallback: string) => (typeof v === "string" && v.trim() ? v.trim() : fallback);
  return {
    talosVersion: `v${version(c.talosVersion, DEFAULT_TALOS_VERSION).replace(/^v/, "")}`,
    kubernetesVersion: version(c.kubernetesVersion, DEFAULT_KUBERNETES_VERSION).replace(/^v/, ""),
    carried: Object.fromEntries(CARRIED_KEYS.filter((k) => c[k] !== undefined).map((k) => [k, c[k]])),
    resetOnDestroy: c.resetOnDestroy === true || c.resetOnDestroy === "true",
  };
}

/** Options of {@link renderLabStack}. */
export interface LabStackArgs {
  /** The lab's name: talosctl's cluster name and the stack's `homelab:clusterName`. */
  name: string;
  cidr: string;
  /** Every VM of the lab, control planes first. */
  machines: readonly LabMachine[];
  /** How many of the lab's workers the stack lists (the rest stay in maintenance mode, to be added later). */
  workers: number;
  settings: LabSettings;
  /** The current stack file, if any: its encryption salt and non-`homelab:` config are kept. */
  existing?: string;
}

/**
 * The lab's stack file. It lists every control plane and the first `workers` workers, installs Talos on
 * /dev/vda, and keeps whatever Pulumi wrote into an earlier version of the file (`encryptionsalt`,
 * `secretsprovider`, config of other namespaces), so regenerating it never locks the stack's secrets away.
 * The result passes the program's own config validation (`validate`: the program's parseClusterConfig), or
 * this throws.
 */
export function renderLabStack(args: LabStackArgs, validate: typeof ConfigSchema.parseClusterConfig): string {
  const controlplanes = args.machines.filter((m) => m.role === "controlplane");
  const workers = args.machines.filter((m) => m.role === "worker");
  if (!Number.isInteger(args.workers) || args.workers < 0 || args.workers > workers.length) {
    throw new LabError(
      `--workers ${args.workers}: the lab has ${workers.length} worker VM(s); list between 0 and ${workers.length} ` +
        `(create a bigger lab with --spare-workers to add workers later)`,
    );
  }
  const listed = [...controlplanes, ...workers.slice(0, args.workers)];
  const spare = workers.slice(args.workers);
  const homelab: Record<string, unknown> = {
    clusterName: args.name,
    talosVersion: args.settings.talosVersion,
    kubernetesVersion: args.settings.kubernetesVersion,
    resetOnDestroy: args.settings.resetOnDestroy,
    ...args.settings.carried,
    nodes: listed.map((m) => ({
      name: m.name,
      address: m.address,
      role: m.role,
      installDisk: LAB_INSTALL_DISK,
    })),
  };
  const result = validate(homelab);
  if (!result.spec) throw new LabError(`the lab's stack would be invalid:\n${result.report}`);

  const old = record(args.existing === undefined ? {} : YAML.parse(args.existing));
  const kept = Object.fromEntries(Object.entries(old).filter(([k]) => k !== "config"));
  const keptConfig = Object.fromEntries(
    Object.entries(record(old.config)).filter(([k]) => !k.startsWith("homelab:")),
  );
  const config = {
    ...keptConfig,
    ...Object.fromEntries(Object.entries(homelab).map(([k, v]) => [`homelab:${k}`, v])),
  };
  const doc = new YAML.Document({ ...kept, config });
  doc.commentBefore = [
    ` The QEMU lab "${args.name}" (${args.cidr}), written by \`npm run lab\` (scripts/lab.sh, docs/lab.md) from`,
    ` talosctl's state file. \`npm run lab -- stack\` rewrites the homelab: keys; everything else is kept.`,
    ` The machines boot the Talos ISO into maintenance mode; Talos installs to ${LAB_INSTALL_DISK}.`,
    spare.length > 0
      ? ` Spare workers, in maintenance mode, not listed yet: ${spare.map((m) => `${m.name} ${m.address}`).join(", ")}`
      : ` Every VM of the lab is listed.`,
  ].join("\n");
  return doc.toString({ lineWidth: 0 });
}

/** A patch-level step for the end-to-end test: down one patch when there is one, else up one. */
export function patchStep(version: string): { from: string; to: string } {
  const v = parseSemver(version);
  if (!v || v.prerelease)
    throw new LabError(`${JSON.stringify(version)} is not a release version such as 1.36.0`);
  const prefix = version.trim().startsWith("v") ? "v" : "";
  const at = (patch: number) => `${prefix}${v.major}.${v.minor}.${patch}`;
  return v.patch > 0
    ? { from: at(v.patch - 1), to: at(v.patch) }
    : { from: at(v.patch), to: at(v.patch + 1) };
}

// -------------------------------------------------------------------------------------------------------------
// Command line, for scripts/lab.sh. Output lines are `key=value` (no value ever holds a newline).
// -------------------------------------------------------------------------------------------------------------

function options(argv: string[], allowed: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i]?.replace(/^--/, "") ?? "";
    if (!allowed.includes(key) || argv[i + 1] === undefined)
      throw new LabError(`lab-stack: bad option ${argv[i]}`);
    out.set(key, argv[i + 1] as string);
  }
  return out;
}

const readIfExists = (file: string | undefined) =>
  file && fs.existsSync(file) ? fs.readFileSync(file, "utf8") : undefined;
const count = (value: string | undefined, flag: string): number | undefined => {
  if (value === undefined || value === "") return undefined;
  if (!/^\d+$/.test(value))
    throw new LabError(`--${flag} must be a whole number, not ${JSON.stringify(value)}`);
  return Number(value);
};

/** Applies the version/CNI/reset flags over the settings read from a stack file. */
function withFlags(settings: LabSettings, o: Map<string, string>): LabSettings {
  const out = { ...settings, carried: { ...settings.carried } };
  const talos = o.get("talos-version");
  const k8s = o.get("kubernetes-version");
  for (const [flag, value] of [
    ["talos-version", talos],
    ["kubernetes-version", k8s],
  ] as const) {
    if (value && !parseSemver(value))
      throw new LabError(`--${flag} ${JSON.stringify(value)} is not a version such as 1.13.9`);
  }
  if (talos) out.talosVersion = `v${talos.replace(/^v/, "")}`;
  if (k8s) out.kubernetesVersion = k8s.replace(/^v/, "");
  const cni = o.get("cni");
  if (cni) out.carried.cni = cni; // shorthand for { name: cni }, with the program's default version
  const reset = o.get("reset-on-destroy");
  if (reset !== undefined && reset !== "") {
    if (reset !== "true" && reset !== "false")
      throw new LabError(`--reset-on-destroy must be true or false, not ${reset}`);
    out.resetOnDestroy = reset === "true";
  }
  return out;
}

const SETTING_FLAGS = ["talos-version", "kubernetes-version", "cni", "reset-on-destroy"] as const;

/**
 * The program's config validation, loaded only by the command that writes a stack: `plan` runs before every
 * lab is created and never needs it, and loading it (zod and the config modules, transpiled by ts-node) is a
 * third of the helper's start-up. (A plain require: this runs under ts-node, never under the test runner.)
 */
function configSchema(): typeof ConfigSchema {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- deliberately lazy, see above
  return require("../components/config/schema") as typeof ConfigSchema;
}

export function main(argv: string[], print: (line: string) => void): void {
  const [command, ...rest] = argv;
  if (command === "plan") {
    // plan --name N --controlplanes C --workers W --cidr X --from F [settings]: what create will make.
    const o = options(rest, ["name", "controlplanes", "workers", "cidr", "from", ...SETTING_FLAGS]);
    const settings = withFlags(labSettings(readIfExists(o.get("from"))), o);
    const machines = labMachines(
      o.get("name") ?? "",
      count(o.get("controlplanes"), "controlplanes") ?? 1,
      count(o.get("workers"), "workers") ?? 0,
      o.get("cidr") ?? DEFAULT_LAB_CIDR,
    );
    print(`talos_version=${settings.talosVersion}`);
    print(`kubernetes_version=${settings.kubernetesVersion}`);
    print(`gateway=${labGateway(o.get("cidr") ?? DEFAULT_LAB_CIDR)}`);
    for (const m of machines) print(`machine=${m.name} ${m.role} ${m.address}`);
  } else if (command === "write") {
    // write --state S --out O --mode create|update [--from F] [--workers N] [settings]
    const o = options(rest, ["state", "out", "mode", "from", "workers", ...SETTING_FLAGS]);
    const state = parseLabState(fs.readFileSync(o.get("state") ?? "", "utf8"));
    const out = o.get("out") ?? "Pulumi.lab.yaml";
    const existing = readIfExists(out);
    const update = o.get("mode") === "update";
    const base = labSettings(update ? existing : readIfExists(o.get("from")));
    const listedWorkers = stackConfig(existing).nodes;
    const currentWorkers = Array.isArray(listedWorkers)
      ? listedWorkers.filter((n) => record(n).role === "worker").length
      : undefined;
    const workers = count(o.get("workers"), "workers") ?? (update ? currentWorkers : undefined) ?? 0;
    const text = renderLabStack(
      {
        name: state.name,
        cidr: state.cidr,
        machines: state.machines,
        workers,
        settings: withFlags(base, o),
        existing,
      },
      configSchema().parseClusterConfig,
    );
    fs.writeFileSync(out, text);
    for (const m of state.machines) print(`machine=${m.name} ${m.role} ${m.address}`);
  } else if (command === "bump") {
    // bump --from F: the versions the end-to-end workflow starts from and upgrades to.
    const s = labSettings(readIfExists(options(rest, ["from"]).get("from")));
    const talos = patchStep(s.talosVersion);
    const k8s = patchStep(s.kubernetesVersion);
    print(`talos_from=${talos.from}`);
    print(`talos_to=${talos.to}`);
    print(`kubernetes_from=${k8s.from}`);
    print(`kubernetes_to=${k8s.to}`);
  } else {
    throw new LabError(`lab-stack: unknown command ${JSON.stringify(command)} (plan, write, bump)`);
  }
}

if (require.main === module) {
  try {
    main(process.argv.slice(2), (line) => process.stdout.write(`${line}\n`));
  } catch (e) {
    process.stderr.write(`lab: ${e instanceof LabError ? e.message : String(e)}\n`);
    process.exit(2);
  }
}
