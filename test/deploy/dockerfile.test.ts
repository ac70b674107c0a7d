import { readFileSync } from "node:fs";
import { join, posix } from "node:path";
import { describe, expect, it } from "vitest";
import { CONTAINER_ENV } from "../../bench/servers.js";
import { configSchema } from "../../src/config/schema.js";
import { type Deployment, loadObjects, only, portOf, ROOT } from "./manifests.js";

/** Dockerfile instructions, with line continuations joined and comments dropped. */
function instructions(text: string): { op: string; args: string }[] {
  return text
    .replace(/\\\r?\n/g, " ")
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"))
    .map((l) => {
      const m = /^(\S+)\s*(.*)$/.exec(l) as RegExpExecArray;
      return { op: (m[1] ?? "").toUpperCase(), args: m[2] ?? "" };
    });
}

const dockerfile = instructions(readFileSync(join(ROOT, "Dockerfile"), "utf8"));
const stages = dockerfile.reduce<{ op: string; args: string }[][]>((acc, i) => {
  if (i.op === "FROM") acc.push([]);
  acc.at(-1)?.push(i);
  return acc;
}, []);
const runtime = stages.at(-1) ?? [];
const of = (stage: { op: string; args: string }[], op: string) => stage.filter((i) => i.op === op).map((i) => i.args);

const DEFAULTS = configSchema.parse({
  workspaces: [
    {
      id: "w",
      difyBaseUrl: "https://dify.example.com/v1",
      tokens: [{ sha256: "0".repeat(64) }],
      apps: [{ appId: "a", key: { env: "K" } }],
    },
  ],
});

describe("Dockerfile", () => {
  it("is multi-stage: the runtime stage builds nothing and installs production dependencies only", () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const all = dockerfile
      .filter((i) => i.op === "RUN")
      .map((i) => i.args)
      .join("\n");
    expect(all).toMatch(/npm ci --omit=dev/);
    expect(all).toMatch(/npm run build/);
    expect(of(runtime, "RUN").join("\n")).not.toMatch(/npm (ci|install)(?![^\n]*--omit=dev)|npm run build/);
    expect(of(runtime, "ENV").join(" ")).toMatch(/NODE_ENV=production/);
  });

  it("sets the environment the bench starts the gateway with, so the bench measures what ships", () => {
    const env = of(runtime, "ENV").join(" ").split(/\s+/);
    for (const [name, value] of Object.entries(CONTAINER_ENV)) expect(env).toContain(`${name}=${value}`);
  });

  it("runs as a numeric non-root user, with no HEALTHCHECK (the probes do that)", () => {
    const users = of(runtime, "USER");
    expect(users.length).toBeGreaterThan(0);
    const user = users.at(-1) ?? "";
    expect(user).toMatch(/^\d+(:\d+)?$/); // numeric, so runAsNonRoot can verify it
    expect(Number(user.split(":")[0])).not.toBe(0);
    expect(dockerfile.some((i) => i.op === "HEALTHCHECK")).toBe(false);
    // the Deployment's pod runs as that same user
    const pod = only<Deployment>(loadObjects(), "Deployment").spec.template.spec;
    expect(String(pod.securityContext?.runAsUser)).toBe(user.split(":")[0]);
  });

  it("starts the compiled main in exec form, with what it reads at run time next to it", () => {
    const entrypoint = JSON.parse(of(runtime, "ENTRYPOINT").at(-1) ?? "null") as string[];
    expect(entrypoint).toEqual(["node", "dist/src/main.js"]);
    // tsc -p tsconfig.build.json compiles src/main.ts to <outDir>/src/main.js, which runs the bundle next to it
    const base = JSON.parse(readFileSync(join(ROOT, "tsconfig.json"), "utf8")) as { compilerOptions: { outDir: string; rootDir: string } };
    expect(posix.join(base.compilerOptions.outDir, posix.relative(base.compilerOptions.rootDir, "src/main.js"))).toBe(entrypoint[1]);
    const copies = of(runtime, "COPY").join("\n");
    expect(copies).toMatch(/^(--from=\S+ )?\S*package\.json\s/m); // src/paths.ts finds the package root by it
    expect(copies).toMatch(/\/app\/dist \.\/dist$/m);
    expect(copies).toMatch(/generated\/\*\.binpb \.\/generated\/$/m); // descriptor sets for server reflection
    expect(copies).toMatch(/node_modules \.\/node_modules$/m);
  });

  it("exposes the default gRPC and metrics ports", () => {
    const exposed = of(runtime, "EXPOSE")
      .join(" ")
      .split(/\s+/)
      .map((p) => Number(p.replace(/\/tcp$/, "")));
    expect(exposed).toEqual(expect.arrayContaining([portOf(DEFAULTS.server.listen), portOf(DEFAULTS.metrics.listen)]));
  });
});

describe("Dockerfile base image and usage lines", () => {
  const text = readFileSync(join(ROOT, "Dockerfile"), "utf8");
  const arg = /^ARG NODE_IMAGE=node:(\d+)-/m.exec(text);

  it("builds and runs on a supported Node.js LTS (22 or 24), the same in every stage", () => {
    expect(arg, "ARG NODE_IMAGE=node:<major>-…").not.toBeNull();
    expect(["22", "24"]).toContain(arg?.[1]);
    for (const stage of stages) expect(stage[0]?.args).toMatch(/^\$\{NODE_IMAGE\}/);
  });

  it("is the Node.js major `npm test` runs the suite on a second time (scripts/lts-node.sh)", () => {
    const pinned = /^VERSION=(\d+)\.\d+\.\d+$/m.exec(readFileSync(join(ROOT, "scripts/lts-node.sh"), "utf8"));
    expect(pinned, "VERSION=<major>.<minor>.<patch> in scripts/lts-node.sh").not.toBeNull();
    expect(pinned?.[1]).toBe(arg?.[1]);
    // In that second run (scripts/test-lts.sh), this process is that binary, not the machine's Node.
    const lts = process.env.GATEWAY_TEST_LTS_VERSION;
    if (lts !== undefined) expect(process.version).toBe(`v${lts}`);
  });

  it("documents no `docker run` of the demo: the image has no simulator, so demo mode only exits 2", () => {
    // The build stage copies no simulator/, so `npm run build` writes no dist/simulator/ into the image.
    const buildCopies = stages.slice(0, -1).flatMap((stage) => of(stage, "COPY"));
    expect(buildCopies.length).toBeGreaterThan(0);
    for (const copy of buildCopies) expect(copy).not.toMatch(/\bsimulator\b/);
    // Demo mode: no config (DIFY_GATEWAY_CONFIG emptied) or a demo-only flag.
    const comments = text
      .split("\n")
      .filter((l) => l.startsWith("#"))
      .map((l) => l.replace(/^# ?/, ""))
      .join("\n");
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const runs = [comments, readme].flatMap((t) => t.replace(/\\\n\s*/g, " ").split("\n")).filter((l) => /docker run\b/.test(l));
    expect(runs.length).toBeGreaterThan(0);
    for (const line of runs) {
      expect(line, line).not.toMatch(/DIFY_GATEWAY_CONFIG=(\s|$|""|'')/);
      expect(line, line).not.toMatch(/\s--(listen|simulator-port|metrics-port)\b/);
    }
  });

  it("every documented `docker run … < file` passes -i, or the container sees no stdin", () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const runs = [...text.split("\n"), ...readme.split("\n")].filter((l) => /docker run\b.*<\s*\S/.test(l));
    expect(runs.length).toBeGreaterThan(0);
    for (const line of runs) expect(line, line).toMatch(/docker run\b[^<]*\s-(i|it)\s/);
  });
});

describe(".dockerignore", () => {
  const patterns = readFileSync(join(ROOT, ".dockerignore"), "utf8")
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));

  it("keeps local build output, dependencies and history out of the context", () => {
    expect(patterns).toEqual(expect.arrayContaining(["node_modules", "dist", ".git"]));
  });

  it("keeps everything the build copies", () => {
    for (const needed of ["package.json", "package-lock.json", "tsconfig.json", "tsconfig.build.json", "src", "generated"])
      expect(patterns, needed).not.toContain(needed);
    expect(patterns.some((p) => p === "*" || p === "**" || p.startsWith("*.json"))).toBe(false);
    // scripts/ is ignored, except the build scripts the build stage copies (npm run build bundles with them).
    const copiedScripts = dockerfile
      .filter((i) => i.op === "COPY")
      .flatMap((i) => i.args.split(/\s+/).slice(0, -1))
      .filter((src) => src.startsWith("scripts/"));
    expect(copiedScripts.length).toBeGreaterThan(0);
    for (const script of copiedScripts) expect(patterns, script).toContain(`!${script}`);
  });
});
