/** The CLI (`simulator/main.ts`) as a separate process, the way out-of-process tests use it (built by the global setup). */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";
import { appOf, bodyFor, type Json } from "./helpers.js";

const MAIN = fileURLToPath(new URL("../../dist/simulator/main.js", import.meta.url));

function startCli(args: string[]): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, [MAIN, ...args], { stdio: ["pipe", "pipe", "pipe"] });
}

function firstLineOf(child: ChildProcessWithoutNullStreams): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).once("line", resolve);
    child.once("exit", (code) => reject(new Error(`simulator exited with ${code}`)));
  });
}

function exitOf(child: ChildProcessWithoutNullStreams): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
}

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  it(`prints one JSON line when listening, serves the API and the control endpoints, exits cleanly on ${signal}`, async () => {
    const child = startCli(["--host", "127.0.0.1", "--port", "0", "--token-delay-ms", "0", "--ping-interval-ms", "1000"]);
    const exited = exitOf(child);
    try {
      const line = await firstLineOf(child);
      const announced = JSON.parse(line) as { url: string; port: number };
      expect(Object.keys(announced)).toEqual(["url", "port"]);
      expect(announced.url).toBe(`http://127.0.0.1:${announced.port}/v1`);

      const res = await fetch(`${announced.url}/chat-messages`, {
        method: "POST",
        headers: { authorization: `Bearer ${appOf("chat").key}`, "content-type": "application/json" },
        body: JSON.stringify(bodyFor("chat")),
      });
      expect(((await res.json()) as Json)["answer"]).toContain("Echo from Demo Chatbot");

      const control = announced.url.replace(/\/v1$/, "/__sim/requests");
      const recorded = (await (await fetch(control)).json()) as Json[];
      expect(recorded).toEqual([expect.objectContaining({ method: "POST", path: "/v1/chat-messages", appId: appOf("chat").appId })]);
      await fetch(control, { method: "DELETE" });
      expect(await (await fetch(control)).json()).toEqual([]);

      // An open stream must not keep the process from exiting.
      const open = await fetch(`${announced.url}/workflows/run`, {
        method: "POST",
        headers: { authorization: `Bearer ${appOf("workflow").key}`, "content-type": "application/json" },
        body: JSON.stringify({ inputs: { _sim: { fault: "silent", after: 1 } }, user: "u", response_mode: "streaming" }),
      });
      expect(open.status).toBe(200);
      child.kill(signal);
      expect(await exited).toEqual({ code: 0, signal: null });
      await open.body?.cancel().catch(() => undefined);
    } finally {
      child.kill("SIGKILL");
    }
  });
}

it("rejects a malformed number flag", async () => {
  const child = startCli(["--port", "abc"]);
  const stderr: Buffer[] = [];
  child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));
  expect((await exitOf(child)).code).toBe(2);
  expect(Buffer.concat(stderr).toString()).toContain("--port");
});
