import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, it } from "vitest";

const ROOT = new URL("../../", import.meta.url).pathname;
const TSC = join(ROOT, "node_modules/typescript/bin/tsc");
const run = promisify(execFile);

let consumer: string;
beforeAll(async () => {
  // The global setup built dist/*.js; the export's declarations come from their own project.
  await run(process.execPath, [TSC, "-p", "src/client/tsconfig.types.json"], { cwd: ROOT });
  // A project elsewhere that depends on this package, as an installed dependency would look.
  consumer = mkdtempSync(join(tmpdir(), "client-consumer-"));
  mkdirSync(join(consumer, "node_modules"));
  symlinkSync(ROOT, join(consumer, "node_modules", "dify-grpc-gateway"), "dir");
}, 60_000);
afterAll(() => {
  if (consumer) rmSync(consumer, { recursive: true, force: true });
});

it("`dify-grpc-gateway/client` loads in Node and exports the client", async () => {
  writeFileSync(join(consumer, "load.mjs"), `const m = await import("dify-grpc-gateway/client"); console.log(JSON.stringify(Object.keys(m).sort()));`);
  const { stdout } = await run(process.execPath, ["load.mjs"], { cwd: consumer });
  expect(JSON.parse(stdout)).toEqual(["AppInvokeError", "createAppClient", "status"]);
});

it("`dify-grpc-gateway/client` has types, and the result type follows responseMode", { timeout: 60_000 }, async () => {
  writeFileSync(
    join(consumer, "use.mts"),
    `import { createAppClient, type DifyDict, type DifyEventStream } from "dify-grpc-gateway/client";
const client = createAppClient({ address: "127.0.0.1:50051", token: "t" });
const blocking: Promise<DifyDict> = client.app.chat.invoke({ appId: "a", query: "q", responseMode: "blocking" });
const streaming: DifyEventStream = client.app.workflow.invoke({ appId: "a", responseMode: "streaming" });
// @ts-expect-error: a stream is not a promise.
const wrong: Promise<DifyDict> = client.app.completion.invoke({ appId: "a", responseMode: "streaming" });
void [blocking, streaming, wrong];
`,
  );
  const args = [TSC, "--noEmit", "--strict", "--module", "nodenext", "--moduleResolution", "nodenext", "--target", "es2023", "--typeRoots", join(ROOT, "node_modules/@types"), "--types", "node", "use.mts"];
  const result = await run(process.execPath, args, { cwd: consumer }).then(
    () => ({ ok: true, output: "" }),
    (e: { stdout?: string; message: string }) => ({ ok: false, output: `${e.message}\n${e.stdout ?? ""}` }),
  );
  expect(result.ok, result.output).toBe(true);
});
