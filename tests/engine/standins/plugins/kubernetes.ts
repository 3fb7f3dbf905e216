/** Plugin entry point of the `pulumi-resource-kubernetes` stand-in (see ../README.md). */
import { serve } from "../core/server";
import { createKubernetesProvider } from "../kubernetes/provider";

serve(createKubernetesProvider());
