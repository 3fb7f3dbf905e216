/* global process, console */
// A fake talosctl 1.13.9 for the lab tests (tests/lab.test.ts), run through the `talosctl` shim next to it.
// It imitates the real talosctl's commands that scripts/lab.sh uses, never this project's code:
//
//   talosctl version --client --short     "Client:" / "Talos <FAKE_TALOSCTL_VERSION, default v1.13.9>"
//   talosctl cluster create qemu ...      validates like the real one, then makes a pretend lab: state file,
//                                         console logs, the configs it writes, the cached ISO; no VM, no network
//   talosctl cluster destroy ...          deletes that state (and archives the logs if asked)
//   ... --help                            the real help text, captured in help-*.txt
//
// The flags it accepts are exactly those listed in the captured help (help-cluster-create-qemu.txt,
// help-cluster-destroy.txt: the contract); an unknown flag, a bad number or a missing value fails with the
// same text and status as the real cobra/pflag parser (error-*.txt, captured from the real binary). Hidden and
// deprecated flags (--mtu, --registry-mirror, destroy's --provisioner) are refused although the real binary
// takes them: the lab must not depend on them.
//
// Every call is appended to $FAKE_TALOSCTL_LOG (JSON lines: argv, cwd, TALOS_HOME, uid) when it is set.
// FAKE_TALOSCTL_FAIL_CREATE=1 makes `cluster create` fail after creating its state directory, as a real
// failure while starting the VMs would.
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const env = process.env;

if (env.FAKE_TALOSCTL_LOG) {
  const entry = { argv, cwd: process.cwd(), talosHome: env.TALOS_HOME ?? null, uid: process.getuid?.() };
  fs.appendFileSync(env.FAKE_TALOSCTL_LOG, `${JSON.stringify(entry)}\n`);
}

// clientconfig.GetTalosDirectory (pkg/machinery/client/config/path.go): $TALOS_HOME if absolute, else ~/.talos.
const talosDir =
  env.TALOS_HOME && path.isAbsolute(env.TALOS_HOME) ? env.TALOS_HOME : path.join(os.homedir(), ".talos");

function fail(message, status = 1) {
  process.stderr.write(`${message}\n`);
  process.exit(status);
}

/** A captured fixture: the text after its header, with the scratch TALOS_HOME put back to this one. */
function fixture(name) {
  const text = fs.readFileSync(path.join(here, name), "utf8");
  const body = text.slice(text.indexOf("\n", text.indexOf("# ------")) + 1);
  return body.replaceAll("<TALOS_HOME>", talosDir);
}

/** The flags a help text lists: name → { type (pflag's type name; "bool" when none), shorthand }. */
function flagsOf(help) {
  const flags = new Map();
  for (const line of help.split("\n")) {
    const m = /^\s+(?:-(\w), )?--([a-z0-9-]+)(?: (\S+))?\s{2,}/.exec(line);
    if (m) flags.set(m[2], { type: m[3] ?? "bool", shorthand: m[1] });
  }
  return flags;
}

/** humanize.ParseBytes as bytesize.ByteSize.Set uses it (pkg/bytesize), default unit MiB for memory. */
function parseBytes(value) {
  const withUnit = /\d$/.test(value) ? `${value}MiB` : value;
  const m = /^([\d.]+)\s*([kmgtp]i?b?|b)?$/i.exec(withUnit);
  if (!m) throw new Error(`strconv.ParseFloat: parsing "${/^[\d.]*/.exec(value)[0]}": invalid syntax`);
  const unit = (m[2] ?? "b").toLowerCase();
  const power = "bkmgtp".indexOf(unit[0]);
  const base = unit.includes("i") ? 1024 : 1000;
  return Math.round(Number(m[1]) * base ** power);
}

/** pflag's parser, as cobra drives it, for the flag set of one command (Go's error texts). */
function parse(args, help) {
  const flags = flagsOf(help);
  const usage = help.slice(help.indexOf("Usage:"));
  const reject = (message) => fail(`${message}\n\n${usage}`);
  const values = {};
  const positional = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (!arg.startsWith("-") || arg === "-") {
      positional.push(arg);
      continue;
    }
    let name;
    let value;
    if (arg.startsWith("--")) {
      [name, value] = arg.slice(2).split(/=(.*)/s, 2);
    } else {
      const short = arg.slice(1, 2);
      name = [...flags].find(([, f]) => f.shorthand === short)?.[0];
      if (name === undefined) reject(`unknown shorthand flag: '${short}' in ${arg}`);
      value = arg.length > 2 ? arg.slice(arg[2] === "=" ? 3 : 2) : undefined;
    }
    const flag = flags.get(name);
    if (!flag) reject(`unknown flag: --${name}`);
    if (flag.type === "bool") {
      value ??= "true";
    } else if (value === undefined) {
      if (i + 1 >= args.length) reject(`flag needs an argument: --${name}`);
      value = args[++i];
    }
    const label = flag.shorthand ? `-${flag.shorthand}, --${name}` : `--${name}`;
    const bad = (why) => reject(`invalid argument "${value}" for "${label}" flag: ${why}`);
    switch (flag.type) {
      case "int":
        if (!/^[+-]?\d+$/.test(value)) bad(`strconv.ParseInt: parsing "${value}": invalid syntax`);
        values[name] = Number(value);
        break;
      case "bool":
        if (!/^(1|t|T|TRUE|true|True|0|f|F|FALSE|false|False)$/.test(value))
          bad(`strconv.ParseBool: parsing "${value}": invalid syntax`);
        values[name] = /^(1|t|T|TRUE|true|True)$/.test(value);
        break;
      case "strings": // StringSlice: comma-separated; the first use replaces the default, later ones append
        values[name] = [...(values[name] ?? []), ...value.split(",")];
        break;
      case "stringArray": // every use appends, no splitting
        values[name] = [...(values[name] ?? []), value];
        break;
      case "string(mb,gb)":
        try {
          values[name] = parseBytes(value);
        } catch (e) {
          bad(e.message);
        }
        break;
      case "disks": {
        // flags.Disks.Set (create/flags/disks.go): replaces the list; each "<driver>:<size>[:k=v]"
        const disks = value.split(",").map((d) => d.split(":"));
        const wrong = disks.find((parts) => parts.length < 2);
        if (wrong) bad(`invalid disk format: "${wrong.join(":")}"`);
        values[name] = disks.map(([driver, size]) => ({ driver, bytes: parseBytes(size) }));
        break;
      }
      default:
        values[name] = value;
    }
  }
  return { values, positional, reject };
}

function createQemu(args) {
  const help = fixture("help-cluster-create-qemu.txt");
  if (args.includes("-h") || args.includes("--help")) return process.stdout.write(help);
  const { values, positional, reject } = parse(args, help);
  if (positional.length > 0) reject(`unknown command "${positional[0]}" for "talosctl cluster create qemu"`);
  const name = values.name ?? "talos-default";
  const stateDir = values.state ?? path.join(talosDir, "clusters");
  const talosVersion = values["talos-version"] ?? "v1.13.9";
  const presets = values.presets ?? ["iso"];
  const controlplanes = values.controlplanes ?? 1;
  const workers = values.workers ?? 1;
  const cidr = values.cidr ?? "10.5.0.0/24";

  // create_qemu.go, createQemuCluster: the version, then the presets (preset.go Apply, Validate).
  if (!talosVersion.startsWith("v"))
    fail("failed to parse talos version: version string must start with a 'v'");
  const known = ["iso", "iso-secureboot", "pxe", "disk-image", "maintenance"];
  const unknown = presets.find((p) => !known.includes(p));
  if (unknown) fail(`error: unknown preset: "${unknown}"`);
  const boot = ["iso", "pxe", "disk-image", "iso-secureboot"];
  const bootCount = presets.filter((p) => boot.includes(p)).length;
  if (bootCount === 0)
    fail(`error: at least one boot method preset must be specified (one of [${boot.join(" ")}])`);
  if (bootCount > 1)
    fail(
      `error: multiple boot method presets specified, please select only one (one of [${boot.join(" ")}])`,
    );

  // downloadBootAssets: the ISO URL (iso_preset.go) cached under <talos dir>/cache, "/" and ":" as "-".
  const schematic = "376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba";
  const iso = `https://factory.talos.dev/image/${schematic}/${talosVersion}/metal-amd64.iso`;
  fs.mkdirSync(path.join(talosDir, "cache"), { recursive: true });
  fs.writeFileSync(path.join(talosDir, "cache", iso.replaceAll("/", "-").replaceAll(":", "-")), "fake ISO\n");

  // makers/common.go: at least one control plane, addresses from the 2nd of the CIDR (NthIPInNetwork).
  if (controlplanes < 1) fail("number of controlplanes can't be less than 1");
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(cidr);
  if (!m) fail(`error validating cidr block: netip.ParsePrefix("${cidr}"): bad prefix`);
  const base = m.slice(1, 5).reduce((acc, o) => acc * 256 + Number(o), 0);
  const size = 2 ** (32 - Number(m[5]));
  const addr = (n) => {
    if (base + n >= base - (base % size) + size) fail("network does not contain enough IPs");
    return [24, 16, 8, 0].map((s) => Math.floor((base + n) / 2 ** s) % 256).join(".");
  };
  const nodes = [
    ...Array.from({ length: controlplanes }, (_, i) => ({
      name: `${name}-controlplane-${i + 1}`,
      type: "controlplane",
    })),
    ...Array.from({ length: workers }, (_, i) => ({ name: `${name}-worker-${i + 1}`, type: "worker" })),
  ].map((n, i) => ({ ...n, ip: addr(2 + i) }));

  // preCreate (maintenance: SkipInjectingConfig): the configs go to the working directory, 0644.
  for (const file of ["controlplane.yaml", "worker.yaml"]) {
    fs.writeFileSync(file, "version: v1alpha1 # fake, with the cluster's keys in the real one\n", {
      mode: 0o644,
    });
    process.stderr.write(`created ${file}\n`);
  }

  // provisioner.Create: preflight (root first: qemu/preflight.go), then NewState refuses an existing directory.
  if (process.getuid() !== 0)
    fail("error: please run as root user (CNI, qemu hvf requirement), we recommend running with `sudo -E`");
  const statePath = path.join(stateDir, name);
  if (fs.existsSync(statePath))
    fail(
      `state directory "${statePath}" already exists, is the cluster "${name}" already running? remove cluster state with talosctl cluster destroy`,
    );
  fs.mkdirSync(statePath, { recursive: true });
  if (env.FAKE_TALOSCTL_FAIL_CREATE === "1") fail("unable to provision CNI network: fake failure");
  for (const n of nodes)
    fs.writeFileSync(path.join(statePath, `${n.name}.log`), `fake console of ${n.name}\n`);

  // state.Save: the shape of state-v1.13.9.yaml.txt (go-yaml, lowercased Go field names).
  const hash = crypto.createHash("sha256").update(name).digest("hex").slice(0, 8);
  const gateway = addr(1);
  const memory = (type) =>
    values[`memory-${type === "controlplane" ? "controlplanes" : "workers"}`] ?? 2 ** 31;
  const disk = (values.disks ?? [{ bytes: 10 * 2 ** 30 }])[0].bytes;
  const state = [
    "provisionername: qemu",
    `bridgename: talos${hash}`,
    "clusterinfo:",
    `    clustername: ${name}`,
    "    network:",
    `        name: ${name}`,
    "        cidrs:",
    `            - ${cidr}`,
    "        gatewayaddrs:",
    `            - ${gateway}`,
    "        mtu: 1500",
    "        nomasqueradecidrs: []",
    "    nodes:",
    ...nodes.flatMap((n, i) => [
      `        - id: "${i + 1}"`,
      `          uuid: ${crypto.randomUUID()}`,
      `          name: ${n.name}`,
      `          type: ${n.type}`,
      "          nanocpus: 2000000000",
      `          memory: ${memory(n.type)}`,
      `          disksize: ${disk}`,
      "          ips:",
      `            - ${n.ip}`,
      "          apiport: 50000",
      '          tpmstatedir: ""',
    ]),
    "    extranodes: []",
    `    kubernetesendpoint: https://${gateway}:6443`,
    "vmcniconfig: null",
    "",
  ].join("\n");
  fs.writeFileSync(path.join(statePath, "state.yaml"), state);

  // postCreate: the talosconfig merged into --talosconfig-destination, else $TALOSCONFIG, else <talos dir>/config.
  const talosconfig = values["talosconfig-destination"] || env.TALOSCONFIG || path.join(talosDir, "config");
  fs.mkdirSync(path.dirname(talosconfig), { recursive: true });
  fs.writeFileSync(talosconfig, `context: ${name}\n# fake: the real one holds a client key\n`, {
    mode: 0o600,
  });
  console.log(
    `PROVISIONER       qemu\nNAME              ${name}\nNETWORK NAME      ${name}\nNETWORK CIDR      ${cidr}`,
  );
  console.log(`NETWORK GATEWAY   ${gateway}\n\nNODES:\n`);
  for (const n of nodes) console.log(`${n.name}   ${n.type}   ${n.ip}`);
}

function destroy(args) {
  const help = fixture("help-cluster-destroy.txt");
  if (args.includes("-h") || args.includes("--help")) return process.stdout.write(help);
  const { values, positional, reject } = parse(args, help);
  if (positional.length > 0) reject(`unknown command "${positional[0]}" for "talosctl cluster destroy"`);
  const name = values.name ?? "talos-default";
  const statePath = path.join(values.state ?? path.join(talosDir, "clusters"), name);
  // provision.ReadState (pkg/provision/state.go), then the QEMU provisioner's Destroy (qemu/destroy.go).
  if (!fs.existsSync(statePath))
    fail(
      `failed to read cluster state: cluster "${name}" not found: stat ${statePath}: no such file or directory`,
    );
  const archive = values["save-cluster-logs-archive-path"];
  if (archive) {
    // cluster.SaveClusterLogsArchive: every *.log under the state directory (a gzipped tar in the real one).
    const logs = fs.readdirSync(statePath).filter((f) => f.endsWith(".log"));
    fs.writeFileSync(
      archive,
      logs.map((f) => `${f}\n${fs.readFileSync(path.join(statePath, f), "utf8")}`).join(""),
    );
    console.log(`saving cluster logs archive to ${archive}`);
  }
  console.log(
    "stopping VMs\nremoving dhcpd\nremoving load balancer\nremoving network\nremoving state directory",
  );
  fs.rmSync(statePath, { recursive: true, force: true });
}

const words = argv.filter((a) => !a.startsWith("-"));
if (argv[0] === "version" && argv.includes("--client")) {
  console.log(`Client:\nTalos ${env.FAKE_TALOSCTL_VERSION ?? "v1.13.9"}`);
} else if (argv[0] === "cluster" && argv[1] === "create" && argv[2] === "qemu") {
  createQemu(argv.slice(3));
} else if (argv[0] === "cluster" && argv[1] === "destroy") {
  destroy(argv.slice(2));
} else {
  fail(`fake talosctl: not imitated: talosctl ${words.join(" ")}`, 97);
}
