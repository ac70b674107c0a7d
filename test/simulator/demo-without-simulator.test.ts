/**
 * A production build carries the gateway (dist/src/) without the simulator (dist/simulator/). Its demo mode
 * must say so in one line and exit 2, not crash. The build is copied without dist/simulator/ to a temp dir.
 */
import { execFile } from "node:child_process";
import { cpSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";

const ROOT = new URL("../../", import.meta.url).pathname;
const image = mkdtempSync(join(tmpdir(), "gateway-without-simulator-"));
afterAll(() => rmSync(image, { recursive: true, force: true }));

it("demo mode without the simulator prints one line naming --config and exits 2", async () => {
  cpSync(join(ROOT, "dist", "src"), join(image, "dist", "src"), { recursive: true });
  cpSync(join(ROOT, "package.json"), join(image, "package.json"));
  cpSync(join(ROOT, "generated"), join(image, "generated"), { recursive: true });
  symlinkSync(join(ROOT, "node_modules"), join(image, "node_modules"));

  const env = { ...process.env };
  delete env["DIFY_GATEWAY_CONFIG"];
  const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [join(image, "dist", "src", "main.js"), "--listen", "127.0.0.1:0"],
      { env, timeout: 20_000 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr }),
    );
  });
  expect(result.stderr).toBe("demo mode needs the simulator, which this build does not include: pass --config\n");
  expect(result.code).toBe(2);
  expect(result.stdout).toBe("");
});
