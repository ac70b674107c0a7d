import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { sha256 } from "../../src/auth/registry.js";

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
});
