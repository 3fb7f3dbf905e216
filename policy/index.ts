/**
 * The homelab policy pack. `pulumi preview` and `pulumi up` run it with `--policy-pack policy` (the workflows
 * always do; run it locally the same way). Every rule is mandatory: a violation fails the preview or stops the
 * deployment before the offending resource is touched. The rules live in `rules/`, listed in `rules/policies.ts`.
 */
import { PolicyPack } from "@pulumi/policy";
import { policies } from "./rules/policies";

new PolicyPack("homelab", {
  description: "Protects the homelab Talos/Kubernetes cluster whatever the Pulumi program does.",
  enforcementLevel: "mandatory",
  policies,
});
