import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { expect, it } from "vitest";

const ROOT = new URL("../../", import.meta.url).pathname;
// Debian's interpreter, where python3-grpcio and python3-protobuf live (scripts/system-deps.sh);
// a python3 earlier on PATH (pyenv) may lack them.
const PYTHON = "/usr/bin/python3";
const run = promisify(execFile);

async function python(args: string[], cwd: string, timeout: number): Promise<{ code: number; output: string }> {
  // The suite starts its own simulator and gateway from dist/ (global setup built it) with this node.
  const env = { ...process.env, NODE: process.execPath, PYTHONDONTWRITEBYTECODE: "1" };
  try {
    const { stdout, stderr } = await run(PYTHON, args, { cwd, env, timeout, maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, output: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number | string; stdout?: string; stderr?: string; message: string };
    return { code: typeof e.code === "number" ? e.code : -1, output: `${e.message}\n${e.stdout ?? ""}${e.stderr ?? ""}` };
  }
}

it("the Python client's tests pass against real gateway and simulator processes (clients/python/tests)", { timeout: 180_000 }, async () => {
  const { code, output } = await python(["-m", "unittest", "discover", "-s", "tests", "-t", ".", "-v"], `${ROOT}clients/python`, 170_000);
  expect(code, output).toBe(0);
  // Guards against a discovery that finds nothing, which unittest would call a success.
  expect(output).toMatch(/^Ran ([1-9]\d+) tests/m);
});

it("the committed Python stubs match proto/ (npm run proto:python regenerates them)", { timeout: 60_000 }, async () => {
  const { code, output } = await python(["clients/python/generate.py", "--check"], ROOT, 55_000);
  expect(code, output).toBe(0);
});
