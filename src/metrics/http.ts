import type { Server } from "node:http";
import { createRequire } from "node:module";

// Required, not imported: on Node 22 an ES import of node:http builds the module's ES facade, which reads every
// export, lazy getters included (WebSocket, MessageEvent), and so loads Node's internal undici: 64-69 ms against 9
// for a require, on every start (docs/PERFORMANCE.md, "Cold start on Node 22"). Node 20 has no such getters.
const { createServer } = createRequire(import.meta.url)("node:http") as typeof import("node:http");

/**
 * What a client of this port (it has no credentials) can make the gateway spend. A render of the registry took ~1.2
 * ms of the event loop (the demo's registry, 12.8 KB): one client scraping in a loop held 77 % of a core, and 32
 * clients 103 %, the core the gRPC calls run on. So renders are budgeted: `renderBurst` at once, then
 * `rendersPerSecond`; a scrape past the budget gets the last render (at most 1 / `rendersPerSecond` s old), and
 * concurrent scrapes share one render. Prometheus scrapes every 15-60 s and always gets a fresh one. What is left per
 * scrape is Node's HTTP handling, ~0.15 ms: a client that scrapes in a loop still holds about half a core, which is
 * why the port belongs on the cluster network only (docs/RELIABILITY.md).
 */
export const METRICS_BOUNDS = {
  renderBurst: 10,
  rendersPerSecond: 5,
  /** Connections at once; more are closed at accept. A scraper keeps one (Prometheus' HA pairs: two). */
  maxConnections: 16,
  /** A request's headers must arrive within this, and the whole request within `requestTimeoutMs` (slow clients). */
  headersTimeoutMs: 5_000,
  requestTimeoutMs: 10_000,
  /** How often Node checks those two (its default, 30 s, would let a slow request live 6 times its bound). */
  checkIntervalMs: 1_000,
};

/** Serves GET /metrics in Prometheus text format on its own port, so scrapers need no gRPC credentials. */
export async function serveMetrics(
  registry: { metrics(): Promise<string>; readonly contentType: string },
  listen: string,
  bounds = METRICS_BOUNDS,
): Promise<{ port: number; close(): Promise<void> }> {
  const render = budgetedRender(() => registry.metrics(), bounds);
  const server: Server = createServer(
    {
      headersTimeout: bounds.headersTimeoutMs,
      requestTimeout: bounds.requestTimeoutMs,
      connectionsCheckingInterval: bounds.checkIntervalMs,
    },
    (req, res) => {
      if (req.method !== "GET" || req.url?.split("?")[0] !== "/metrics") {
        res.writeHead(404, { "content-type": "text/plain" }).end("not found: try GET /metrics\n");
        return;
      }
      render().then(
        (text) => res.writeHead(200, { "content-type": registry.contentType }).end(text),
        (err: unknown) => res.writeHead(500, { "content-type": "text/plain" }).end(`metrics failed: ${String(err)}\n`),
      );
    },
  );
  server.maxConnections = bounds.maxConnections;
  const { host, port } = splitHostPort(listen);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  return {
    port: typeof address === "object" && address ? address.port : port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // A scraper's keep-alive connection would otherwise hold the exit.
        server.closeAllConnections();
      }),
  };
}

function splitHostPort(listen: string): { host: string; port: number } {
  const i = listen.lastIndexOf(":");
  return { host: listen.slice(0, i).replace(/^\[|\]$/g, ""), port: Number(listen.slice(i + 1)) };
}

/** `render`, at most `renderBurst` times at once and `rendersPerSecond` after; otherwise the last text (see above). */
function budgetedRender(render: () => Promise<string>, bounds: { renderBurst: number; rendersPerSecond: number }) {
  let tokens: number = bounds.renderBurst;
  let refilledAt = performance.now();
  let last: string | undefined;
  let rendering: Promise<string> | undefined;
  return (): Promise<string> => {
    if (rendering) return rendering;
    const now = performance.now();
    tokens = Math.min(bounds.renderBurst, tokens + ((now - refilledAt) / 1000) * bounds.rendersPerSecond);
    refilledAt = now;
    if (last !== undefined && tokens < 1) return Promise.resolve(last);
    tokens -= 1;
    rendering = render().then((text) => (last = text));
    void rendering.then(
      () => (rendering = undefined),
      () => (rendering = undefined),
    );
    return rendering;
  };
}
