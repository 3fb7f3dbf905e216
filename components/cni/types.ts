import type { Provider } from "@pulumi/kubernetes/provider";
import type * as pulumi from "@pulumi/pulumi";
import type { ClusterSpec } from "../config/spec";

/** What every CNI installer gets: the spec and a provider bound to the new cluster's kubeconfig. */
export interface CniContext {
  readonly name: string;
  readonly spec: ClusterSpec;
  readonly provider: Provider;
  readonly parent: pulumi.Resource;
}

/** Registers a CNI's resources and returns those whose readiness means "pods can network". */
export type CniInstaller = (ctx: CniContext) => pulumi.Resource[];
