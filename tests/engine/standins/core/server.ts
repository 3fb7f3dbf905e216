/**
 * The gRPC ResourceProvider service the Pulumi engine talks to, for one stand-in.
 *
 * Why not `@pulumi/pulumi/provider`'s `main()`: its server (provider/server.js in @pulumi/pulumi 3.248.0) drops
 * what these stand-ins must see to answer as the real providers do. Its Configure ignores the provider's
 * configuration and never reports `supportsPreview`, so the engine never calls Create/Update in a preview and
 * the stand-in could not return the planned state with unknowns the real providers return; its Create/Update
 * hide the `preview` flag; CheckConfig/DiffConfig answer UNIMPLEMENTED, so the Kubernetes provider's
 * replace-on-cluster-change could not be imitated. This server uses the same generated protobuf and gRPC
 * modules (`@pulumi/pulumi/proto/provider_*`) and the same start-up contract: listen on 127.0.0.1, print the
 * port on stdout, answer until killed.
 *
 * Configure answers like the real plugins: acceptSecrets, acceptResources, supportsPreview (the terraform
 * bridge, pulumi-go-provider and pulumi-kubernetes all set these). Handshake is left UNIMPLEMENTED, so the
 * engine falls back to Configure's answer (`provider_plugin.go` handshake()).
 */
import * as grpc from "@grpc/grpc-js";
import * as emptyproto from "google-protobuf/google/protobuf/empty_pb";
import * as structproto from "google-protobuf/google/protobuf/struct_pb";
import * as pluginproto from "@pulumi/pulumi/proto/plugin_pb";
import * as provrpc from "@pulumi/pulumi/proto/provider_grpc_pb";
import * as provproto from "@pulumi/pulumi/proto/provider_pb";
import { Dispatcher } from "./dispatch";
import type { CheckFailure, DiffResponse, StandinProvider } from "./provider";
import { toWire, type WireMap } from "./wire";

function fromStruct(s: structproto.Struct | undefined): WireMap {
  return (s?.toJavaScript() ?? {}) as WireMap;
}

function toStruct(m: WireMap): structproto.Struct {
  return structproto.Struct.fromJavaScript(toWire(m) as Record<string, structproto.JavaScriptValue>);
}

function failureList(failures: CheckFailure[] | undefined): provproto.CheckFailure[] {
  return (failures ?? []).map((f) =>
    new provproto.CheckFailure().setProperty(f.property).setReason(f.reason),
  );
}

function diffResponse(d: DiffResponse): provproto.DiffResponse {
  const r = new provproto.DiffResponse();
  r.setChanges(
    d.changes ? provproto.DiffResponse.DiffChanges.DIFF_SOME : provproto.DiffResponse.DiffChanges.DIFF_NONE,
  );
  r.setDiffsList(d.diffs ?? []);
  r.setReplacesList(d.replaces ?? []);
  r.setDeletebeforereplace(d.deleteBeforeReplace ?? false);
  return r;
}

/** The handlers, by RPC name; each decodes its request, asks the dispatcher, encodes the answer. */
export function serviceImplementation(d: Dispatcher): grpc.UntypedServiceImplementation {
  const p = d.provider;
  const unary =
    <Req>(fn: (req: Req) => Promise<unknown> | unknown): grpc.handleUnaryCall<Req, unknown> =>
    (call, callback): void => {
      Promise.resolve()
        .then(() => fn(call.request))
        .then(
          (res) => callback(null, res),
          (e: unknown) => {
            const message = e instanceof Error ? e.message : String(e);
            callback({ code: grpc.status.UNKNOWN, details: message, message } as grpc.ServiceError);
          },
        );
    };
  const checkReq = (r: provproto.CheckRequest) => ({
    urn: r.getUrn(),
    type: r.getType(),
    name: r.getName(),
    olds: fromStruct(r.getOlds()),
    news: fromStruct(r.getNews()),
    randomSeed: Buffer.from(r.getRandomseed_asU8()),
  });
  const diffReq = (r: provproto.DiffRequest) => ({
    urn: r.getUrn(),
    type: r.getType(),
    name: r.getName(),
    id: r.getId(),
    olds: fromStruct(r.getOlds()),
    oldInputs: fromStruct(r.getOldInputs()),
    news: fromStruct(r.getNews()),
    ignoreChanges: r.getIgnorechangesList(),
  });
  const checkRes = async (res: Promise<{ inputs: WireMap; failures?: CheckFailure[] }>) => {
    const c = await res;
    return new provproto.CheckResponse()
      .setInputs(toStruct(c.inputs))
      .setFailuresList(failureList(c.failures));
  };
  return {
    getPluginInfo: unary(() => new pluginproto.PluginInfo().setVersion(p.version)),
    getSchema: unary((r: provproto.GetSchemaRequest) => {
      if (r.getVersion() !== 0) throw new Error(`unsupported schema version ${r.getVersion()}`);
      return new provproto.GetSchemaResponse().setSchema(p.schema());
    }),
    cancel: unary(() => new emptyproto.Empty()),
    attach: unary(() => new emptyproto.Empty()),
    checkConfig: unary((r: provproto.CheckRequest) => checkRes(d.checkConfig(checkReq(r)))),
    diffConfig: unary(async (r: provproto.DiffRequest) => diffResponse(await d.diffConfig(diffReq(r)))),
    configure: unary(async (r: provproto.ConfigureRequest) => {
      // `args` carries secrets and nested values as given; `variables` is the older flattened form.
      const args: WireMap = r.hasArgs()
        ? fromStruct(r.getArgs())
        : Object.fromEntries(r.getVariablesMap().getEntryList());
      await d.configure(args);
      return new provproto.ConfigureResponse()
        .setAcceptsecrets(true)
        .setAcceptresources(true)
        .setSupportspreview(true)
        .setAcceptoutputs(false);
    }),
    check: unary((r: provproto.CheckRequest) => checkRes(d.check(checkReq(r)))),
    diff: unary(async (r: provproto.DiffRequest) => diffResponse(await d.diff(diffReq(r)))),
    create: unary(async (r: provproto.CreateRequest) => {
      const c = await d.create({
        urn: r.getUrn(),
        type: r.getType(),
        name: r.getName(),
        news: fromStruct(r.getProperties()),
        preview: r.getPreview(),
        timeout: r.getTimeout(),
      });
      return new provproto.CreateResponse().setId(c.id).setProperties(toStruct(c.outs));
    }),
    read: unary(async (r: provproto.ReadRequest) => {
      const c = await d.read({
        urn: r.getUrn(),
        type: r.getType(),
        id: r.getId(),
        olds: fromStruct(r.getProperties()),
        inputs: fromStruct(r.getInputs()),
      });
      return new provproto.ReadResponse()
        .setId(c.id)
        .setProperties(toStruct(c.outs))
        .setInputs(toStruct(c.inputs));
    }),
    update: unary(async (r: provproto.UpdateRequest) => {
      const outs = await d.update({
        urn: r.getUrn(),
        type: r.getType(),
        name: r.getName(),
        id: r.getId(),
        olds: fromStruct(r.getOlds()),
        oldInputs: fromStruct(r.getOldInputs()),
        news: fromStruct(r.getNews()),
        preview: r.getPreview(),
        ignoreChanges: r.getIgnorechangesList(),
      });
      return new provproto.UpdateResponse().setProperties(toStruct(outs));
    }),
    delete: unary(async (r: provproto.DeleteRequest) => {
      await d.delete({
        urn: r.getUrn(),
        type: r.getType(),
        name: r.getName(),
        id: r.getId(),
        olds: fromStruct(r.getProperties()),
        oldInputs: fromStruct(r.getOldInputs()),
      });
      return new emptyproto.Empty();
    }),
    invoke: unary(async (r: provproto.InvokeRequest) => {
      const res = await d.invoke({
        token: r.getTok(),
        args: fromStruct(r.getArgs()),
        preview: r.getPreview(),
      });
      return new provproto.InvokeResponse()
        .setReturn(toStruct(res.outputs))
        .setFailuresList(failureList(res.failures));
    }),
  };
}

/** Starts the server on 127.0.0.1 and resolves to its port. */
export async function listen(
  provider: StandinProvider,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{
  port: number;
  server: grpc.Server;
}> {
  const server = new grpc.Server({ "grpc.max_receive_message_length": 400 * 1024 * 1024 });
  server.addService(provrpc.ResourceProviderService, serviceImplementation(new Dispatcher(provider, env)));
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  return { port, server };
}

/** Plugin entry point: serve, and tell the engine the port (the only thing this process prints on stdout). */
export function serve(provider: StandinProvider): void {
  listen(provider).then(
    ({ port }) => process.stdout.write(`${port}\n`),
    (e: unknown) => {
      process.stderr.write(`stand-in ${provider.name}: ${String(e)}\n`);
      process.exit(1);
    },
  );
}
