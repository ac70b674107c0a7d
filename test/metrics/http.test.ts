import { connect, type Socket } from "node:net";
import { request } from "undici";
import { afterEach, describe, expect, it } from "vitest";
import { METRICS_BOUNDS, serveMetrics } from "../../src/metrics/http.js";

/*
 * The metrics port has no credentials, so what one client can make it spend is bounded: renders of the registry
 * (the costly part) by a budget, connections by a cap, slow requests by timeouts.
 */

let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
});

/** A registry whose every render says how many renders there were. */
function countingRegistry(renderMs = 0) {
  let renders = 0;
  return {
    contentType: "text/plain; version=0.0.4; charset=utf-8",
    metrics: async () => {
      const n = ++renders;
      if (renderMs > 0) await new Promise((r) => setTimeout(r, renderMs));
      return `renders ${n}\n`;
    },
    renders: () => renders,
  };
}

async function scrape(port: number): Promise<string> {
  const res = await request(`http://127.0.0.1:${port}/metrics`);
  expect(res.statusCode).toBe(200);
  return res.body.text();
}

describe("GET /metrics under a flood", () => {
  it("renders fresh for the first scrapes, then at most the budget's rate; the rest get the last render", async () => {
    const registry = countingRegistry();
    const served = await serveMetrics(registry, "127.0.0.1:0");
    close = served.close;
    // A scraper's few scrapes in a row each see a fresh render.
    for (let i = 1; i <= 3; i++) expect(await scrape(served.port)).toBe(`renders ${i}\n`);

    const t0 = performance.now();
    const texts: string[] = [];
    for (let i = 0; i < 300; i++) texts.push(await scrape(served.port));
    const seconds = (performance.now() - t0) / 1000;
    const allowed = METRICS_BOUNDS.renderBurst + METRICS_BOUNDS.rendersPerSecond * seconds + 1;
    expect(registry.renders()).toBeLessThanOrEqual(3 + allowed);
    expect(registry.renders()).toBeLessThan(300);
    // Every scrape got a whole render, the newest there was.
    expect(texts.every((t) => /^renders \d+\n$/.test(t))).toBe(true);
    expect(texts.at(-1)).toBe(`renders ${registry.renders()}\n`);
  });

  it("concurrent scrapes share one render", async () => {
    const registry = countingRegistry(100);
    const served = await serveMetrics(registry, "127.0.0.1:0");
    close = served.close;
    const texts = await Promise.all(Array.from({ length: 8 }, () => scrape(served.port)));
    expect(registry.renders()).toBe(1);
    expect(new Set(texts)).toEqual(new Set(["renders 1\n"]));
  });

  it("keeps at most maxConnections connections; the rest are closed at once", async () => {
    const served = await serveMetrics(countingRegistry(), "127.0.0.1:0", { ...METRICS_BOUNDS, maxConnections: 4 });
    close = served.close;
    const sockets: Socket[] = [];
    const closedEarly: boolean[] = [];
    for (let i = 0; i < 10; i++) {
      const s = connect(served.port, "127.0.0.1");
      s.on("error", () => {});
      const index = i;
      closedEarly[index] = false;
      s.on("close", () => (closedEarly[index] = true));
      sockets.push(s);
      await new Promise((r) => s.once("connect", r));
    }
    await new Promise((r) => setTimeout(r, 300));
    expect(closedEarly.filter((c) => c)).toHaveLength(6);
    for (const s of sockets) s.destroy();
  });

  it("closes a connection whose request headers do not arrive within headersTimeoutMs", async () => {
    const served = await serveMetrics(countingRegistry(), "127.0.0.1:0", {
      ...METRICS_BOUNDS,
      headersTimeoutMs: 300,
      requestTimeoutMs: 600,
    });
    close = served.close;
    const s = connect(served.port, "127.0.0.1");
    s.on("error", () => {});
    await new Promise((r) => s.once("connect", r));
    s.write("GET /metrics HTTP/1.1\r\nHost: x\r\n"); // and never the blank line
    const t0 = performance.now();
    let answer = "";
    s.on("data", (d) => (answer += d.toString()));
    await new Promise((r) => s.once("close", r));
    expect(performance.now() - t0).toBeLessThan(2_000);
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
  });
});
