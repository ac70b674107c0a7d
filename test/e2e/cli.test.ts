import { execFile, spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { sha256 } from "../../src/auth/registry.js";
import { healthCheck } from "../helpers/grpc.js";
import { eventually, freePort, Proc } from "../helpers/processes.js";

const MAIN = new URL("../../dist/src/main.js", import.meta.url).pathname;

function run(args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [MAIN, ...args], { timeout: 15_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    child.stdin?.end(input ?? "");
  });
}

describe("command line", () => {
  it("refuses to start on a bad config, naming the file and each field", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cli-"));
    const file = join(dir, "gateway.yaml");
    writeFileSync(file, "server:\n  listen: 50051\nworkspaces:\n  - id: acme\n    difyBaseUrl: not-a-url\n    apps: []\n");
    const { code, stderr } = await run(["--config", file]);
    expect(code).toBe(1);
    expect(stderr).toContain(file);
    expect(stderr).toMatch(/server\.listen: /);
    expect(stderr).toMatch(/workspaces\.0\.difyBaseUrl: /);
    expect(stderr).toMatch(/workspaces\.0\.apps: /);
  });

  it("hash-token prints the SHA-256 of the token read on stdin", async () => {
    const { code, stdout } = await run(["hash-token"], "s3cret-token\n");
    expect(code).toBe(0);
    expect(stdout.trim()).toBe(sha256("s3cret-token").toString("hex"));
  });

  it("check-config prints a redacted summary of a valid file and exits 0", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cli-"));
    const file = join(dir, "gateway.yaml");
    writeFileSync(join(dir, "chat.key"), "app-check-config-key-5e4d\n");
    const token = "tok-check-config-0a9b8c7d6e5f";
    writeFileSync(
      file,
      `workspaces:\n  - id: acme\n    difyBaseUrl: https://dify.example.com/v1\n    tokens: [{ sha256: ${sha256(token).toString("hex")} }]\n    apps:\n      - { appId: app-1, key: { file: chat.key }, mode: chat }\n`,
    );
    const { code, stdout } = await run(["check-config", file]);
    expect(code).toBe(0);
    expect(stdout).toContain(`${file}: valid`);
    expect(stdout).toContain(`app app-1: mode chat, key from file ${join(dir, "chat.key")}`);
    expect(stdout).not.toContain("app-check-config-key-5e4d");
    expect(stdout).not.toContain(token);
  });

  it("check-config exits non-zero and names every problem", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cli-"));
    const file = join(dir, "gateway.yaml");
    writeFileSync(file, "workspaces:\n  - id: acme\n    difyBaseUrl: https://dify.example.com\n    tokens: []\n    apps: [{ appId: a, key: { env: UNSET_KEY_VAR } }]\n");
    const bad = await run(["check-config", file]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("workspaces.0.tokens: no caller can reach this workspace");
    expect(bad.stderr).toContain("workspaces.0.apps.0.key.env: environment variable UNSET_KEY_VAR is not set");
    const missing = await run(["check-config"]);
    expect(missing.code).toBe(2);
  });

  it("hash-token warns about a short token", async () => {
    const { code, stderr } = await run(["hash-token"], "short\n");
    expect(code).toBe(0);
    expect(stderr).toMatch(/warning: a token shorter than 24 characters/);
  });

  it("refuses --listen next to a config file instead of ignoring it", async () => {
    const { code, stderr } = await run(["--config", "/nonexistent.yaml", "--listen", "127.0.0.1:1"]);
    expect(code).toBe(2);
    expect(stderr).toContain("set server.listen");
  });

  it("the demo keeps serving when its stdout is closed (`npm start | head -1`), and stops on SIGTERM", async () => {
    const port = await freePort();
    const child = spawn(process.execPath, [MAIN, "--listen", `127.0.0.1:${port}`], { stdio: ["ignore", "pipe", "pipe"] });
    const proc = new Proc(child);
    child.stdout.destroy();
    try {
      expect(await eventually(() => healthCheck(`127.0.0.1:${port}`), 10_000)).toBe("SERVING");
      expect(child.exitCode).toBeNull();
    } finally {
      expect(await proc.stop()).toBe(0);
    }
    expect(proc.lines.join("\n")).not.toMatch(/EPIPE|Unhandled/);
  });
});
