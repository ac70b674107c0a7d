import { execFile } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join, relative } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, it } from "vitest";
import { CLIENT_TOKEN, type ClientStack, startClientStack } from "./stack.js";

// The install path a plugin author follows (README "Calling from your plugin" → Python), offline:
// build the wheel with Debian's python3-build, install it into a fresh venv, run the shipped example.
const ROOT = new URL("../../", import.meta.url).pathname;
const CLIENT_DIR = join(ROOT, "clients/python");
const EXAMPLE = join(ROOT, "examples/python/stream_chat.py");
// Debian's interpreter: python3-build, python3-venv, python3-grpcio, python3-protobuf (scripts/system-deps.sh).
const PYTHON = "/usr/bin/python3";
const run = promisify(execFile);

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command; a non-zero exit is a result to assert on, not a throw. */
async function exec(file: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; timeout: number }): Promise<Result> {
  try {
    const { stdout, stderr } = await run(file, args, { ...opts, maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number | string; stdout?: string; stderr?: string; message: string };
    return { code: typeof e.code === "number" ? e.code : -1, stdout: e.stdout ?? "", stderr: `${e.message}\n${e.stderr ?? ""}` };
  }
}

async function ok(file: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; timeout: number }): Promise<string> {
  const r = await exec(file, args, opts);
  expect(r.code, `${file} ${args.join(" ")}\n${r.stdout}${r.stderr}`).toBe(0);
  return r.stdout;
}

/** The environment a user's shell would have: none of our settings, no PYTHONPATH to the source tree. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const base = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith("DIFY_") && !k.startsWith("PYTHON") && k !== "TOKEN" && k !== "VIRTUAL_ENV"),
  );
  return { ...base, PYTHONDONTWRITEBYTECODE: "1", ...extra };
}

/** Every file under dir, relative to it, without bytecode caches. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile() && !d.parentPath.includes("__pycache__"))
    .map((d) => relative(dir, join(d.parentPath, d.name)))
    .sort();
}

let tmp: string;
let wheel: string;
let wheelFiles: string[];
let venvPython: string;
let s: ClientStack | undefined;

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), "python-wheel-"));
  // Build from a copy: setuptools builds in-tree, and a build/ left by an earlier build can put
  // stale files into the wheel; the copy also keeps the worktree clean while other tests read it.
  const src = join(tmp, "src");
  cpSync(CLIENT_DIR, src, {
    recursive: true,
    filter: (p) => !["build", "dist", "__pycache__"].includes(basename(p)) && !p.endsWith(".egg-info"),
  });
  const out = join(tmp, "wheelhouse");
  await ok(PYTHON, ["-m", "build", "--wheel", "--no-isolation", "--outdir", out, src], { cwd: tmp, env: cleanEnv(), timeout: 120_000 });
  const built = readdirSync(out).filter((f) => f.endsWith(".whl"));
  expect(built).toHaveLength(1);
  wheel = join(out, built[0]!);
  const listing = await ok(PYTHON, ["-c", "import sys, zipfile; print('\\n'.join(zipfile.ZipFile(sys.argv[1]).namelist()))", wheel], {
    cwd: tmp,
    timeout: 30_000,
  });
  wheelFiles = listing.split("\n").filter(Boolean).sort();

  // A fresh venv that sees Debian's grpcio and protobuf, as the README says to make one.
  const venv = join(tmp, "venv");
  await ok(PYTHON, ["-m", "venv", "--system-site-packages", venv], { cwd: tmp, env: cleanEnv(), timeout: 120_000 });
  venvPython = join(venv, "bin/python");
  // --no-index and no --no-deps: pip must find grpcio and protobuf at the versions the wheel
  // declares among Debian's packages, or fail; that checks the declared dependencies too.
  await ok(venvPython, ["-m", "pip", "install", "--no-index", "--disable-pip-version-check", wheel], {
    cwd: tmp,
    env: cleanEnv(),
    timeout: 120_000,
  });

  s = await startClientStack({ simulatorArgs: ["--token-delay-ms", "20"], excludeModes: ["agent"] });
}, 300_000);

afterAll(async () => {
  await s?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

it("the wheel carries the package with every committed generated stub, and no tests", () => {
  const stubs = filesUnder(join(CLIENT_DIR, "dify_app_client/_proto")).map((f) => `dify_app_client/_proto/${f}`);
  expect(stubs).toContain("dify_app_client/_proto/dify/app/v1/chat_pb2_grpc.py");
  expect(stubs).toContain("dify_app_client/_proto/google/rpc/error_details_pb2.py");
  expect(wheelFiles.filter((f) => f.startsWith("dify_app_client/_proto/"))).toEqual(stubs);
  expect(wheelFiles).toEqual(
    expect.arrayContaining(["dify_app_client/__init__.py", "dify_app_client/_client.py", "dify_app_client/py.typed"]),
  );
  expect(wheelFiles.filter((f) => /(^|\/)tests?\//.test(f) || /(^|\/)test_[^/]*\.py$/.test(f))).toEqual([]);
  // Only the package and its metadata at the top: nothing else from the source tree.
  expect(new Set(wheelFiles.map((f) => f.split("/")[0]))).toEqual(new Set(["dify_app_client", "dify_app_client-0.1.0.dist-info"]));
});

it("the venv imports the installed package, not the source tree, and its dependencies come from Debian", { timeout: 60_000 }, async () => {
  const out = await ok(
    venvPython,
    [
      "-c",
      "import dify_app_client, grpc, google.protobuf, importlib.metadata as m; print(dify_app_client.__file__); print(m.requires('dify-app-client')); print(grpc.__file__)",
    ],
    { cwd: tmp, env: cleanEnv(), timeout: 55_000 },
  );
  const [pkg, requires, grpc] = out.trim().split("\n");
  expect(pkg).toBe(join(tmp, "venv/lib", readdirSync(join(tmp, "venv/lib"))[0]!, "site-packages/dify_app_client/__init__.py"));
  // setuptools 66 writes "grpcio (>=1.51)"; newer ones "grpcio>=1.51".
  expect(requires?.replace(/[ ()]/g, "")).toBe("['grpcio>=1.51','protobuf>=4.21']");
  expect(grpc).toMatch(/^\/usr\/lib\/python3\/dist-packages\/grpc\//);
});

it("the shipped example, run with the venv's python, streams a chat app's events through the gateway", { timeout: 60_000 }, async () => {
  // From a directory outside the repository and without PYTHONPATH: only the installed wheel can
  // provide dify_app_client.
  const r = await exec(venvPython, [EXAMPLE, "What is gRPC?"], {
    cwd: tmp,
    env: cleanEnv({ DIFY_GATEWAY_TARGET: s!.address, DIFY_GATEWAY_TOKEN: CLIENT_TOKEN, DIFY_APP_ID: s!.appId("chat") }),
    timeout: 55_000,
  });
  expect(r.code, r.stderr).toBe(0);
  const events = r.stdout
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  expect(events.length).toBeGreaterThan(3);
  expect(events.at(-1)?.event).toBe("message_end");
  const answer = events
    .filter((e) => e.event === "message")
    .map((e) => e.answer)
    .join("");
  expect(answer.startsWith("Echo from Demo Chatbot: What is gRPC?"), answer).toBe(true);
  expect(r.stdout + r.stderr).not.toContain(CLIENT_TOKEN);
});

it("without the venv, the same example cannot import the client (the check above is not passing by accident)", {
  timeout: 60_000,
}, async () => {
  const r = await exec(PYTHON, [EXAMPLE, "Hi"], {
    cwd: tmp,
    env: cleanEnv({ DIFY_GATEWAY_TARGET: s!.address, DIFY_GATEWAY_TOKEN: CLIENT_TOKEN }),
    timeout: 55_000,
  });
  expect(r.code).toBe(1);
  expect(r.stderr).toContain("ModuleNotFoundError: No module named 'dify_app_client'");
});
