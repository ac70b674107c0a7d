import type { ClientReadableStream, ServiceError } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_APPS } from "../../simulator/index.js";
import { sha256 } from "../../src/auth/registry.js";
import { bearer, clients } from "../helpers/grpc.js";
import { freePort, type GatewayProcess, type SimulatorProcess, startGatewayProcess, startSimulatorProcess } from "../helpers/processes.js";

/*
 * SIGTERM while a reader is slow: the run has finished and the handler is done, but the last large messages and
 * the status still wait in the HTTP/2 buffers for the reader. The drain gives such a call its grace too; before,
 * the gateway forced its connections shut ~0.75 s after the signal and the reader got the first event, then
 * INTERNAL "Received RST_STREAM with code 0", while the gateway logged the call as finished.
 */

const TOKEN = "tok-shutdown-slow-reader-0a1b2c3d";
const GRACE_MS = 10_000;
const READER_PAUSE_MS = 2_000;
const workflow = DEMO_APPS.find((a) => a.mode === "workflow")!;

let sim: SimulatorProcess;
let gw: GatewayProcess;
beforeAll(async () => {
  sim = await startSimulatorProcess(["--token-delay-ms", "5"]);
  gw = await startGatewayProcess(
    {
      server: { listen: `127.0.0.1:${await freePort()}` },
      shutdown: { graceMs: GRACE_MS },
      workspaces: [
        {
          id: "acme",
          difyBaseUrl: sim.url,
          tokens: [{ sha256: sha256(TOKEN).toString("hex") }],
          apps: [{ appId: workflow.appId, key: { env: "K" }, mode: "workflow" }],
        },
      ],
    },
    { K: workflow.key },
  );
});
afterAll(async () => {
  await gw?.proc.stop("SIGKILL");
  await sim?.proc.stop();
});

describe("SIGTERM with a slow reader", () => {
  it("waits, within the grace, until the reader has the whole answer: every event, then OK, then the exit", async () => {
    const c = clients(gw.address);
    const request = { appId: workflow.appId, inputs: { _sim: { fault: "big_event", bytes: 300_000 } }, files: [], user: "" };
    const call = c.workflow.workflowInvokeStream(request, bearer(TOKEN)) as ClientReadableStream<{ event: string }>;
    const events: string[] = [];
    const calledAt = performance.now();
    let endedAt = 0;
    const ended = new Promise<ServiceError | undefined>((resolve) => {
      call.on("error", (err: ServiceError) => resolve(err));
      call.on("end", () => resolve(undefined));
    }).finally(() => (endedAt = performance.now()));
    await new Promise<void>((resolve) =>
      call.on("data", (m: { event: string }) => {
        events.push(m.event);
        if (events.length > 1) return;
        call.pause();
        setTimeout(() => call.resume(), READER_PAUSE_MS);
        resolve();
      }),
    );
    // The signal while the run is still streaming from Dify; it ends soon after, while the reader sleeps.
    await new Promise((r) => setTimeout(r, Math.max(0, calledAt + 300 - performance.now())));
    const signalledAt = performance.now();
    gw.proc.child.kill("SIGTERM");
    const [error, code] = await Promise.all([ended, gw.proc.exited]);
    const exitedAt = performance.now();
    c.close();

    expect(error).toBeUndefined();
    expect(events.at(-1)).toBe("workflow_finished");
    expect(events).toContain("text_chunk");
    expect(code).toBe(0);
    // It waited for the reader, not for the whole grace.
    expect(endedAt - signalledAt).toBeGreaterThan(READER_PAUSE_MS - 300 - 300);
    expect(exitedAt - signalledAt).toBeLessThan(GRACE_MS);
    const calls = gw.proc.lines.filter((l) => l.includes('"msg":"call'));
    expect(calls).toHaveLength(1);
    expect(calls[0]).toContain('"grpcCode":"OK"');
  });
});
