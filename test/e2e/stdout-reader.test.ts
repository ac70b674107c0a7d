import { status } from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import { sha256 } from "../../src/auth/registry.js";
import { bearer, clients, healthCheck, unary } from "../helpers/grpc.js";
import { freePort, type GatewayProcess, startGatewayProcess } from "../helpers/processes.js";

/*
 * The gateway's stdout is a pipe to a log shipper. A shipper that has gone (the pipe's read end closed) or that stops
 * reading must neither stall the gateway nor keep it from exiting: before, pino's exit-time flush retried a broken
 * pipe every 100 ms forever, and a SIGTERM never ended the process.
 */

const TOKEN = "tok-stdout-reader-0a9b8c7d6e5f";
const GRACE_MS = 300;
/** The exit bound the README promises (grace + 2 s), with room for a loaded machine to notice the exit. */
const EXIT_BOUND_MS = GRACE_MS + 2_000 + 1_000;

let gw: GatewayProcess | undefined;
afterEach(async () => {
  await gw?.proc.stop("SIGKILL");
  gw = undefined;
});

async function start(): Promise<GatewayProcess> {
  gw = await startGatewayProcess(
    {
      server: { listen: `127.0.0.1:${await freePort()}` },
      shutdown: { graceMs: GRACE_MS },
      workspaces: [
        {
          id: "ws-stdout",
          // Nothing listens there; no call here reaches Dify.
          difyBaseUrl: `http://127.0.0.1:${await freePort()}/v1`,
          tokens: [{ sha256: sha256(TOKEN).toString("hex") }],
          apps: [{ appId: "a1b2c3d4-0000-4000-8000-0000000057d0", key: { env: "K" }, mode: "chat" }],
        },
      ],
    },
    { K: "app-key-stdout-reader" },
  );
  return gw;
}

/** `n` calls for an app the workspace does not have: NOT_FOUND, one log line each (~300 bytes). */
async function logLines(address: string, n: number): Promise<void> {
  const c = clients(address);
  for (let i = 0; i < n; i += 50)
    await Promise.all(
      Array.from({ length: 50 }, () =>
        unary(
          c.chat.chatInvoke,
          c.chat,
          { appId: "no-such-app", query: "q", inputs: {}, files: [], user: "", conversationId: "" },
          bearer(TOKEN),
        ).then(
          () => expect.fail("answered"),
          (err: { code: number }) => expect(err.code).toBe(status.NOT_FOUND),
        ),
      ),
    );
  c.close();
}

async function sigtermAndTime(g: GatewayProcess): Promise<{ code: number | null; ms: number }> {
  const t0 = Date.now();
  g.proc.child.kill("SIGTERM");
  const code = await Promise.race([g.proc.exited, new Promise<"alive">((r) => setTimeout(() => r("alive"), EXIT_BOUND_MS + 2_000))]);
  expect(code, "still running after SIGTERM").not.toBe("alive");
  return { code: code as number | null, ms: Date.now() - t0 };
}

describe("stdout's reader", () => {
  it("gone (read end closed): a SIGTERM still ends the gateway with 0 within grace + 2 s", async () => {
    const g = await start();
    g.proc.child.stdout!.destroy();
    // No line written in between: the shutdown's own lines are the first to meet the closed pipe, at exit.
    expect(await healthCheck(g.address)).toBe("SERVING");
    const { code, ms } = await sigtermAndTime(g);
    expect(code).toBe(0);
    expect(ms).toBeLessThan(EXIT_BOUND_MS);
  });

  it("stalled (never reads again): calls and health answer while the pipe is full, and a SIGTERM ends it within grace + 2 s", async () => {
    const g = await start();
    g.proc.child.stdout!.pause();
    // ~600 lines: well past a pipe's 64 KiB, so the gateway's writes wait on the reader.
    await logLines(g.address, 600);
    const t0 = performance.now();
    expect(await healthCheck(g.address)).toBe("SERVING");
    expect(performance.now() - t0).toBeLessThan(1_000);
    const { code, ms } = await sigtermAndTime(g);
    expect(code).toBe(0);
    expect(ms).toBeLessThan(EXIT_BOUND_MS);
  });
});
