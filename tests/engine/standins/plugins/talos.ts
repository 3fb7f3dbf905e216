/** Plugin entry point of the `pulumi-resource-talos` stand-in (see ../README.md). */
import { serve } from "../core/server";
import { createTalosProvider } from "../talos/provider";

serve(createTalosProvider());
