#!/usr/bin/env bash
# Dev-only: regenerates sdks/talos, the @pulumiverse/talos 0.8.1 Node.js SDK, with Pulumi's own codegen
# (`pulumi package gen-sdk`) from the provider's published schema (pulumiverse/pulumi-talos, tag v0.8.1,
# provider/cmd/pulumi-resource-talos/schema.json). The program imports it as `@pulumiverse/talos`; moving to
# the registry's package is the one-line change in package.json described in docs/configuration.md.
#   SCHEMA      the upstream schema (default ../shared/talos/pulumiverse-talos-provider-v0.8.1.schema.json)
#   PULUMI_CLI  the pulumi binary (default: built or found by ../shared/tools/pulumi-cli.sh)
# The schema as published carries no version; codegen pins the SDK's plugin to the schema's version, so the
# copy kept in sdks/talos.schema.json sets it to 0.8.1 (with the same pluginDownloadURL).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
version=0.8.1
schema=${SCHEMA:-$root/../shared/talos/pulumiverse-talos-provider-v$version.schema.json}
pulumi=${PULUMI_CLI:-$(bash "$root/../shared/tools/pulumi-cli.sh")}

node -e '
  const fs = require("fs");
  const [src, dst, version] = process.argv.slice(1);
  const schema = JSON.parse(fs.readFileSync(src, "utf8"));
  if (schema.pluginDownloadURL !== "github://api.github.com/pulumiverse") throw new Error("unexpected pluginDownloadURL");
  fs.writeFileSync(dst, JSON.stringify({ ...schema, version }, null, 2) + "\n");
' "$schema" sdks/talos.schema.json "$version"

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# gen-sdk asks the nodejs language plugin to generate; tools/nodejs-codegen-host is that plugin, reduced to
# GeneratePackage around Pulumi's own nodejs codegen (see its header), built with the CLI's module versions.
(cd tools/nodejs-codegen-host && go build -o "$out/bin/pulumi-language-nodejs" .)
PATH="$out/bin:$PATH" "$pulumi" package gen-sdk sdks/talos.schema.json --language nodejs --local --out "$out/sdk"
rm -rf sdks/talos
mv "$out/sdk/nodejs" sdks/talos
echo "generated sdks/talos from $(basename "$schema") (version $version)"
