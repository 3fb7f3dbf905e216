// The project's own rules for its GitHub workflows, as pure functions of a workflow's text (YAML parsed here),
// so that .github/scripts/validate-gitops.mjs runs them on the real files and workflow-rules.test.mjs shows
// each rule failing on a workflow that breaks it. Each problem is one line: "<where>: <what to fix>".
import YAML from "yaml";

export const SELF_HOSTED = ["self-hosted", "linux", "x64", "homelab"];
export const FORK_GUARD = "github.event.pull_request.head.repo.full_name == github.repository";
export const PULUMI_ACTION = "pulumi/actions";
export const PULUMI_VERSION_FILE = ".github/pulumi-version";
/** The secrets that open the state backend and decrypt the stack's secrets (the keys to the cluster). */
export const STATE_SECRETS = [
  "PULUMI_BACKEND_URL",
  "PULUMI_CONFIG_PASSPHRASE",
  "PULUMI_BACKEND_ACCESS_KEY_ID",
  "PULUMI_BACKEND_SECRET_ACCESS_KEY",
];
/**
 * The GitHub environments that hold those secrets: pull requests get them only through `home-preview`
 * (required reviewers approve each run), everything else through `home` (deployment branch: main).
 */
export const ENVIRONMENTS = { pullRequest: "home-preview", main: "home" };
export const TALOSCTL_ACTION = "./.github/actions/talosctl";

const asList = (v) => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
const triggers = (wf) =>
  typeof wf.on === "string" ? [wf.on] : Array.isArray(wf.on) ? wf.on : Object.keys(wf.on ?? {});
const stateSecretsIn = (value) =>
  STATE_SECRETS.filter((s) => new RegExp(`secrets\\.${s}\\b`).test(JSON.stringify(value ?? "")));
const runOf = (step) => String(step.run ?? "");
/** Steps that drive the cluster or the lab: this program, its checks, `npm run lab` (all need talosctl). */
const drivesCluster = (step) =>
  (String(step.uses ?? "").startsWith(`${PULUMI_ACTION}@`) && step.with?.command !== undefined) ||
  /\bnpm run (up|acceptance|lab)\b|post-deploy-check\.sh|e2e-round\.sh|\bpulumi (up|preview|destroy|refresh)\b/.test(
    runOf(step),
  );

/**
 * Rules for a shell script run by CI (a workflow `run:`, a composite action step, or a .github/scripts file):
 * a binary downloaded from a release is checked against a published checksum, nothing downloaded is piped
 * into a shell, and no stack secret is printed into the log.
 */
export function scriptProblems(where, script) {
  const problems = [];
  // A value set with `pulumi config set --secret` is shown decrypted by `config get` and `--show-secrets`; a
  // CI log (and a preview comment) is readable by everyone with access to the repository. Such a command may
  // only hand its output to a variable (`$(...)`) or a file (`> "$dir/kubeconfig"`), never to the log.
  for (const line of script.split("\n")) {
    if (/^\s*#/.test(line)) continue;
    const reveals = /--show-secrets\b/.test(line) || /\bpulumi\s+config\s+get\b/.test(line);
    const captured = /\$\(\s*pulumi\b/.test(line) || />\s*(?!&)\S/.test(line.replace(/\d?>&\d/g, ""));
    if (reveals && !captured) {
      problems.push(
        `${where}: \`${line.trim()}\` prints a secret decrypted into the CI log (--show-secrets / pulumi config get): capture it in a variable or write it to a private file`,
      );
    }
  }
  if (/\b(curl|wget)\b[^\n|]*\|\s*(sudo\s+)?(ba|z)?sh\b/.test(script)) {
    problems.push(
      `${where}: never pipe a download into a shell; download it, verify its checksum, then run it`,
    );
  }
  // The URL may sit in a variable: any script that downloads and names a release download must verify it.
  const download = /\b(curl|wget)\b/.test(script) && /releases\/download/.test(script);
  if (download && !/sha256sum\s+(--check|-c)\b/.test(script)) {
    problems.push(
      `${where}: a release download must be verified with \`sha256sum --check\` against the release's checksums`,
    );
  }
  return problems;
}

/** Every rule for one workflow file; `documented` is the text that must name each secret it uses. */
export function workflowProblems(file, text, documented = "") {
  const problems = [];
  const problem = (where, message) => problems.push(`${where}: ${message}`);
  const wf = YAML.parse(text) ?? {};
  const on = triggers(wf);

  if (wf.permissions === undefined) {
    problem(file, "set top-level `permissions` (least privilege: `{}` or read-only)");
  } else if (wf.permissions === "write-all" || Object.values(wf.permissions ?? {}).includes("write")) {
    problem(file, "write permissions belong on the job that needs them, not the whole workflow");
  }
  if (on.includes("pull_request_target")) {
    problem(file, "pull_request_target runs pull request code with secrets; use pull_request");
  }
  for (const secret of new Set([...text.matchAll(/secrets\.([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]))) {
    if (secret !== "GITHUB_TOKEN" && !documented.includes(`\`${secret}\``)) {
      problem(file, `secret ${secret} is not documented in docs/continuous-deployment.md`);
    }
  }
  // The flag anywhere, or the pulumi/actions input of the same name.
  if (/--show-secrets|^\s*show-secrets\s*:\s*["']?true/m.test(text)) {
    problem(file, "never print secrets in a workflow (--show-secrets / show-secrets: true)");
  }
  for (const s of stateSecretsIn(wf.env)) {
    problem(file, `${s} in the workflow's env reaches every step: pass it only to the steps that need it`);
  }

  for (const [id, job] of Object.entries(wf.jobs ?? {})) {
    const where = `${file} job ${id}`;
    const labels = asList(job["runs-on"]);
    const selfHosted = labels.includes("self-hosted");
    const steps = job.steps ?? [];
    if (selfHosted && JSON.stringify(labels) !== JSON.stringify(SELF_HOSTED)) {
      problem(where, `self-hosted jobs run on exactly ${JSON.stringify(SELF_HOSTED)}`);
    }
    if (selfHosted && on.includes("pull_request") && !String(job.if ?? "").includes(FORK_GUARD)) {
      problem(where, `runs pull request code on the self-hosted runner without \`if: ${FORK_GUARD}\``);
    }
    if (job.permissions === "write-all") problem(where, "write-all: grant only the scopes the job needs");

    // The state secrets: only from a protected environment, and only in the steps that need them.
    const used = stateSecretsIn(job);
    const environment = typeof job.environment === "object" ? job.environment?.name : job.environment;
    const wanted = on.includes("pull_request") ? ENVIRONMENTS.pullRequest : ENVIRONMENTS.main;
    if (used.length > 0 && environment !== wanted) {
      problem(
        where,
        `uses ${used.join(", ")}: keep them in the GitHub environment \`${wanted}\` and set \`environment: ${wanted}\`` +
          (on.includes("pull_request")
            ? " (required reviewers approve each run)"
            : " (deployment branch: main)"),
      );
    }
    for (const s of stateSecretsIn(job.env)) {
      problem(
        where,
        `${s} in the job's env reaches every step (npm ci included): pass it to the steps that need it`,
      );
    }
    for (const step of steps) {
      const uses = String(step.uses ?? "");
      const stepWhere = `${where} step ${step.name ?? (uses || "run")}`;
      if (uses && !uses.startsWith(`${PULUMI_ACTION}@`)) {
        for (const s of stateSecretsIn(step)) problem(stepWhere, `${uses} must not be given ${s}`);
      }
      if (step.run !== undefined) problems.push(...scriptProblems(stepWhere, runOf(step)));
    }

    // talosctl comes from the workflow, checksum-verified, before anything drives the cluster.
    const firstDriver = steps.findIndex(drivesCluster);
    const installer = steps.findIndex((s) => s.uses === TALOSCTL_ACTION);
    if (firstDriver >= 0 && (installer < 0 || installer > firstDriver)) {
      problem(
        where,
        `install talosctl with \`uses: ${TALOSCTL_ACTION}\` before the first step that drives the cluster`,
      );
    }
    // A lab made by `npm run lab` is deleted whatever happens.
    const createsLab = steps.some((s) => /\bnpm run lab\b(?!\s+--\s+(destroy|stack)\b)/.test(runOf(s)));
    const deletesLab = steps.some(
      (s) => /\bnpm run lab -- destroy\b/.test(runOf(s)) && /\balways\(\)/.test(String(s.if ?? "")),
    );
    if (createsLab && !deletesLab) {
      problem(where, "creates a lab: add a step `npm run lab -- destroy` with `if: always()`");
    }

    for (const step of steps) {
      if (!String(step.uses ?? "").startsWith(`${PULUMI_ACTION}@`)) continue;
      const w = step.with ?? {};
      const stepWhere = `${where} step ${step.name ?? step.uses}`;
      if (w["pulumi-version"] !== undefined || w["pulumi-version-file"] !== PULUMI_VERSION_FILE) {
        problem(
          stepWhere,
          `take the Pulumi CLI version from pulumi-version-file: ${PULUMI_VERSION_FILE} only`,
        );
      }
      if (w.command === undefined) continue;
      if (w["stack-name"] !== "home") problem(stepWhere, "operate on the home stack");
      if (w.policyPacks !== "policy" || !w.policyPackConfigs) {
        problem(stepWhere, "run with policyPacks: policy and the generated policyPackConfigs");
      }
      if (w["suppress-outputs"] !== true) problem(stepWhere, "set suppress-outputs: true");
      if (w.command === "preview" && on.includes("pull_request") && w["comment-on-pr"] !== true) {
        problem(stepWhere, "post the preview on the pull request (comment-on-pr: true)");
      }
      if (["up", "update", "destroy", "refresh"].includes(w.command)) {
        const concurrency = job.concurrency ?? wf.concurrency;
        if (!concurrency || concurrency["cancel-in-progress"] !== false || !concurrency.group) {
          problem(stepWhere, "deployments need a concurrency group with cancel-in-progress: false");
        } else if (/\$\{\{/.test(String(concurrency.group))) {
          problem(stepWhere, "the deployment concurrency group must be one fixed name for the stack");
        }
        if (on.includes("pull_request"))
          problem(stepWhere, `\`${w.command}\` must never run on a pull request`);
      }
    }
  }
  return problems;
}

/** Rules for a composite action (action.yml): the scripts its steps run. */
export function actionProblems(file, text) {
  const action = YAML.parse(text) ?? {};
  return (action.runs?.steps ?? []).flatMap((step, i) =>
    step.run === undefined ? [] : scriptProblems(`${file} step ${step.name ?? i + 1}`, String(step.run)),
  );
}
