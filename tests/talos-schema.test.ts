import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import {
  supportedTalosMinors,
  validateTalosDocument,
  type SchemaProblem,
  type TalosMinor,
} from "../components/machine/talos-schema";
import schema112 from "../components/machine/talos-schema/talos-config-v1.12.generated.json";
import schema113 from "../components/machine/talos-schema/talos-config-v1.13.generated.json";

const WHERE = "nodes[1].patches[0]";
const GENERATED: Record<TalosMinor, unknown> = { "1.12": schema112, "1.13": schema113 };

function check(yamlText: string, talosMinor: TalosMinor = "1.13"): SchemaProblem[] {
  return validateTalosDocument(parse(yamlText), { talosMinor, where: WHERE });
}

const errors = (problems: SchemaProblem[]) => problems.filter((p) => p.severity === "error");
const warnings = (problems: SchemaProblem[]) => problems.filter((p) => p.severity === "warning");
const messages = (problems: SchemaProblem[]) => problems.map((p) => p.message);

/** Every key used as a keyword anywhere in a schema tree, with `properties`-style name maps skipped. */
function keywordsOf(node: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(node)) node.forEach((item) => keywordsOf(item, out));
  else if (node !== null && typeof node === "object") {
    for (const [key, value] of Object.entries(node)) {
      out.add(key);
      if (["$defs", "properties", "patternProperties"].includes(key) && value && typeof value === "object") {
        Object.values(value).forEach((sub) => keywordsOf(sub, out));
      } else keywordsOf(value, out);
    }
  }
  return out;
}

type Def = { properties?: Record<string, { enum?: unknown[]; type?: string }>; required?: string[] };
const defOf = (minor: TalosMinor, name: string) =>
  (GENERATED[minor] as { $defs: Record<string, Def> }).$defs[name];

describe("generated schema files", () => {
  it.each(supportedTalosMinors())("%s names its upstream source and keeps only structure", (minor) => {
    const schema = GENERATED[minor] as Record<string, unknown>;
    expect(schema.$comment).toMatch(
      new RegExp(`siderolabs/talos tag v${minor.replace(".", "\\.")}\\.\\d+ website/content/v${minor}/`),
    );
    expect(schema.$comment).toContain("MPL-2.0");
    expect(schema.$comment).toContain("Structure only");
    expect(schema.$id).toBe(`https://talos.dev/v${minor}/schemas/config.schema.json`);
    const keywords = keywordsOf(schema);
    for (const dropped of [
      "description",
      "markdownDescription",
      "x-intellij-html-description",
      "examples",
      "title",
    ]) {
      expect(keywords).not.toContain(dropped);
    }
    // Structure survived the stripping.
    for (const kept of [
      "$defs",
      "$ref",
      "type",
      "properties",
      "required",
      "enum",
      "pattern",
      "additionalProperties",
    ]) {
      expect(keywords).toContain(kept);
    }
  });

  it("pins the upstream tags the copies in ../shared came from", () => {
    expect((schema113 as { $comment: string }).$comment).toContain("tag v1.13.9 ");
    expect((schema112 as { $comment: string }).$comment).toContain("tag v1.12.11 ");
  });

  it.each(supportedTalosMinors())(
    "%s HostnameConfig allows auto: stable|off, so the examples use valid values",
    (m) => {
      const hostname = defOf(m, "network.HostnameConfigV1Alpha1");
      expect(hostname.properties?.auto?.enum).toEqual(["stable", "off"]);
      expect(hostname.required).toEqual(["apiVersion", "kind"]);
      const vip = defOf(m, "network.Layer2VIPConfigV1Alpha1");
      expect(Object.keys(vip.properties ?? {}).sort()).toEqual(["apiVersion", "kind", "link", "name"]);
      expect(vip.required).toEqual(["apiVersion", "kind", "name"]);
    },
  );
});

describe("supportedTalosMinors", () => {
  it("lists 1.12 and 1.13", () => {
    expect(supportedTalosMinors()).toEqual(["1.12", "1.13"]);
  });
});

describe.each(supportedTalosMinors())("valid documents for Talos %s", (minor) => {
  it.each([
    ["install disk patch", "machine:\n  install:\n    disk: /dev/sda\n"],
    [
      "install disk selector",
      "machine:\n  install:\n    diskSelector:\n      type: nvme\n      size: '>= 100GB'\n",
    ],
    ["node labels", "machine:\n  nodeLabels:\n    topology.kubernetes.io/zone: rack-1\n    role: storage\n"],
    ["HostnameConfig", "apiVersion: v1alpha1\nkind: HostnameConfig\nauto: off\nhostname: cp-1\n"],
    ["Layer2VIPConfig", "apiVersion: v1alpha1\nkind: Layer2VIPConfig\nname: 192.168.1.50\nlink: eth0\n"],
    ["CNI none", "cluster:\n  network:\n    cni:\n      name: none\n"],
    ["kube-proxy disabled", "cluster:\n  proxy:\n    disabled: true\n"],
    ["KubePrism", "machine:\n  features:\n    kubePrism:\n      enabled: true\n      port: 7445\n"],
    ["control-plane endpoint", "cluster:\n  controlPlane:\n    endpoint: https://192.168.1.50:6443\n"],
    [
      "logging endpoint (a URL string, despite the upstream schema)",
      "machine:\n  logging:\n    destinations:\n      - endpoint: udp://127.0.0.1:12345/\n        format: json_lines\n",
    ],
    [
      "label deletion",
      "machine:\n  nodeLabels:\n    node.kubernetes.io/exclude-from-external-load-balancers:\n      $patch: delete\n",
    ],
  ])("%s", (_name, text) => {
    expect(check(text, minor)).toEqual([]);
  });
});

describe("invalid documents", () => {
  it("suggests the closest key for a typo", () => {
    const problems = check("machine:\n  nework:\n    interfaces: []\n");
    expect(messages(problems)).toEqual([
      "nodes[1].patches[0]: machine.nework is not a Talos setting — did you mean machine.network?",
    ]);
    expect(problems[0]).toMatchObject({ severity: "error", where: WHERE, path: "machine.nework" });
  });

  it("suggests a schema key for a typo too", () => {
    expect(messages(check("machine:\n  instal:\n    disk: /dev/sda\n"))).toEqual([
      "nodes[1].patches[0]: machine.instal is not a Talos setting — did you mean machine.install?",
    ]);
  });

  it("does not invent a suggestion for an unrelated key", () => {
    const [problem] = check("machine:\n  frobnicate: true\n");
    expect(problem.message).toBe("nodes[1].patches[0]: machine.frobnicate is not a Talos setting");
  });

  it("names the expected type", () => {
    const problems = check("machine:\n  install:\n    disk: 5\n");
    expect(problems).toHaveLength(1);
    expect(problems[0].path).toBe("machine.install.disk");
    expect(problems[0].message).toMatch(/^nodes\[1\]\.patches\[0\]: machine\.install\.disk must be a string/);
  });

  it("lists allowed enum values", () => {
    const [problem] = check("cluster:\n  network:\n    cni:\n      name: cilium\n");
    expect(problem.message).toContain("cluster.network.cni.name must be one of");
    expect(problem.message).toContain('"flannel", "custom", "none"');
  });

  it("explains an invalid HostnameConfig auto value", () => {
    const [problem] = check("apiVersion: v1alpha1\nkind: HostnameConfig\nauto: static\n");
    expect(problem).toMatchObject({ severity: "error", path: "auto" });
    expect(problem.message).toContain('auto must be one of "stable", "off"');
  });

  it("hints at quoting when a YAML 1.1 parser turned off into false", () => {
    const [problem] = validateTalosDocument(
      { apiVersion: "v1alpha1", kind: "HostnameConfig", auto: false },
      { talosMinor: "1.13", where: WHERE },
    );
    expect(problem.message).toContain('quote it, e.g. "off"');
  });

  it("explains patterns in words", () => {
    expect(messages(check("cluster:\n  controlPlane:\n    endpoint: http://10.0.0.1:6443\n"))[0]).toContain(
      "cluster.controlPlane.endpoint must start with https://",
    );
    expect(
      messages(check("apiVersion: v1alpha1\nkind: TimeSyncConfig\nbootTimeout: 2 minutes\n"))[0],
    ).toContain("bootTimeout must be a duration such as 30s");
  });

  it("describes oneOf alternatives once", () => {
    const problems = check("cluster:\n  apiServer:\n    extraArgs:\n      feature-gates: 5\n");
    expect(messages(problems)).toEqual([
      "nodes[1].patches[0]: cluster.apiServer.extraArgs.feature-gates must be a string or a list of strings, got 5",
    ]);
  });

  it("quotes keys that are not identifiers", () => {
    const [problem] = check("machine:\n  nodeLabels:\n    node.kubernetes.io/role: 1\n");
    expect(problem.path).toBe('machine.nodeLabels["node.kubernetes.io/role"]');
  });

  it("points a top-level machine or cluster key to its section", () => {
    expect(messages(check("install:\n  disk: /dev/sda\n"))).toEqual([
      "nodes[1].patches[0]: install is not a Talos setting — did you mean machine.install?",
    ]);
    expect(messages(check("proxy:\n  disabled: true\n"))[0]).toContain("did you mean cluster.proxy?");
  });

  it("applies deprecated v1alpha1 keys only to the v1alpha1 config", () => {
    expect(messages(check("apiVersion: v1alpha1\nkind: HostnameConfig\npersist: true\n"))).toEqual([
      "nodes[1].patches[0]: persist is not a Talos setting",
    ]);
  });

  it("rejects an unknown kind and suggests the closest", () => {
    const [problem] = check("apiVersion: v1alpha1\nkind: Layer2VipConfig\nname: 10.0.0.5\n");
    expect(problem).toMatchObject({ severity: "error", path: "kind" });
    expect(problem.message).toContain(
      "kind Layer2VipConfig is not a Talos 1.13 document kind — did you mean Layer2VIPConfig?",
    );
    expect(problem.message).toContain("Known kinds: ");
    expect(problem.message).toContain("HostnameConfig");
  });

  it("rejects a wrong apiVersion", () => {
    const [problem] = check("apiVersion: v1alpha2\nkind: HostnameConfig\nhostname: cp-1\n");
    expect(problem).toMatchObject({ path: "apiVersion" });
    expect(problem.message).toContain('apiVersion must be "v1alpha1"');
  });

  it("rejects apiVersion without kind", () => {
    expect(check("apiVersion: v1alpha1\nhostname: cp-1\n")[0].message).toContain("kind is missing");
  });

  it("rejects documents that are not maps", () => {
    expect(check("- a\n- b\n")[0].message).toContain("must be a YAML map");
    expect(validateTalosDocument(null, { talosMinor: "1.13", where: WHERE })).toHaveLength(1);
  });

  it("rejects $patch values other than delete", () => {
    expect(check("machine:\n  install:\n    $patch: replace\n")[0].message).toContain(
      "only understands $patch: delete",
    );
  });
});

describe("values the schema allows but every node refuses", () => {
  it.each(supportedTalosMinors())("%s: a disk selector on name", (minor) => {
    const [problem] = check("machine:\n  install:\n    diskSelector:\n      name: /dev/sda\n", minor);
    expect(problem).toMatchObject({ severity: "error", path: "machine.install.diskSelector.name" });
    expect(problem.message).toContain("selector on name is not supported");
    expect(problem.message).toContain("busPath");
  });

  it("a HostnameConfig with both a hostname and automatic hostnames", () => {
    const [problem] = check("apiVersion: v1alpha1\nkind: HostnameConfig\nhostname: cp-1\nauto: stable\n");
    expect(problem).toMatchObject({ severity: "error", path: "auto" });
    expect(problem.message).toContain("'auto' and 'hostname' cannot be set at the same time");
    expect(check("apiVersion: v1alpha1\nkind: HostnameConfig\nhostname: cp-1\nauto: off\n")).toEqual([]);
  });
});

describe("settings the schema leaves out but Talos still reads", () => {
  // Talos accepts these without a word (tools/talos-check confirms it in the machinery tests), so does this check.
  it.each(supportedTalosMinors())("%s: accepts them silently, as Talos does", (minor) => {
    for (const text of [
      "machine:\n  time:\n    servers: [pool.ntp.org]\n",
      "machine:\n  registries:\n    mirrors: {}\n",
      "machine:\n  env:\n    HTTP_PROXY: http://proxy:3128\n",
      "machine:\n  network:\n    nameservers: [1.1.1.1]\n",
      "machine:\n  network:\n    interfaces:\n      - interface: eth0\n        dhcp: true\n",
      "machine:\n  network:\n    interfaces:\n      - interface: eth0\n        vip:\n          ip: 192.168.1.50\n",
      "machine:\n  network:\n    kubespan:\n      enabled: true\n",
      "machine:\n  install:\n    extraKernelArgs: [console=ttyS0]\n",
      "machine:\n  features:\n    rbac: true\n",
      "persist: true\n",
    ]) {
      expect(check(text, minor)).toEqual([]);
    }
  });

  it.each(supportedTalosMinors())("%s: repeats the warnings Talos gives, in its words", (minor) => {
    const cidr = check(
      "machine:\n  network:\n    interfaces:\n      - interface: eth1\n        cidr: 10.0.0.5/24\n",
      minor,
    );
    expect(cidr.map((p) => [p.severity, p.path])).toEqual([
      ["warning", "machine.network.interfaces[0].cidr"],
    ]);
    expect(cidr[0].message).toContain('Talos warns "eth1": machine.network.interface.cidr is deprecated');
    const extensions = check("machine:\n  install:\n    extensions:\n      - image: ghcr.io/x/y:1\n", minor);
    expect(warnings(extensions)[0].message).toContain(
      'Talos warns ".machine.install.extensions is deprecated',
    );
  });

  it.each(supportedTalosMinors())(
    "%s: machine.network.hostname is an error pointing to HostnameConfig",
    (minor) => {
      const [error] = check("machine:\n  network:\n    hostname: cp-1\n", minor);
      expect(error).toMatchObject({ severity: "error", path: "machine.network.hostname" });
      expect(error.message).toContain("static hostname is already set");
      expect(error.message).toContain("HostnameConfig");
    },
  );

  it("typos under the legacy machine.network still get a suggestion", () => {
    expect(messages(errors(check("machine:\n  network:\n    interfaces: []\n    nameserver: []\n")))).toEqual(
      [
        "nodes[1].patches[0]: machine.network.nameserver is not a Talos setting — did you mean machine.network.nameservers?",
      ],
    );
  });
});

describe("patches are partial documents", () => {
  it("does not enforce required keys a patch leaves to the document it patches", () => {
    expect(check("apiVersion: v1alpha1\nkind: VLANConfig\nname: eth0.10\nvlanID: 10\n")).toEqual([]);
    const doc = { apiVersion: "v1alpha1", kind: "VLANConfig", name: "eth0.10" };
    expect(validateTalosDocument(doc, { talosMinor: "1.13", where: WHERE })).toEqual([]);
  });

  it("still needs the keys that identify which document a patch targets", () => {
    const [problem] = check("apiVersion: v1alpha1\nkind: Layer2VIPConfig\nlink: eth0\n");
    expect(problem).toMatchObject({ severity: "error", path: "name" });
    expect(check("kind: HostnameConfig\nhostname: cp-1\n")[0].path).toBe("apiVersion");
  });

  it("still rejects unknown keys, wrong types and enums in a patch", () => {
    expect(check("apiVersion: v1alpha1\nkind: HostnameConfig\nhostnam: x\n")[0].message).toContain(
      "did you mean hostname?",
    );
  });

  it("understands $patch: delete", () => {
    expect(check("machine:\n  nodeLabels:\n    a:\n      $patch: delete\n")).toEqual([]);
  });
});

describe("kinds that differ between minors", () => {
  const kubeSpan = "apiVersion: v1alpha1\nkind: KubeSpanConfig\nenabled: true\n";

  it("accepts KubeSpanConfig for 1.13", () => {
    expect(check(kubeSpan, "1.13")).toEqual([]);
  });

  it("rejects KubeSpanConfig for 1.12 and says where it exists", () => {
    const [problem] = check(kubeSpan, "1.12");
    expect(problem).toMatchObject({ severity: "error", path: "kind" });
    expect(problem.message).toContain("not a Talos 1.12 document kind (it exists in Talos 1.13)");
  });
});

describe("cost", () => {
  it("validates many small patches after the first compile", () => {
    const patches = Array.from({ length: 200 }, (_, i) => ({
      machine: {
        install: { disk: `/dev/sd${String.fromCharCode(97 + (i % 26))}` },
        nodeLabels: { n: `${i}` },
      },
    }));
    for (const [i, patch] of patches.entries()) {
      expect(validateTalosDocument(patch, { talosMinor: "1.13", where: `nodes[${i}].patches[0]` })).toEqual(
        [],
      );
    }
  });
});
