/**
 * The shared core: the gRPC service as the engine sees it (Configure's answer, secrets through the Struct
 * encoding) and the journal's handling of provider configuration.
 */
import * as grpc from "@grpc/grpc-js";
import * as structproto from "google-protobuf/google/protobuf/struct_pb";
import * as provrpc from "@pulumi/pulumi/proto/provider_grpc_pb";
import * as provproto from "@pulumi/pulumi/proto/provider_pb";
import { describe, expect, it } from "vitest";
import { createKubernetesProvider, K8S_TOKENS } from "../kubernetes/provider";
import { TOKENS } from "../talos/plan";
import { createTalosProvider } from "../talos/provider";
import { base, urn, useWorkDir } from "../testing";
import { Dispatcher } from "./dispatch";
import { readJournal } from "./journal";
import { listen } from "./server";
import { isSecret, type WireMap } from "./wire";

const w = useWorkDir();

describe("gRPC service", () => {
  it("answers Configure with supportsPreview and keeps secrets wrapped through the Struct encoding", async () => {
    const { port, server } = await listen(createTalosProvider(w.env), w.env);
    const client = new provrpc.ResourceProviderClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const done =
      <T>(resolve: (r: T) => void, reject: (e: unknown) => void) =>
      (e: grpc.ServiceError | null, r: T) =>
        e ? reject(e) : resolve(r);
    try {
      const conf = await new Promise<provproto.ConfigureResponse>((res, rej) =>
        client.configure(new provproto.ConfigureRequest().setAcceptsecrets(true), done(res, rej)),
      );
      expect(conf.getSupportspreview() && conf.getAcceptsecrets()).toBe(true);
      const req = new provproto.CreateRequest()
        .setUrn(urn(TOKENS.secrets, "s"))
        .setType(TOKENS.secrets)
        .setProperties(structproto.Struct.fromJavaScript({}));
      const created = await new Promise<provproto.CreateResponse>((res, rej) =>
        client.create(req, done(res, rej)),
      );
      const outs = created.getProperties()!.toJavaScript() as WireMap;
      expect([created.getId(), isSecret((outs.clientConfiguration as WireMap).clientKey)]).toEqual([
        "machine_secrets",
        true,
      ]);
    } finally {
      client.close();
      server.forceShutdown();
    }
  });
});

describe("journal", () => {
  it("journals provider configuration from CheckConfig by key only (the engine sends it unwrapped)", async () => {
    await new Dispatcher(createKubernetesProvider(w.env), w.env).checkConfig({
      ...base(K8S_TOKENS.provider, "k"),
      olds: {},
      news: { kubeconfig: "top-secret-kubeconfig" },
      randomSeed: Buffer.alloc(0),
    });
    expect(readJournal(w.env.STANDIN_LOG!)[0].inputs).toEqual({ kubeconfig: "[config]" });
  });
});
