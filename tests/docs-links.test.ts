/**
 * The documentation holds together: every relative link and `#anchor` in README.md and docs/ resolves to a
 * file and a heading, every page in docs/ is reachable from the README, and the README stays short enough to
 * read in five minutes (under 200 lines, no line over 120 characters outside code blocks).
 *
 * Anchors follow GitHub's rendering (its `github-slugger`): the heading's text, lower-cased, with punctuation
 * removed and each space turned into `-`; a repeated heading gets `-1`, `-2`, ... appended.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = path.join(__dirname, "..");
const README = path.join(ROOT, "README.md");
const DOCS = path.join(ROOT, "docs");

interface Link {
  line: number;
  target: string;
}

/** The lines of a Markdown file that are prose, i.e. not inside a fenced code block (``` or ~~~). */
function proseLines(text: string): { line: number; text: string }[] {
  const out: { line: number; text: string }[] = [];
  let fence: string | undefined;
  text.split("\n").forEach((line, i) => {
    const m = /^ {0,3}(`{3,}|~{3,})/.exec(line);
    if (m) {
      const marker = m[1]!;
      if (fence === undefined) fence = marker;
      else if (marker[0] === fence[0] && marker.length >= fence.length) fence = undefined;
      return;
    }
    // An indented block (4 spaces) after a blank line is code too, but lists indent their continuation
    // lines: only fenced blocks are skipped, and the docs use fences for code.
    if (fence === undefined) out.push({ line: i + 1, text: line });
  });
  return out;
}

/** Inline links and images `[text](target "title")` and reference definitions `[x]: target`, outside code. */
function linksOf(text: string): Link[] {
  const links: Link[] = [];
  for (const { line, text: prose } of proseLines(text)) {
    const withoutCode = prose.replace(/`[^`]*`/g, "");
    for (const m of withoutCode.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
      links.push({ line, target: m[1]! });
    }
    const def = /^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/.exec(withoutCode);
    if (def) links.push({ line, target: def[1]! });
  }
  return links;
}

/** GitHub's anchor for a heading text. */
function slug(heading: string): string {
  return heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1") // links and images: their text
    .replace(/[`*]/g, "") // code spans and emphasis markers
    .replace(/<[^>]+>/g, "") // inline HTML
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, "")
    .replace(/ /g, "-");
}

/** Every anchor a Markdown file has: one per ATX heading (`#` ... `######`), duplicates numbered. */
function anchorsOf(text: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  for (const { text: prose } of proseLines(text)) {
    const m = /^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(prose);
    if (!m) continue;
    const base = slug(m[1]!);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}

const isExternal = (target: string) => /^[a-z][a-z0-9+.-]*:/i.test(target);

/**
 * What is wrong with each relative link in `file` (empty when every one resolves). `read` gives a file's text,
 * `exists` whether a path exists: the real file system, or a small tree in the checker's own tests.
 */
function brokenLinks(
  file: string,
  read: (f: string) => string | undefined,
  exists: (f: string) => boolean = fs.existsSync,
): string[] {
  const text = read(file) ?? "";
  const problems: string[] = [];
  for (const { line, target } of linksOf(text)) {
    if (isExternal(target)) continue;
    const [filePart, anchor] = target.split("#", 2) as [string, string | undefined];
    const resolved = filePart === "" ? file : path.resolve(path.dirname(file), decodeURI(filePart));
    const where = `${path.relative(ROOT, file)}:${line}: ${target}`;
    if (!exists(resolved)) {
      problems.push(`${where}: ${path.relative(ROOT, resolved)} does not exist`);
      continue;
    }
    if (anchor === undefined || anchor === "") continue;
    if (!resolved.endsWith(".md")) {
      problems.push(`${where}: an anchor into a file that is not Markdown`);
      continue;
    }
    if (!anchorsOf(read(resolved) ?? "").has(anchor)) {
      problems.push(`${where}: no heading #${anchor} in ${path.relative(ROOT, resolved)}`);
    }
  }
  return problems;
}

function markdownUnder(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) =>
      e.isDirectory()
        ? markdownUnder(path.join(dir, e.name))
        : e.name.endsWith(".md")
          ? [path.join(dir, e.name)]
          : [],
    );
}

const readFile = (f: string) =>
  fs.existsSync(f) && fs.statSync(f).isFile() ? fs.readFileSync(f, "utf8") : undefined;

describe("the documentation", () => {
  const pages = [README, ...markdownUnder(DOCS)];

  it("has the pages the README promises", () => {
    for (const page of [
      "configuration.md",
      "upgrades.md",
      "operations.md",
      "continuous-deployment.md",
      "testing.md",
      "adr/0004-talos-linux.md",
    ]) {
      expect(fs.existsSync(path.join(DOCS, page)), page).toBe(true);
    }
  });

  it("has no broken relative link or anchor", () => {
    expect(pages.flatMap((page) => brokenLinks(page, readFile))).toEqual([]);
  });

  it("reaches every page in docs/ from the README", () => {
    const reached = new Set<string>([README]);
    const queue = [README];
    while (queue.length > 0) {
      const page = queue.shift()!;
      for (const { target } of linksOf(readFile(page) ?? "")) {
        if (isExternal(target)) continue;
        const filePart = target.split("#")[0]!;
        if (filePart === "") continue;
        const next = path.resolve(path.dirname(page), decodeURI(filePart));
        if (next.endsWith(".md") && !reached.has(next) && fs.existsSync(next)) {
          reached.add(next);
          queue.push(next);
        }
      }
    }
    const unreached = pages.filter((p) => !reached.has(p)).map((p) => path.relative(ROOT, p));
    expect(unreached).toEqual([]);
  });

  it("keeps the README under 200 lines, none over 120 characters outside code blocks", () => {
    const text = fs.readFileSync(README, "utf8");
    const lines = text.replace(/\n$/, "").split("\n");
    expect(lines.length).toBeLessThan(200);
    const long = proseLines(text)
      .filter((l) => [...l.text].length > 120)
      .map((l) => `README.md:${l.line} (${[...l.text].length} characters)`);
    expect(long).toEqual([]);
  });
});

describe("the link checker", () => {
  const files: Record<string, string> = {
    [path.join(ROOT, "a.md")]: [
      "# Title",
      "## Two words: `code` and *emphasis*",
      "## Repeated",
      "## Repeated",
      "See [b](b.md#target-here), [self](#two-words-code-and-emphasis), [twice](#repeated-1).",
      "```",
      "[not a link](missing.md)",
      "```",
      "Inline `[not a link](missing.md)` either. [web](https://example.com/x.md) is not checked.",
    ].join("\n"),
    [path.join(ROOT, "b.md")]: "# Target here\n",
  };
  const read = (f: string) => files[f];

  it("turns headings into GitHub's anchors", () => {
    expect(slug("Acceptance on real hardware (ADR 0004)")).toBe("acceptance-on-real-hardware-adr-0004");
    expect(slug("`npm test` and [links](x.md)")).toBe("npm-test-and-links");
    expect(slug("Day 2: add / remove")).toBe("day-2-add--remove");
    expect([...anchorsOf(files[path.join(ROOT, "a.md")]!)]).toEqual([
      "title",
      "two-words-code-and-emphasis",
      "repeated",
      "repeated-1",
    ]);
  });

  it("skips code and external links, and finds the rest", () => {
    expect(linksOf(files[path.join(ROOT, "a.md")]!).map((l) => l.target)).toEqual([
      "b.md#target-here",
      "#two-words-code-and-emphasis",
      "#repeated-1",
      "https://example.com/x.md",
    ]);
  });

  it("reports a missing file and a missing anchor, each with its line", () => {
    const exists = (f: string) => f in files;
    expect(brokenLinks(path.join(ROOT, "a.md"), read, exists)).toEqual([]);
    const broken = {
      ...files,
      [path.join(ROOT, "c.md")]: "[gone](gone.md), [x](b.md#nowhere), [y](#nope)\n",
    };
    expect(
      brokenLinks(
        path.join(ROOT, "c.md"),
        (f) => broken[f],
        (f) => f in broken,
      ),
    ).toEqual([
      "c.md:1: gone.md: gone.md does not exist",
      "c.md:1: b.md#nowhere: no heading #nowhere in b.md",
      "c.md:1: #nope: no heading #nope in c.md",
    ]);
  });
});
