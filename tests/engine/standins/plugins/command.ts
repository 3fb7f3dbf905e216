/** Plugin entry point of the `pulumi-resource-command` stand-in (see ../README.md). */
import { createCommandProvider } from "../command";
import { serve } from "../core/server";

serve(createCommandProvider());
