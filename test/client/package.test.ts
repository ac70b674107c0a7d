/**
 * The published TypeScript client: `npm pack` of clients/typescript, installed into an empty project outside the
 * repository (offline, from the npm cache the repository's install filled), imported from ESM and from CommonJS,
 * and type-checked there, calling a real gateway in front of the simulator.
 */
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { transformSync } from "esbuild";
import { afterAll, beforeAll, expect, it } from "vitest";
import { CLIENT_TOKEN, type ClientStack, startClientStack } from "./stack.js";

const ROOT = new URL("../../", import.meta.url).pathname;
const PACKAGE_DIR = join(ROOT, "clients/typescript");
const TSC = join(ROOT, "node_modules/typescript/bin/tsc");
const run = promisify(execFile);

interface PackResult {
  filename: string;
  size: number;
  files: { path: string; size: number }[];
}

let work: string;
let consumer: string;
let packed: PackResult;
let stack: ClientStack;

async function npmInstall(cwd: string, tarball: string): Promise<void> {
  const args = ["install", "--no-audit", "--no-fund", "--no-package-lock", tarball];
  try {
    await run("npm", ["--offline", ...args], { cwd });
  } catch {
    // A cache without some dependency version: let npm fetch only what is missing.
    await run("npm", ["--prefer-offline", ...args], { cwd });
  }
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "client-package-"));
  const { stdout } = await run("npm", ["pack", "--json", "--pack-destination", work], { cwd: PACKAGE_DIR, maxBuffer: 16 << 20 });
  packed = (JSON.parse(stdout) as PackResult[])[0]!;
  consumer = join(work, "consumer");
  mkdirSync(consumer);
  writeFileSync(join(consumer, "package.json"), JSON.stringify({ name: "consumer", private: true }));
  await npmInstall(consumer, join(work, packed.filename));
  stack = await startClientStack();
}, 180_000);

afterAll(async () => {
  await stack?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

it("the tarball holds the built client, its declarations and README, and no gateway or simulator source", () => {
  const paths = packed.files.map((f) => f.path).sort();
  expect(paths).toContain("package.json");
  expect(paths).toContain("README.md");
  expect(paths).toContain("dist/index.js");
  expect(paths).toContain("dist/index.cjs");
  expect(paths).toContain("dist/types/clients/typescript/src/index.d.ts");
  expect(paths).toContain("dist/types-cjs/clients/typescript/src/index.d.cts");
  const unexpected = paths.filter(
    (p) =>
      !["package.json", "README.md", "dist/index.js", "dist/index.cjs"].includes(p) &&
      !/^dist\/types\/.*\.d\.ts$/.test(p) &&
      !/^dist\/types-cjs\/.*\.d\.cts$/.test(p),
  );
  expect(unexpected).toEqual([]);
  expect(paths.filter((p) => /(^|\/)(src|simulator)\/.*\.ts$/.test(p) && !p.endsWith(".d.ts"))).toEqual([]);
  // Measured 51 KB packed (16 files) when written; the gateway's whole tree is ~50 MB.
  expect(packed.size).toBeLessThan(150_000);
});

function clientEnv(): NodeJS.ProcessEnv {
  return { ...process.env, GATEWAY: stack.address, TOKEN: CLIENT_TOKEN, APP_ID: stack.appId("chat") };
}

const CALL = `
const client = createAppClient({ address: process.env.GATEWAY, token: process.env.TOKEN });
const answer = await client.app.chat.invoke({ appId: process.env.APP_ID, query: "from the package", user: "pkg-user", responseMode: "blocking" });
let deltas = 0;
for await (const event of client.app.chat.invoke({ appId: process.env.APP_ID, query: "again", user: "pkg-user", conversationId: String(answer.conversation_id), responseMode: "streaming" })) {
  if (event.event === "message") deltas++;
}
let code;
try {
  await client.app.chat.invoke({ appId: "a1c00000-0000-4000-8000-0000000000ff", query: "q", responseMode: "blocking" });
} catch (err) {
  code = err instanceof AppInvokeError ? err.code : String(err);
}
client.close();
console.log(JSON.stringify({ answer: answer.answer, deltas, notFound: code === status.NOT_FOUND }));
`;

function expectCallResult(stdout: string): void {
  const result = JSON.parse(stdout) as { answer: string; deltas: number; notFound: boolean };
  expect(result.answer).toContain("from the package");
  expect(result.deltas).toBeGreaterThan(0);
  expect(result.notFound).toBe(true);
}

it("an ESM project imports the installed package and calls the gateway", async () => {
  writeFileSync(
    join(consumer, "call.mjs"),
    `import { AppInvokeError, createAppClient, status } from "@dify-grpc-gateway/client";\n${CALL}`,
  );
  const { stdout } = await run(process.execPath, ["call.mjs"], { cwd: consumer, env: clientEnv(), timeout: 30_000 });
  expectCallResult(stdout);
});

it("a CommonJS project requires the installed package and calls the gateway", async () => {
  writeFileSync(
    join(consumer, "call.cjs"),
    `const { AppInvokeError, createAppClient, status } = require("@dify-grpc-gateway/client");\n(async () => {${CALL}})().catch((e) => { console.error(e); process.exit(1); });`,
  );
  const { stdout } = await run(process.execPath, ["call.cjs"], { cwd: consumer, env: clientEnv(), timeout: 30_000 });
  expectCallResult(stdout);
});

it("the installed package has types, and the result type follows responseMode", { timeout: 60_000 }, async () => {
  writeFileSync(
    join(consumer, "use.mts"),
    `import { createAppClient, type DifyDict, type DifyEventStream } from "@dify-grpc-gateway/client";
const client = createAppClient({ address: "127.0.0.1:50051", token: "t" });
const blocking: Promise<DifyDict> = client.app.chat.invoke({ appId: "a", query: "q", responseMode: "blocking" });
const streaming: DifyEventStream = client.app.workflow.invoke({ appId: "a", responseMode: "streaming" });
// @ts-expect-error: a stream is not a promise.
const wrong: Promise<DifyDict> = client.app.completion.invoke({ appId: "a", responseMode: "streaming" });
void [blocking, streaming, wrong];
`,
  );
  const args = [
    TSC,
    "--noEmit",
    "--strict",
    "--module",
    "nodenext",
    "--moduleResolution",
    "nodenext",
    "--target",
    "es2023",
    "--types",
    "node",
    "--typeRoots",
    join(ROOT, "node_modules/@types"),
    "use.mts",
  ];
  const result = await run(process.execPath, args, { cwd: consumer }).then(
    () => ({ ok: true, output: "" }),
    (e: { stdout?: string; message: string }) => ({ ok: false, output: `${e.message}\n${e.stdout ?? ""}` }),
  );
  expect(result.ok, result.output).toBe(true);
});

it("a CommonJS TypeScript project (moduleResolution node16) type-checks against the installed package", { timeout: 60_000 }, async () => {
  writeFileSync(
    join(consumer, "use.cts"),
    `import { AppInvokeError, createAppClient, type DifyDict } from "@dify-grpc-gateway/client";
const client = createAppClient({ address: "127.0.0.1:50051", token: "t" });
const blocking: Promise<DifyDict> = client.app.chat.invoke({ appId: "a", query: "q", responseMode: "blocking" });
void [blocking, AppInvokeError];
`,
  );
  const args = [TSC, "--noEmit", "--strict", "--module", "node16", "--moduleResolution", "node16", "--target", "es2022"];
  const types = ["--types", "node", "--typeRoots", join(ROOT, "node_modules/@types"), "use.cts"];
  const result = await run(process.execPath, [...args, ...types], { cwd: consumer }).then(
    () => ({ ok: true, output: "" }),
    (e: { stdout?: string; message: string }) => ({ ok: false, output: `${e.message}\n${e.stdout ?? ""}` }),
  );
  expect(result.ok, result.output).toBe(true);
});

/** The first ```ts block of the README's TypeScript client section. */
function readmeSnippet(): string {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("### TypeScript ("));
  const block = /```ts\n([\s\S]*?)```/.exec(section);
  if (!block?.[1]) throw new Error("README.md: no ```ts block in the TypeScript client section");
  return block[1];
}

it("the README's TypeScript snippet type-checks and runs with the installed package, continuing a conversation", {
  timeout: 60_000,
}, async () => {
  const snippet = readmeSnippet();
  expect(snippet).toContain('"127.0.0.1:50051"');
  const program = `declare const process: { env: Record<string, string> };
const token = process.env.TOKEN, appId = process.env.APP_ID, workflowId = process.env.WORKFLOW_ID, completionId = process.env.COMPLETION_ID;
${snippet.replace('"127.0.0.1:50051"', "process.env.GATEWAY")}
export {};
`;
  writeFileSync(join(consumer, "readme.mts"), program);
  const args = [
    TSC,
    "--noEmit",
    "--strict",
    "--module",
    "nodenext",
    "--moduleResolution",
    "nodenext",
    "--target",
    "es2023",
    "--types",
    "node",
    "--typeRoots",
    join(ROOT, "node_modules/@types"),
    "readme.mts",
  ];
  const checked = await run(process.execPath, args, { cwd: consumer }).then(
    () => "",
    (e: { stdout?: string; message: string }) => `${e.message}\n${e.stdout ?? ""}`,
  );
  expect(checked).toBe("");

  writeFileSync(join(consumer, "readme.mjs"), transformSync(program, { loader: "ts", format: "esm" }).code);
  const env = { ...clientEnv(), WORKFLOW_ID: stack.appId("workflow"), COMPLETION_ID: stack.appId("completion") };
  const { stdout } = await run(process.execPath, ["readme.mjs"], { cwd: consumer, env, timeout: 30_000 });
  // The streamed workflow's events, printed by the snippet's loop; the continued conversation did not throw.
  expect(stdout).toContain("workflow_finished");
});
