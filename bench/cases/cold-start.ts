/**
 * Cold start: from spawn to the first grpc.health.v1 Check answering SERVING, with the production-like config.
 * `node -e ''` (spawn to exit) is the reference: the part no gateway change can remove.
 */

import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { credentials, makeGenericClientConstructor, type ServiceError } from "@grpc/grpc-js";
import { service as healthService } from "grpc-health-check";
import { type CaseResult, type Context, log } from "../context.js";
import { ROOT } from "../procs.js";
import { GATEWAY_ENV, writeGatewayConfig } from "../servers.js";
import { median, round } from "../stats.js";

const HealthClient = makeGenericClientConstructor(healthService, "Health");

function check(address: string): Promise<string> {
  const client = new HealthClient(address, credentials.createInsecure()) as unknown as {
    check(req: { service: string }, cb: (err: ServiceError | null, res: { status: string }) => void): void;
    close(): void;
  };
  return new Promise((resolve, reject) =>
    client.check({ service: "" }, (err, res) => {
      client.close();
      if (err) reject(err);
      else resolve(res.status);
    }),
  );
}

/** Spawn → listening line (stdout, read as it comes) → Check until SERVING; then SIGTERM. */
async function gatewayToServing(config: string): Promise<number> {
  const start = performance.now();
  const child = spawn(process.execPath, ["dist/src/main.js", "--config", config], {
    cwd: ROOT,
    env: { ...process.env, ...GATEWAY_ENV },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  try {
    const line = await new Promise<string>((resolve, reject) => {
      const lines = createInterface({ input: child.stdout });
      lines.on("line", (l) => l.includes("gateway listening") && resolve(l));
      child.once("exit", (code) => reject(new Error(`gateway exited ${code} before listening`)));
    });
    child.stdout.resume(); // keep draining: later log lines must never block it
    const { port } = JSON.parse(line) as { port: number };
    for (;;) {
      const status = await check(`127.0.0.1:${port}`).catch(() => "unreachable");
      if (status === "SERVING") return performance.now() - start;
      if (performance.now() - start > 20_000) throw new Error(`cold start: still ${status} after 20 s`);
    }
  } finally {
    child.kill("SIGTERM");
    await exited;
  }
}

async function bareNode(): Promise<number> {
  const start = performance.now();
  const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
  await new Promise((resolve) => child.once("exit", resolve));
  return performance.now() - start;
}

export async function coldStartCase(ctx: Context): Promise<CaseResult> {
  const config = writeGatewayConfig(mkdtempSync(join(ctx.dir, "cold-")), ctx.sim.url);
  const gateway: number[] = [];
  const node: number[] = [];
  await bareNode(); // the binary and the page cache, once
  for (let r = 0; r < ctx.settings.coldStartRounds; r++) {
    gateway.push(await gatewayToServing(config));
    node.push(await bareNode());
  }
  const g = median(gateway);
  const n = median(node);
  log(`cold start: gateway ${round(g)} ms, bare node ${round(n)} ms`);
  return {
    data: { gatewayMs: round(g), bareNodeMs: round(n), rounds: { gateway, node } },
    targets: [
      {
        target: "cold start to SERVING",
        measured: `${round(g)} ms (bare \`node -e ''\`: ${round(n)} ms)`,
        limit: "≤ 500 ms",
        pass: g <= 500,
      },
    ],
  };
}
