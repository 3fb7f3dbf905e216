/* global process */
// Each workflow rule of workflow-rules.mjs, shown failing: the real workflows pass, and a copy of one that
// breaks a rule (one change each) gets that rule's message. Run by scripts/check-gitops.sh:
//   node --test .github/scripts/workflow-rules.test.mjs
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import YAML from "yaml";
import { actionProblems, scriptProblems, workflowProblems } from "./workflow-rules.mjs";

const root = process.cwd();
const read = (file) => fs.readFileSync(path.join(root, file), "utf8");
const documented = read("docs/continuous-deployment.md");
const workflows = fs.readdirSync(path.join(root, ".github/workflows")).map((f) => `.github/workflows/${f}`);

/** The problems of `file` after `change` edits its parsed form. */
function problemsAfter(file, change) {
  const wf = YAML.parse(read(file));
  change(wf);
  return workflowProblems(file, YAML.stringify(wf), documented);
}
const steps = (wf, job) => wf.jobs[job].steps;
const stepIndex = (wf, job, test) => steps(wf, job).findIndex(test);
const isPulumi = (s) => String(s.uses ?? "").startsWith("pulumi/actions@") && s.with?.command;
const isTalosctl = (s) => s.uses === "./.github/actions/talosctl";
function expectProblem(problems, pattern) {
  assert.ok(
    problems.some((p) => pattern.test(p)),
    `expected a problem matching ${pattern}, got:\n${problems.join("\n") || "(none)"}`,
  );
}

describe("the real workflows and actions", () => {
  for (const file of workflows) {
    it(`${file} follows every rule`, () =>
      assert.deepEqual(workflowProblems(file, read(file), documented), []));
  }
  it("the local actions follow every rule", () => {
    for (const dir of fs.readdirSync(path.join(root, ".github/actions"))) {
      const file = `.github/actions/${dir}/action.yml`;
      assert.deepEqual(actionProblems(file, read(file)), []);
    }
  });
});

describe("the state secrets", () => {
  it("reach a pull request's job only through the reviewed environment home-preview", () => {
    const none = problemsAfter(".github/workflows/preview.yml", (wf) => delete wf.jobs.preview.environment);
    expectProblem(none, /job preview: uses PULUMI_BACKEND_URL.*`environment: home-preview`/);
    const wrong = problemsAfter(
      ".github/workflows/preview.yml",
      (wf) => (wf.jobs.preview.environment = "home"),
    );
    expectProblem(wrong, /job preview: uses .*home-preview.*required reviewers/);
  });

  it("reach other jobs only through the environment home, written either way", () => {
    const none = problemsAfter(".github/workflows/drift.yml", (wf) => delete wf.jobs.drift.environment);
    expectProblem(none, /job drift: uses .*`environment: home` \(deployment branch: main\)/);
    const object = problemsAfter(
      ".github/workflows/deploy.yml",
      (wf) => (wf.jobs.deploy.environment = { name: "home" }),
    );
    assert.deepEqual(object, []);
  });

  it("go to the steps that need them, not the job's or the workflow's env", () => {
    const job = problemsAfter(".github/workflows/deploy.yml", (wf) => {
      wf.jobs.deploy.env.PULUMI_CONFIG_PASSPHRASE = "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}";
    });
    expectProblem(job, /job deploy: PULUMI_CONFIG_PASSPHRASE in the job's env reaches every step/);
    const workflow = problemsAfter(".github/workflows/drift.yml", (wf) => {
      wf.env = { AWS_ACCESS_KEY_ID: "${{ secrets.PULUMI_BACKEND_ACCESS_KEY_ID }}" };
    });
    expectProblem(workflow, /drift\.yml: PULUMI_BACKEND_ACCESS_KEY_ID in the workflow's env/);
  });

  it("are never handed to another action (npm ci and friends)", () => {
    const problems = problemsAfter(".github/workflows/deploy.yml", (wf) => {
      const prepare = steps(wf, "deploy").find((s) => s.uses === "./.github/actions/prepare");
      prepare.env = { PULUMI_CONFIG_PASSPHRASE: "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}" };
    });
    expectProblem(problems, /\.\/\.github\/actions\/prepare must not be given PULUMI_CONFIG_PASSPHRASE/);
  });

  it("and every secret used is documented", () => {
    const problems = problemsAfter(".github/workflows/deploy.yml", (wf) => {
      steps(wf, "deploy").at(-1).env.EXTRA = "${{ secrets.SOMETHING_ELSE }}";
    });
    expectProblem(problems, /secret SOMETHING_ELSE is not documented/);
  });
});

describe("talosctl", () => {
  for (const [file, job] of [
    [".github/workflows/deploy.yml", "deploy"],
    [".github/workflows/preview.yml", "preview"],
    [".github/workflows/drift.yml", "drift"],
    [".github/workflows/e2e.yml", "e2e"],
  ]) {
    it(`is installed by ${file} before anything drives the cluster`, () => {
      const missing = problemsAfter(file, (wf) => {
        wf.jobs[job].steps = steps(wf, job).filter((s) => !isTalosctl(s));
      });
      expectProblem(
        missing,
        new RegExp(`job ${job}: install talosctl with \`uses: ./.github/actions/talosctl\``),
      );
    });
  }
  it("is installed before, not after, the step that needs it", () => {
    const late = problemsAfter(".github/workflows/deploy.yml", (wf) => {
      const list = steps(wf, "deploy");
      const [installer] = list.splice(stepIndex(wf, "deploy", isTalosctl), 1);
      list.splice(stepIndex(wf, "deploy", isPulumi) + 1, 0, installer);
    });
    expectProblem(late, /job deploy: install talosctl/);
  });
});

describe("downloads", () => {
  it("from a release are checksum-verified, and never piped into a shell", () => {
    expectProblem(
      scriptProblems("x", "curl -sL https://talos.dev/install | sh"),
      /never pipe a download into a shell/,
    );
    expectProblem(
      scriptProblems(
        "x",
        "curl -fsSLo t https://github.com/siderolabs/talos/releases/download/v1.13.9/talosctl-linux-amd64",
      ),
      /must be verified with `sha256sum --check`/,
    );
    const viaVariable =
      'base=https://github.com/siderolabs/talos/releases/download/v1.13.9\ncurl -fsSLO "$base/talosctl"';
    expectProblem(scriptProblems("x", viaVariable), /must be verified with `sha256sum --check`/);
    assert.deepEqual(
      scriptProblems("x", `${viaVariable}\necho "$sum  talosctl" | sha256sum --check --strict`),
      [],
    );
    // The real installer passes, and fails the moment its check is taken out.
    const installer = read(".github/scripts/install-talosctl.sh");
    assert.deepEqual(scriptProblems("install-talosctl.sh", installer), []);
    expectProblem(
      scriptProblems("install-talosctl.sh", installer.replaceAll("sha256sum --check", "true")),
      /sha256sum --check/,
    );
    const inWorkflow = problemsAfter(".github/workflows/e2e.yml", (wf) => {
      steps(wf, "e2e").splice(2, 0, { name: "talosctl", run: "curl -sL https://talos.dev/install | sh" });
    });
    expectProblem(inWorkflow, /job e2e step talosctl: never pipe a download into a shell/);
    const inAction = YAML.parse(read(".github/actions/talosctl/action.yml"));
    inAction.runs.steps[0].run = "wget https://github.com/x/y/releases/download/v1/tool -O tool";
    expectProblem(actionProblems("talosctl/action.yml", YAML.stringify(inAction)), /sha256sum --check/);
  });
});

describe("stack secrets in the CI log and the preview comment", () => {
  it("are never shown decrypted: no --show-secrets, no show-secrets input, no pulumi config get", () => {
    const input = problemsAfter(".github/workflows/preview.yml", (wf) => {
      steps(wf, "preview").find(isPulumi).with["show-secrets"] = true;
    });
    expectProblem(input, /preview\.yml: never print secrets in a workflow/);
    const flag = problemsAfter(".github/workflows/deploy.yml", (wf) => {
      steps(wf, "deploy").push({ name: "show", run: "pulumi stack output kubeconfig --show-secrets" });
    });
    expectProblem(flag, /never print secrets/);
    const get = problemsAfter(".github/workflows/preview.yml", (wf) => {
      steps(wf, "preview").splice(1, 0, { name: "nodes", run: "pulumi config get nodes --stack home" });
    });
    expectProblem(get, /step nodes: `pulumi config get nodes --stack home` prints a secret decrypted/);
    const inAction = YAML.parse(read(".github/actions/prepare/action.yml"));
    inAction.runs.steps.at(-1).run += "\npulumi config get nodes >&2";
    expectProblem(
      actionProblems("prepare/action.yml", YAML.stringify(inAction)),
      /prints a secret decrypted/,
    );
    // Into a variable or a private file is not into the log; listing the config masks secrets, and previews
    // mask them in the comment: all stay allowed.
    for (const fine of [
      'v="$(pulumi config get homelab:talosVersion --stack home)"',
      'pulumi stack output kubeconfig --show-secrets --stack home >"$dir/kubeconfig"',
      "# without --show-secrets a secret prints as [secret]",
      "pulumi config --stack home",
    ]) {
      assert.deepEqual(scriptProblems("x", fine), [], fine);
    }
    expectProblem(
      scriptProblems("x", "pulumi stack output kubeconfig --show-secrets 2>&1"),
      /prints a secret/,
    );
  });
});

describe("labs", () => {
  it("are deleted whatever happens: a destroy step with if: always()", () => {
    const isDelete = (s) => /npm run lab -- destroy/.test(s.run ?? "");
    const gone = problemsAfter(".github/workflows/e2e.yml", (wf) => {
      wf.jobs.e2e.steps = steps(wf, "e2e").filter((s) => !isDelete(s));
    });
    expectProblem(gone, /job e2e: creates a lab: add a step `npm run lab -- destroy` with `if: always\(\)`/);
    const conditional = problemsAfter(".github/workflows/e2e.yml", (wf) => {
      delete steps(wf, "e2e").find(isDelete).if;
    });
    expectProblem(conditional, /creates a lab/);
  });
});

describe("the rules that were there before", () => {
  it("keep fork code off the self-hosted runner and pull_request_target out", () => {
    const fork = problemsAfter(".github/workflows/preview.yml", (wf) => delete wf.jobs.preview.if);
    expectProblem(fork, /runs pull request code on the self-hosted runner without `if:/);
    const target = problemsAfter(
      ".github/workflows/preview.yml",
      (wf) => (wf.on = { pull_request_target: {} }),
    );
    expectProblem(target, /pull_request_target runs pull request code with secrets/);
  });

  it("never cancel a deployment, and never grant write to the whole workflow", () => {
    const cancel = problemsAfter(
      ".github/workflows/deploy.yml",
      (wf) => (wf.concurrency["cancel-in-progress"] = true),
    );
    expectProblem(cancel, /deployments need a concurrency group with cancel-in-progress: false/);
    const write = problemsAfter(
      ".github/workflows/e2e.yml",
      (wf) => (wf.permissions = { contents: "write" }),
    );
    expectProblem(write, /write permissions belong on the job/);
  });
});
