import { execFile, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sha256 } from "../../src/auth/registry.js";
import { healthCheck } from "../helpers/grpc.js";
import { eventually, freePort, Proc, startGatewayProcess, startSimulatorProcess } from "../helpers/processes.js";

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
    writeFileSync(
      file,
      "workspaces:\n  - id: acme\n    difyBaseUrl: https://dify.example.com\n    tokens: []\n    apps: [{ appId: a, key: { env: UNSET_KEY_VAR } }]\n",
    );
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

  it("a --listen or server.listen that is no host:port, or whose port is past 65535, is one line naming it; exit 2 or 1", async () => {
    for (const [listen, problem] of [
      ["127.0.0.1", "must be host:port, e.g. 127.0.0.1:50051"],
      ["127.0.0.1:99999", "the port must be 0-65535"],
    ] as const) {
      const demo = await run(["--listen", listen]);
      expect([demo.code, demo.stderr.trim()]).toEqual([2, `error: --listen ${problem}, got '${listen}'`]);
    }
    const dir = mkdtempSync(join(tmpdir(), "gw-listen-"));
    const file = join(dir, "gateway.yaml");
    writeFileSync(join(dir, "chat.key"), "app-listen-key\n");
    writeFileSync(
      file,
      `server: { listen: "127.0.0.1:99999" }\nworkspaces:\n  - id: acme\n    difyBaseUrl: https://dify.example.com/v1\n    tokens: [{ sha256: ${"a".repeat(64)} }]\n    apps: [{ appId: a, key: { file: chat.key } }]\n`,
    );
    const checked = await run(["check-config", file]);
    expect(checked.code).toBe(1);
    expect(checked.stderr).toContain("server.listen: the port must be 0-65535");
    expect(checked.stderr).not.toMatch(/\n\s+at /);
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

  describe("manners: one line for an operator's mistake, no stack trace", () => {
    const noStack = (text: string) => expect(text).not.toMatch(/^\s+at |fatal:|Error:|gateway\.cjs/m);

    it("--version prints the name, the package version and node's", async () => {
      const { code, stdout, stderr } = await run(["--version"]);
      const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
      expect(code).toBe(0);
      expect(stdout).toBe(`dify-grpc-gateway ${pkg.version} (node ${process.version})\n`);
      expect(stderr).toBe("");
    });

    it("a typo in a flag is named with the flag it was meant to be, then the usage; exit 2", async () => {
      const { code, stdout, stderr } = await run(["--conifg", "gateway.yaml"]);
      expect(code).toBe(2);
      expect(stdout).toBe("");
      const [first, ...rest] = stderr.split("\n");
      expect(first).toBe("error: unknown option '--conifg' (did you mean --config?)");
      expect(rest.join("\n")).toContain("Usage:");
      noStack(stderr);
    });

    it("an unknown flag far from every known one gets no guess; an unknown command is named too", async () => {
      const far = await run(["--frobnicate"]);
      expect(far.code).toBe(2);
      expect(far.stderr.split("\n")[0]).toBe("error: unknown option '--frobnicate'");
      noStack(far.stderr);
      const command = await run(["chek-config"]);
      expect(command.code).toBe(2);
      expect(command.stderr.split("\n")[0]).toBe("error: unknown command 'chek-config'");
      noStack(command.stderr);
    });

    describe("a busy port", () => {
      let holder: Server;
      let busy: number;
      beforeAll(async () => {
        holder = createServer();
        busy = await new Promise<number>((resolve) =>
          holder.listen(0, "127.0.0.1", () => resolve((holder.address() as { port: number }).port)),
        );
      });
      afterAll(() => new Promise<void>((resolve) => holder.close(() => resolve())));

      it("server.listen taken: one line naming the address and the config key; exit 1", async () => {
        const dir = mkdtempSync(join(tmpdir(), "cli-"));
        const file = join(dir, "gateway.yaml");
        writeFileSync(
          file,
          `server: { listen: "127.0.0.1:${busy}" }\nmetrics: { listen: "127.0.0.1:0" }\nworkspaces:\n  - id: acme\n    difyBaseUrl: http://127.0.0.1:9/v1\n    tokens: [{ sha256: ${"a".repeat(64)} }]\n    apps: [{ appId: a, key: { env: HOME } }]\n`,
        );
        const { code, stdout, stderr } = await run(["--config", file]);
        expect(code).toBe(1);
        expect(stdout).toBe("");
        expect(stderr).toBe(
          `error: 127.0.0.1:${busy} is already in use: stop what listens there, or pick another port with server.listen in ${file}\n`,
        );
      });

      it("server.listen on a host name that does not resolve: one line naming server.listen, no stack; exit 1", async () => {
        const dir = mkdtempSync(join(tmpdir(), "cli-"));
        const file = join(dir, "gateway.yaml");
        writeFileSync(
          file,
          `server: { listen: "no-such-host.invalid:50051" }\nmetrics: { listen: "127.0.0.1:0" }\nworkspaces:\n  - id: acme\n    difyBaseUrl: http://127.0.0.1:9/v1\n    tokens: [{ sha256: ${"a".repeat(64)} }]\n    apps: [{ appId: a, key: { env: HOME } }]\n`,
        );
        const { code, stdout, stderr } = await run(["--config", file]);
        expect(code).toBe(1);
        expect(stdout).toBe("");
        expect(stderr).toBe(
          `error: no-such-host.invalid:50051: the host name does not resolve: fix server.listen in ${file} (an address such as 0.0.0.0 or 127.0.0.1)\n`,
        );
      });

      it("metrics.listen taken: names metrics.listen", async () => {
        const dir = mkdtempSync(join(tmpdir(), "cli-"));
        const file = join(dir, "gateway.yaml");
        writeFileSync(
          file,
          `server: { listen: "127.0.0.1:0" }\nmetrics: { listen: "127.0.0.1:${busy}" }\nworkspaces:\n  - id: acme\n    difyBaseUrl: http://127.0.0.1:9/v1\n    tokens: [{ sha256: ${"a".repeat(64)} }]\n    apps: [{ appId: a, key: { env: HOME } }]\n`,
        );
        const { code, stderr } = await run(["--config", file]);
        expect(code).toBe(1);
        expect(stderr.trim().split("\n")).toEqual([expect.stringContaining(`pick another port with metrics.listen in ${file}`)]);
      });

      it("the demo: names --listen, --metrics-port or --simulator-port, whichever is taken", async () => {
        for (const [args, flag] of [
          [["--listen", `127.0.0.1:${busy}`], "--listen"],
          [["--listen", "127.0.0.1:0", "--metrics-port", String(busy)], "--metrics-port"],
          [["--listen", "127.0.0.1:0", "--simulator-port", String(busy)], "--simulator-port"],
        ] as const) {
          const { code, stderr } = await run([...args]);
          expect(code, flag).toBe(1);
          expect(stderr).toBe(`error: 127.0.0.1:${busy} is already in use: stop what listens there, or pick another port with ${flag}\n`);
        }
      });
    });

    it("the demo pins its simulator and metrics ports when asked", async () => {
      const [grpcPort, simulatorPort, metricsPort] = [await freePort(), await freePort(), await freePort()];
      const child = spawn(
        process.execPath,
        [MAIN, "--listen", `127.0.0.1:${grpcPort}`, "--simulator-port", String(simulatorPort), "--metrics-port", String(metricsPort)],
        {
          stdio: ["ignore", "pipe", "pipe"],
          env: { ...process.env, DIFY_GATEWAY_DEMO_TOKEN: "demo-token-pinned-for-this-test-0123" },
        },
      );
      const proc = new Proc(child);
      try {
        await proc.waitForLine((l) => l.includes("Metrics: curl"));
        const out = proc.lines.join("\n");
        expect(out).toContain(`embedded Dify simulator at http://127.0.0.1:${simulatorPort}/v1`);
        expect(out).toContain(`export TOKEN=demo-token-pinned-for-this-test-0123`);
        const metrics = await (await request(`http://127.0.0.1:${metricsPort}/metrics`)).body.text();
        expect(metrics).toContain(`dify_gateway_build_info{version="`);
        expect(metrics).toMatch(new RegExp(`dify_gateway_build_info\\{version="[^"]+",node="${process.version}"\\} 1`));
        // No limits.redis: no Redis gauge that an alert would read as "down".
        expect(metrics).not.toContain("dify_gateway_limiter_redis_up");
      } finally {
        expect(await proc.stop()).toBe(0);
      }
    });
  });

  it("the simulator run alone lists its apps and their keys, and keeps stdout one JSON line", async () => {
    const sim = await startSimulatorProcess();
    try {
      await sim.proc.waitForLine((l) => l.includes("app-sim-chat-"));
      const text = sim.proc.lines.join("\n");
      expect(text).toMatch(/chat\s+a1c00000-0000-4000-8000-000000000001\s+key app-sim-chat-/);
      expect(text).toMatch(/workflow\s+a1c00000-0000-4000-8000-000000000004\s+key app-sim-/);
    } finally {
      await sim.proc.stop();
    }
  });

  it("counts config reloads and rejected reloads in /metrics", async () => {
    const config = {
      // A free port, not the default 0.0.0.0:50051, which a developer's `npm start` may hold.
      server: { listen: "127.0.0.1:0" },
      workspaces: [
        {
          id: "acme",
          difyBaseUrl: "http://127.0.0.1:9/v1",
          tokens: [{ sha256: "0".repeat(64) }],
          apps: [{ appId: "a", key: { env: "HOME" } }],
        },
      ],
    };
    const gw = await startGatewayProcess(config);
    const scrape = async () => (await (await request(gw.metricsUrl ?? "")).body.text()).split("\n");
    const value = (lines: string[], name: string) => Number(lines.find((l) => l.startsWith(`${name} `))?.split(" ")[1]);
    try {
      let lines = await scrape();
      expect(value(lines, "dify_gateway_config_reloads_total")).toBe(0);
      expect(value(lines, "dify_gateway_config_reload_failures_total")).toBe(0);
      gw.proc.child.kill("SIGHUP");
      await gw.proc.waitForLine((l) => l.includes('"config reloaded"'));
      writeFileSync(gw.configFile, "workspaces: [");
      gw.proc.child.kill("SIGHUP");
      await gw.proc.waitForLine((l) => l.includes("config reload rejected"));
      lines = await scrape();
      expect(value(lines, "dify_gateway_config_reloads_total")).toBe(1);
      expect(value(lines, "dify_gateway_config_reload_failures_total")).toBe(1);
    } finally {
      await gw.proc.stop();
    }
  });
});

describe("check-config --probe (the doctor)", () => {
  let sim: Awaited<ReturnType<typeof startSimulatorProcess>>;
  beforeAll(async () => {
    sim = await startSimulatorProcess();
  });
  afterAll(() => sim.proc.stop());

  const TOKEN_HASH = sha256("probe-cli-token-0123456789abc").toString("hex");
  function writeConfig(baseUrl: string, apps: { appId: string; key: string; mode?: string }[]): string {
    const dir = mkdtempSync(join(tmpdir(), "cli-probe-"));
    apps.forEach((a, i) => writeFileSync(join(dir, `app${i}.key`), a.key));
    const file = join(dir, "gateway.json");
    const entries = apps.map((a, i) => ({ appId: a.appId, key: { file: `app${i}.key` }, ...(a.mode ? { mode: a.mode } : {}) }));
    writeFileSync(
      file,
      JSON.stringify({ workspaces: [{ id: "acme", difyBaseUrl: baseUrl, tokens: [{ sha256: TOKEN_HASH }], apps: entries }] }),
    );
    return file;
  }
  const chat = { appId: "a1c00000-0000-4000-8000-000000000001", key: "app-sim-chat-3f9a1c" };
  const workflow = { appId: "a1c00000-0000-4000-8000-000000000004", key: "app-sim-workflow-9e1f6b" };
  const probeLines = (stdout: string) => stdout.split("\n").filter((l) => /^(ok|FAIL) {2}/.test(l));

  it("serving with a config, start-up logs each problem as one warn line and serves anyway", async () => {
    const gw = await startGatewayProcess(
      {
        server: { listen: "127.0.0.1:0" },
        workspaces: [
          {
            id: "acme",
            difyBaseUrl: sim.url,
            tokens: [{ sha256: TOKEN_HASH }],
            apps: [
              { appId: chat.appId, key: { env: "CHAT_KEY" } },
              { appId: "other", key: { env: "OTHER_KEY" } },
            ],
          },
        ],
      },
      { CHAT_KEY: chat.key, OTHER_KEY: "app-not-a-real-key-456" },
    );
    try {
      await gw.proc.waitForLine((l) => l.includes('"Dify check done"'));
      const warns = gw.proc.json().filter((l) => l.level === 40);
      expect(warns.map((l) => l.msg)).toEqual([
        "Dify check: the app key of acme/other was refused by Dify: check workspaces[0].apps[1].key",
      ]);
      expect(await healthCheck(gw.address)).toBe("SERVING");
      expect(gw.proc.lines.join("\n")).not.toContain("app-not-a-real-key-456");
    } finally {
      await gw.proc.stop();
    }
  });

  it("--probe outside check-config is a usage error, exit 2", async () => {
    const { code, stderr } = await run(["--probe"]);
    expect(code).toBe(2);
    expect(stderr.split("\n")[0]).toBe("error: --probe goes with check-config");
  });

  it("prints ok per app and exits 0 when Dify accepts every key", async () => {
    const { code, stdout } = await run(["check-config", "--probe", writeConfig(sim.url, [chat, { ...workflow, mode: "workflow" }])]);
    expect(probeLines(stdout)).toEqual([`ok    acme/${chat.appId} (chat)`, `ok    acme/${workflow.appId} (workflow)`]);
    expect(code).toBe(0);
  });

  it("exits 1 and names the fix for a wrong key, a mode differing from the config, a base URL without /v1 and a closed port", async () => {
    const wrongKey = await run([
      "check-config",
      "--probe",
      writeConfig(sim.url, [chat, { appId: "other", key: "app-not-a-real-key-123" }]),
    ]);
    expect(wrongKey.code).toBe(1);
    expect(probeLines(wrongKey.stdout)).toEqual([
      `ok    acme/${chat.appId} (chat)`,
      "FAIL  acme/other: the app key of acme/other was refused by Dify: check workspaces[0].apps[1].key",
    ]);
    expect(wrongKey.stdout + wrongKey.stderr).not.toContain("app-not-a-real-key-123");

    const mode = await run(["check-config", "--probe", writeConfig(sim.url, [{ ...workflow, mode: "chat" }])]);
    expect(mode.code).toBe(1);
    expect(probeLines(mode.stdout)[0]).toContain("set workspaces[0].apps[0].mode to workflow");

    const noV1 = await run(["check-config", "--probe", writeConfig(sim.url.replace(/\/v1$/, ""), [chat])]);
    expect(noV1.code).toBe(1);
    expect(probeLines(noV1.stdout)[0]).toMatch(/^FAIL {2}acme\/.*difyBaseUrl should end with \/v1$/);

    const port = await freePort();
    const closed = await run(["check-config", "--probe", writeConfig(`http://127.0.0.1:${port}/v1`, [chat])]);
    expect(closed.code).toBe(1);
    expect(probeLines(closed.stdout)).toEqual([`FAIL  acme/${chat.appId}: cannot reach Dify at http://127.0.0.1:${port}/v1: ECONNREFUSED`]);
    expect(closed.stderr).not.toMatch(/\n\s+at /);
  });
});
