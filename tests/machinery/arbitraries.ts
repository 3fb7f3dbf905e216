/**
 * fast-check generators of whole stacks (the decoded `homelab:*` settings): roles, CNIs, VIPs, install
 * disks and selectors, extensions, role defaults, and patches stack-wide, per role and per node, for
 * Talos 1.12 and 1.13. Every stack is structurally valid; whether Talos accepts what it becomes is for
 * the program's checks and the machinery to say, and the tests hold them to the same verdict.
 */
import fc from "fast-check";

type Doc = Record<string, unknown>;

const diskPath = fc.constantFrom("/dev/sda", "/dev/sdb", "/dev/nvme0n1", "/dev/vda");
const diskSelector = fc
  .record(
    {
      type: fc.constantFrom("ssd", "hdd", "nvme", "sd"),
      size: fc.constantFrom(">= 100GB", "<= 2TB", "500GB"),
      model: fc.constantFrom("Samsung*", "WDC*"),
      serial: fc.constantFrom("S4EVNX0N*", "WD-1234"),
      wwid: fc.constantFrom("naa.5000*", "eui.0025*"),
      busPath: fc.constantFrom("/pci0000:00/*", "/pci0000:00/0000:00:17.0/*"),
      uuid: fc.constantFrom("f0e1*"),
      modalias: fc.constantFrom("scsi:t-0x00"),
    },
    { requiredKeys: [] },
  )
  .filter((s) => Object.keys(s).length > 0);
const labelKey = fc.oneof(
  {
    weight: 12,
    arbitrary: fc.constantFrom("zone", "homelab.example/storage", "topology.kubernetes.io/zone"),
  },
  { weight: 1, arbitrary: fc.constantFrom("bad key", "-zone", "a/b/c") },
);
const labelValue = fc.oneof(
  { weight: 12, arbitrary: fc.constantFrom("a", "b", "rack-1", "") },
  { weight: 1, arbitrary: fc.constantFrom("x y", "-a", "a".repeat(64)) },
);
/** Labels as patches set them, now and then ones Kubernetes refuses. */
const labels = fc.dictionary(labelKey, labelValue, { maxKeys: 2 });
/** Labels as the stack settings take them (the stack schema refuses invalid ones, as Talos would). */
const settingLabels = fc.dictionary(
  fc.constantFrom("zone", "homelab.example/storage", "topology.kubernetes.io/zone"),
  fc.constantFrom("a", "b", "rack-1", ""),
  { maxKeys: 2 },
);
const taints = fc.dictionary(
  fc.constantFrom("dedicated", "gpu"),
  fc.constantFrom("storage:NoSchedule", "true:NoExecute", "x:PreferNoSchedule"),
  { maxKeys: 1 },
);

/** Patches a homelab operator writes at any level: common ones often, ones Talos refuses now and then. */
const anyLevelPatch: fc.Arbitrary<Doc> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .dictionary(
        fc.constantFrom("vm.max_map_count", "net.core.somaxconn"),
        fc.constantFrom("262144", "1024"),
        {
          minKeys: 1,
          maxKeys: 2,
        },
      )
      .map((sysctls) => ({ machine: { sysctls } })),
  },
  {
    weight: 4,
    arbitrary: labels
      .filter((l) => Object.keys(l).length > 0)
      .map((nodeLabels) => ({ machine: { nodeLabels } })),
  },
  {
    weight: 4,
    arbitrary: fc
      .constantFrom("110", "150")
      .map((v) => ({ machine: { kubelet: { extraArgs: { "max-pods": v } } } })),
  },
  { weight: 3, arbitrary: diskPath.map((disk) => ({ machine: { install: { disk } } })) },
  { weight: 3, arbitrary: diskSelector.map((diskSelector) => ({ machine: { install: { diskSelector } } })) },
  { weight: 3, arbitrary: fc.constant({ apiVersion: "v1alpha1", kind: "HostnameConfig", auto: "stable" }) },
  { weight: 3, arbitrary: fc.constant({ machine: { time: { servers: ["time.cloudflare.com"] } } }) },
  {
    weight: 2,
    arbitrary: fc.constant({
      machine: { registries: { mirrors: { "docker.io": { endpoints: ["https://mirror.example"] } } } },
    }),
  },
  { weight: 2, arbitrary: fc.constant({ machine: { network: { nameservers: ["1.1.1.1"] } } }) },
  {
    weight: 2,
    arbitrary: fc.constant({
      apiVersion: "v1alpha1",
      kind: "TimeSyncConfig",
      ntp: { servers: ["pool.ntp.org"] },
    }),
  },
  {
    weight: 2,
    arbitrary: fc.constant({
      machine: { network: { interfaces: [{ interface: "eth0", dhcp: true, vip: { ip: "192.168.1.250" } }] } },
    }),
  },
  {
    weight: 1,
    arbitrary: fc.constant({
      machine: { network: { interfaces: [{ interface: "eth1", cidr: "10.10.0.5/24" }] } },
    }),
  },
  {
    weight: 1,
    arbitrary: fc.boolean().map((keepUki) => ({
      machine: {
        install: { extraKernelArgs: ["console=ttyS0"], ...(keepUki ? {} : { grubUseUKICmdline: false }) },
      },
    })),
  },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom("flannel", "none")
      .map((name) => ({ cluster: { network: { cni: { name } } } })),
  },
  { weight: 1, arbitrary: fc.boolean().map((disabled) => ({ cluster: { proxy: { disabled } } })) },
  { weight: 2, arbitrary: fc.boolean().map((v) => ({ cluster: { allowSchedulingOnControlPlanes: v } })) },
  // No cluster.network.podSubnets/serviceSubnets: the program refuses them in a patch (the setting owns them,
  // the CNI reads it; tests/config-cluster-network.test.ts), a policy of its own, not a Talos refusal.
  {
    weight: 1,
    arbitrary: fc.constant({ machine: { install: { image: "ghcr.io/siderolabs/installer:v1.13.0" } } }),
  },
  { weight: 1, arbitrary: fc.constant({ machine: { nodeLabels: { zone: { $patch: "delete" } } } }) },
  { weight: 1, arbitrary: fc.constant({ machine: { install: { diskSelector: { name: "/dev/sda" } } } }) },
  { weight: 1, arbitrary: fc.constant({ machine: { instal: { disk: "/dev/sda" } } }) },
  { weight: 1, arbitrary: fc.constant({ machine: { install: { disk: 5 } } }) },
);

/** Patches that only make sense for one machine. */
const nodeOnlyPatch: fc.Arbitrary<Doc> = fc.oneof(
  fc
    .constantFrom("kube-a", "kube-b")
    .map((hostname) => ({ apiVersion: "v1alpha1", kind: "HostnameConfig", hostname })),
  fc.constant({ apiVersion: "v1alpha1", kind: "Layer2VIPConfig", name: "192.168.1.251", link: "eth0" }),
);

const patches = (arb: fc.Arbitrary<Doc>) =>
  fc.oneof(
    { weight: 2, arbitrary: fc.constant([]) },
    { weight: 3, arbitrary: fc.array(arb, { minLength: 1, maxLength: 2 }) },
  );

const nodeSettings = fc.record(
  {
    hostnameSuffix: fc.constantFrom("-h", "", "", ""),
    installDisk: diskPath,
    installDiskSelector: diskSelector,
    labels: settingLabels,
    taints,
    patches: patches(
      fc.oneof({ weight: 3, arbitrary: anyLevelPatch }, { weight: 1, arbitrary: nodeOnlyPatch }),
    ),
  },
  { requiredKeys: [] },
);

const roleDefaults = fc.record(
  { installDisk: diskPath, installDiskSelector: diskSelector, labels: settingLabels, taints },
  { requiredKeys: [] },
);

/** Drops the second of installDisk/installDiskSelector: the stack schema already refuses both. */
function oneDisk<T extends { installDisk?: unknown; installDiskSelector?: unknown }>(s: T): T {
  if (s.installDisk === undefined || s.installDiskSelector === undefined) return s;
  const { installDiskSelector: _dropped, ...rest } = s;
  return rest as T;
}

const version = fc.constantFrom(
  { talosVersion: "v1.13.9", kubernetesVersion: "1.36.0" },
  { talosVersion: "v1.12.6", kubernetesVersion: "1.35.0" },
);

const cni = fc.oneof(
  fc.constantFrom("calico", "flannel"),
  fc.boolean().map((kubeProxyReplacement) => ({ name: "cilium", kubeProxyReplacement })),
);

const vip = fc.option(
  fc.oneof(
    fc.constant({ address: "192.168.1.30", link: "enp1s0" }),
    fc.constant({ address: "192.168.1.30", linkMatch: 'mac(link.permanent_addr) == "00:1a:2b:33:44:55"' }),
  ),
  { nil: undefined },
);

/** A structurally valid stack of 1–3 control planes and 0–3 workers. */
export const stackArb: fc.Arbitrary<Record<string, unknown>> = fc
  .record({
    version,
    cni,
    vip,
    extensions: fc.subarray(["siderolabs/iscsi-tools", "siderolabs/util-linux-tools"]),
    // 1 or 3: the program refuses 2 control planes (etcd quorum; components/config/checks.ts).
    controlPlanes: fc.oneof(
      fc.array(nodeSettings, { minLength: 1, maxLength: 1 }),
      fc.array(nodeSettings, { minLength: 3, maxLength: 3 }),
    ),
    workers: fc.array(nodeSettings, { maxLength: 3 }),
    roles: fc.record({ controlplane: roleDefaults, worker: roleDefaults }, { requiredKeys: [] }),
    patches: fc.record(
      { all: patches(anyLevelPatch), controlplane: patches(anyLevelPatch), worker: patches(anyLevelPatch) },
      { requiredKeys: [] },
    ),
    allowSchedulingOnControlPlanes: fc.option(fc.boolean(), { nil: undefined }),
  })
  .map((s) => {
    const node = (role: string, i: number, n: (typeof s.controlPlanes)[number]) => {
      const name = `${role === "controlplane" ? "cp" : "w"}-${i + 1}`;
      const { hostnameSuffix, ...rest } = oneDisk(n);
      return {
        name,
        address: `192.168.1.${role === "controlplane" ? 10 + i : 20 + i}`,
        role,
        ...(hostnameSuffix ? { hostname: `${name}${hostnameSuffix}` } : {}),
        ...rest,
      };
    };
    // Role settings and patches for a role without nodes reach no machine: the machinery cannot judge them.
    const present = (r: string) => r !== "worker" || s.workers.length > 0;
    const roles = Object.fromEntries(
      Object.entries(s.roles)
        .filter(([r]) => present(r))
        .map(([r, d]) => [r, oneDisk(d)]),
    );
    const stackPatches = Object.fromEntries(Object.entries(s.patches).filter(([r]) => present(r)));
    return {
      ...s.version,
      cni: s.cni,
      ...(s.vip ? { vip: s.vip } : {}),
      ...(s.extensions.length > 0 ? { extensions: s.extensions } : {}),
      nodes: [
        ...s.controlPlanes.map((n, i) => node("controlplane", i, n)),
        ...s.workers.map((n, i) => node("worker", i, n)),
      ],
      roles,
      patches: stackPatches,
      ...(s.allowSchedulingOnControlPlanes === undefined
        ? {}
        : { allowSchedulingOnControlPlanes: s.allowSchedulingOnControlPlanes }),
    };
  });
