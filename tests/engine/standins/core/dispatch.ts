/**
 * Everything a stand-in does around its own decisions: one journal line per call (journal.ts), the injected
 * failures, and the defaults of RPCs a stand-in leaves out. The gRPC server (server.ts) calls only this, and the
 * unit tests call it directly, so what they check is what the engine talks to.
 */
import { record, takeInjectedFailure, type JournalEntry } from "./journal";
import type {
  CheckRequest,
  CheckResponse,
  CreateRequest,
  CreateResponse,
  DeleteRequest,
  DiffRequest,
  DiffResponse,
  InvokeRequest,
  InvokeResponse,
  ReadRequest,
  ReadResponse,
  StandinProvider,
  UpdateRequest,
} from "./provider";
import { changedKeys, type Wire, type WireMap } from "./wire";

export class Dispatcher {
  constructor(
    readonly provider: StandinProvider,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  private log(entry: Omit<JournalEntry, "provider">): void {
    record({ provider: this.provider.name, ...entry }, this.env);
  }

  /** Runs `fn`, journaling the call with its result, or with `failed: true` when it throws. */
  private async journaled<T>(
    entry: Omit<JournalEntry, "provider" | "result">,
    fn: () => Promise<T> | T,
    summarize: (r: T) => Wire | undefined = () => undefined,
  ): Promise<T> {
    try {
      const r = await fn();
      this.log({ ...entry, result: summarize(r) });
      return r;
    } catch (e) {
      // The message is not logged: a command's error carries its output, which may hold a secret.
      this.log({ ...entry, result: { failed: true } });
      throw e;
    }
  }

  checkConfig(req: CheckRequest): Promise<CheckResponse> {
    const p = this.provider;
    return this.journaled(
      { method: "checkConfig", token: req.type, urn: req.urn, inputs: configKeys(req.news) },
      () => (p.checkConfig ? p.checkConfig(req) : { inputs: req.news }),
      failuresOf,
    );
  }

  /** Default: changes but never a replacement, which is what the engine itself assumes when DiffConfig is
   * unimplemented (`provider_plugin.go` DiffConfig). `version` is the plugin version, not configuration. */
  diffConfig(req: DiffRequest): Promise<DiffResponse> {
    const p = this.provider;
    return this.journaled(
      { method: "diffConfig", token: req.type, urn: req.urn, inputs: configKeys(req.news) },
      () => {
        if (p.diffConfig) return p.diffConfig(req);
        const diffs = changedKeys(req.olds, req.news, ["version"]);
        return { changes: diffs.length > 0, diffs };
      },
      diffSummary,
    );
  }

  configure(args: WireMap): Promise<void> {
    const p = this.provider;
    return this.journaled({ method: "configure", inputs: args }, () => p.configure?.(args));
  }

  check(req: CheckRequest): Promise<CheckResponse> {
    return this.journaled(
      { method: "check", token: req.type, urn: req.urn, inputs: req.news },
      () => this.provider.check(req),
      failuresOf,
    );
  }

  diff(req: DiffRequest): Promise<DiffResponse> {
    return this.journaled(
      { method: "diff", token: req.type, urn: req.urn, id: req.id, inputs: req.news },
      () => this.provider.diff(req),
      diffSummary,
    );
  }

  create(req: CreateRequest): Promise<CreateResponse> {
    return this.journaled(
      { method: "create", token: req.type, urn: req.urn, preview: req.preview, inputs: req.news },
      () => {
        this.maybeFail(req.urn, req.type, req.news, req.preview);
        return this.provider.create(req);
      },
      (r) => ({ id: r.id }),
    );
  }

  update(req: UpdateRequest): Promise<WireMap> {
    return this.journaled(
      { method: "update", token: req.type, urn: req.urn, id: req.id, preview: req.preview, inputs: req.news },
      () => {
        this.maybeFail(req.urn, req.type, req.news, req.preview);
        return this.provider.update(req);
      },
    );
  }

  delete(req: DeleteRequest): Promise<void> {
    return this.journaled(
      { method: "delete", token: req.type, urn: req.urn, id: req.id, inputs: req.olds },
      () => this.provider.delete(req),
    );
  }

  /** Default: the state as it is, which is what the Node SDK's provider server answers without `read`. */
  read(req: ReadRequest): Promise<ReadResponse> {
    const p = this.provider;
    return this.journaled(
      { method: "read", token: req.type, urn: req.urn, id: req.id, inputs: req.inputs },
      () => (p.read ? p.read(req) : { id: req.id, outs: req.olds, inputs: req.inputs }),
    );
  }

  invoke(req: InvokeRequest): Promise<InvokeResponse> {
    const p = this.provider;
    return this.journaled(
      { method: "invoke", token: req.token, preview: req.preview, inputs: req.args },
      () => {
        if (!p.invoke) throw new Error(`unknown function ${req.token}`);
        return p.invoke(req);
      },
      failuresOf,
    );
  }

  private maybeFail(urn: string, type: string, news: WireMap, preview: boolean): void {
    if (preview || !takeInjectedFailure(urn, this.env)) return;
    this.log({ method: "injectedFailure", token: type, urn });
    throw new Error(this.provider.injectedFailure(type, news));
  }
}

/**
 * Provider configuration as CheckConfig and DiffConfig get it: the engine marshals it there without
 * KeepSecrets (`provider_plugin.go` CheckConfig/DiffConfig), so a secret (a kubeconfig) arrives in clear and
 * cannot be told apart. The journal keeps only the keys; Configure, which gets the secrets wrapped, logs values.
 */
function configKeys(news: WireMap): Wire {
  return Object.fromEntries(Object.keys(news).map((k) => [k, "[config]"]));
}

function failuresOf(r: { failures?: { property: string; reason: string }[] }): Wire | undefined {
  return r.failures && r.failures.length > 0 ? { failures: r.failures.map((f) => f.property) } : undefined;
}

function diffSummary(r: DiffResponse): Wire {
  return { changes: r.changes, diffs: r.diffs ?? [], replaces: r.replaces ?? [] };
}
