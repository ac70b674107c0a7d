import { readFileSync } from "node:fs";
import { type ClientReadableStream, credentials, makeGenericClientConstructor, type ServiceError, status } from "@grpc/grpc-js";
import { service as healthService } from "grpc-health-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sha256 } from "../../src/auth/registry.js";
import { healthCheck } from "../helpers/grpc.js";
import { type GatewayProcess, startGatewayProcess } from "../helpers/processes.js";

// Attacks on grpc.health.v1.Health, which answers without credentials (kubelet probes), against a real
// gateway process with the heap the image ships (NODE_OPTIONS in deploy/): 384 MB.

interface Health {
  check(req: { service: string }, cb: (err: ServiceError | null, res: { status: string }) => void): void;
  watch(req: { service: string }): ClientReadableStream<{ status: string }>;
  close(): void;
}
const HealthClient = makeGenericClientConstructor(healthService, "Health");

/** Just under grpc-js's default 4 MiB receive limit (the gateway's default too), so each name reaches the handler. */
const HUGE_NAME_BYTES = 4 * 1024 * 1024 - 64;
/** Watches in flight at once: the attacker's parallelism, which (not the number of calls) sets the peak. */
const IN_FLIGHT = 5;
/**
 * RSS bound for the gateway during the attack. Idle it sits near 100 MB; each 4 MB name passes through grpc-js
 * as HTTP/2 chunks, a ~4 MB message buffer and a ~4 MB string until GC: ~12 MB per Watch in flight, so about
 * 100 + 5 × 12 = 160 MB expected, with margin for GC timing. Before the fix every name was kept
 * (200 × 4 MB = 800 MB > the 384 MB heap: the process died after ~100 calls).
 */
const RSS_LIMIT_MB = 250;

let gw: GatewayProcess;
let client: Health;

beforeAll(async () => {
  gw = await startGatewayProcess(
    {
      server: { listen: "127.0.0.1:0" },
      log: { level: "info" },
      workspaces: [
        {
          id: "ws",
          difyBaseUrl: "http://127.0.0.1:9",
          tokens: [{ sha256: sha256("health-attack-token-0123456789").toString("hex") }],
          apps: [{ appId: "a", key: { env: "HA_KEY" }, mode: "chat" }],
        },
      ],
    },
    { NODE_OPTIONS: "--max-old-space-size=384", HA_KEY: "app-health-attack" },
  );
  client = new HealthClient(gw.address, credentials.createInsecure(), { "grpc.max_send_message_length": -1 }) as unknown as Health;
});

afterAll(async () => {
  client?.close();
  await gw?.proc.stop();
});

function rssMb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8")
    .split("\n")
    .find((l) => l.startsWith("VmRSS:"));
  return Number(line?.match(/(\d+)/)?.[1]) / 1024;
}

/** Opens a Watch and never cancels it; resolves with how the gateway ended it (or what it sent first). */
function watchAndHold(service: string): Promise<{ code?: number; first?: string }> {
  return new Promise((resolve) => {
    const call = client.watch({ service });
    call.on("data", (m: { status: string }) => resolve({ first: m.status }));
    call.on("error", (err: ServiceError) => resolve({ code: err.code }));
  });
}

describe("health under attack", () => {
  it("200 Watch calls with ~4 MB names: each refused INVALID_ARGUMENT, process alive and SERVING, RSS bounded", async () => {
    const name = (i: number) => `${i}`.padEnd(HUGE_NAME_BYTES, "x");
    const outcomes: { code?: number; first?: string }[] = [];
    const idle = rssMb(gw.proc.child.pid!);
    let peak = 0;
    for (let batch = 0; batch < 200 / IN_FLIGHT; batch++) {
      outcomes.push(...(await Promise.all(Array.from({ length: IN_FLIGHT }, (_, i) => watchAndHold(name(batch * IN_FLIGHT + i))))));
      peak = Math.max(peak, rssMb(gw.proc.child.pid!));
    }
    console.log(`health attack: gateway RSS idle ${idle.toFixed(1)} MB, peak ${peak.toFixed(1)} MB during 200 × 4 MiB Watch names`);
    expect(gw.proc.child.exitCode).toBeNull();
    expect(await healthCheck(gw.address)).toBe("SERVING");
    expect(peak).toBeLessThan(RSS_LIMIT_MB);
    expect(outcomes).toHaveLength(200);
    expect(outcomes.every((o) => o.code === status.INVALID_ARGUMENT)).toBe(true);
  }, 120_000);

  it("Watch on unknown short names answers SERVICE_UNKNOWN and keeps the stream open", async () => {
    const outcomes = await Promise.all(Array.from({ length: 50 }, (_, i) => watchAndHold(`no.such.Service${i}`)));
    expect(outcomes.every((o) => o.first === "SERVICE_UNKNOWN")).toBe(true);
  });

  it("Check with a 100 KB name answers INVALID_ARGUMENT promptly, without echoing it", async () => {
    const started = performance.now();
    const err = await new Promise<ServiceError | null>((resolve) => client.check({ service: "n".repeat(100_000) }, (e) => resolve(e)));
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(err?.code).toBe(status.INVALID_ARGUMENT);
    expect(err?.details).toBe("service: longer than 200 bytes");
  });
});
