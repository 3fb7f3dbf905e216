import * as pulumi from "@pulumi/pulumi";
import type { Provider } from "@pulumi/kubernetes/provider";
import type { ClusterSpec, CniName } from "../config/spec";
import { installCalico } from "./calico";
import { installCilium } from "./cilium";
import type { CniInstaller } from "./types";

/** Talos deploys flannel itself when `cluster.network.cni.name` is left at its default. */
const installFlannel: CniInstaller = () => [];

const INSTALLERS: Record<CniName, CniInstaller> = {
  calico: installCalico,
  cilium: installCilium,
  flannel: installFlannel,
};

export interface ClusterNetworkArgs {
  /** The validated cluster spec; `spec.cni` picks the CNI (default calico). */
  readonly spec: ClusterSpec;
  /** Kubernetes provider for the new cluster (built from its admin kubeconfig). */
  readonly provider: Provider;
}

/** The pod network. Must follow bootstrap closely: with CNI `none`, nodes wait ~10 min for it, then reboot. */
export class ClusterNetwork extends pulumi.ComponentResource {
  /** Resources whose readiness means the CNI is up (empty for flannel, which Talos runs itself). */
  public readonly ready: pulumi.Resource[];

  constructor(name: string, args: ClusterNetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super("homelab:cni:ClusterNetwork", name, {}, opts);
    this.ready = INSTALLERS[args.spec.cni.name]({
      name,
      spec: args.spec,
      provider: args.provider,
      parent: this,
    });
    this.registerOutputs({});
  }
}
