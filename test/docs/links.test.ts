import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { describe, expect, it } from "vitest";

/* Every relative link in the docs points at a file or folder of this repository. */

const ROOT = new URL("../../", import.meta.url).pathname;

function docs(): string[] {
  const inDir = (dir: string) =>
    existsSync(join(ROOT, dir))
      ? readdirSync(join(ROOT, dir))
          .filter((f) => f.endsWith(".md"))
          .map((f) => join(dir, f))
      : [];
  const clients = readdirSync(join(ROOT, "clients"), { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(ROOT, "clients", d.name, "README.md")))
    .map((d) => join("clients", d.name, "README.md"));
  return ["README.md", ...inDir("docs"), ...clients];
}

/** Markdown links and images, `[text](target)`, outside fenced code blocks; absolute URLs and pure anchors are not ours. */
function relativeLinks(markdown: string): string[] {
  const prose = markdown.replace(/^```[\s\S]*?^```/gm, "");
  const targets = [...prose.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]!);
  return targets.filter((t) => !/^[a-z][a-z0-9+.-]*:/i.test(t) && !t.startsWith("#")).map((t) => decodeURIComponent(t.split("#")[0]!));
}

/** Repository paths written as code (`test/behaviour/errors.test.ts`), the other way docs point at files. */
function repoPaths(markdown: string): string[] {
  const prose = markdown.replace(/^```[\s\S]*?^```/gm, "");
  return [...prose.matchAll(/`((?:src|test|docs|scripts|simulator|deploy|proto|bench)\/[\w./-]*\.[a-z]{1,5})`/g)].map((m) => m[1]!);
}

describe("relative links in README.md, docs/*.md and clients/*/README.md", () => {
  it("the link finder sees links and skips URLs, anchors and code", () => {
    expect(repoPaths("see `test/e2e/x.test.ts` and `npm start`\n```\n`src/in-code.ts`\n```\n")).toEqual(["test/e2e/x.test.ts"]);
    expect(relativeLinks("[a](docs/X.md#part) [b](https://x.y/z) [c](#top) ![d](img/p.png)\n```\n[e](in/code.md)\n```\n")).toEqual([
      "docs/X.md",
      "img/p.png",
    ]);
  });

  for (const doc of docs()) {
    it(`${doc}: every relative link target exists`, () => {
      const dir = dirname(join(ROOT, doc));
      const dead = relativeLinks(readFileSync(join(ROOT, doc), "utf8")).filter((target) => !existsSync(join(dir, target)));
      expect(dead.map((t) => `${doc} → ${t} (${relative(ROOT, join(dir, t))})`)).toEqual([]);
    });

    it(`${doc}: every repository path named in code spans exists`, () => {
      const missing = repoPaths(readFileSync(join(ROOT, doc), "utf8")).filter((path) => !existsSync(join(ROOT, path)));
      expect(missing).toEqual([]);
    });
  }
});
