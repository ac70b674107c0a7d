import { execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, it } from "vitest";
import { CLIENT_TOKEN, type ClientStack, startClientStack } from "./stack.js";

const ROOT = new URL("../../", import.meta.url).pathname;
const run = promisify(execFile);

let dir: string;
let binary: string;
let s: ClientStack;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "go-example-"));
  binary = join(dir, "stream_chat");
  // Offline, from Debian's Go packages (scripts/system-deps.sh): about 20 s on a cold build cache.
  await run("bash", ["examples/go/build.sh", binary], { cwd: ROOT, timeout: 170_000 });
  // 40 ms a word, as in the demo, so that "as it arrives" is measurable.
  s = await startClientStack({ simulatorArgs: ["--token-delay-ms", "40"], excludeModes: ["agent"] });
}, 180_000);
afterAll(async () => {
  await s?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  lines: { at: number; text: string }[];
  stderr: string;
}

function example(args: string[], env: Record<string, string>): Promise<Run> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("DIFY_") && k !== "TOKEN"));
  const child = spawn(binary, args, { env: { ...base, DIFY_GATEWAY_TARGET: s.address, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  const lines: Run["lines"] = [];
  let stderr = "";
  createInterface({ input: child.stdout }).on("line", (text) => lines.push({ at: Date.now(), text }));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, lines, stderr })));
}

it("the Go example streams a chat app's events through the gateway, each as it arrives", async () => {
  const { code, lines, stderr } = await example(["What is gRPC?"], { DIFY_GATEWAY_TOKEN: CLIENT_TOKEN, DIFY_APP_ID: s.appId("chat") });
  expect(code, stderr).toBe(0);
  const events = lines.map((l) => JSON.parse(l.text) as Record<string, unknown>);
  expect(events.length).toBeGreaterThan(3);
  expect(events.at(-1)?.event).toBe("message_end");
  const answer = events
    .filter((e) => e.event === "message")
    .map((e) => e.answer)
    .join("");
  expect(answer.startsWith("Echo from Demo Chatbot: What is gRPC?")).toBe(true);
  // Dify's integers survive Struct's doubles in Go's JSON too.
  expect(lines[0]?.text).toMatch(/"created_at":\d+[,}]/);
  expect(lines.at(-1)!.at - lines[0]!.at).toBeGreaterThan(200);
  expect(lines.map((l) => l.text).join("") + stderr).not.toContain(CLIENT_TOKEN);
});

it("the Go example reports NOT_FOUND and ErrorInfo's reason for a foreign app", async () => {
  const { code, lines, stderr } = await example(["Hi"], { TOKEN: CLIENT_TOKEN, DIFY_APP_ID: s.appId("agent") });
  expect(code).toBe(1);
  expect(lines).toEqual([]);
  expect(stderr).toContain("error: NotFound (APP_NOT_FOUND)");
});
