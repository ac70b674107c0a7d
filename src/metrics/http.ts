import type { Server } from "node:http";
import { createRequire } from "node:module";
import type { Registry } from "prom-client";

// Required, not imported: on Node 22 an ES import of node:http builds the module's ES facade, which reads every
// export, lazy getters included (WebSocket, MessageEvent), and so loads Node's internal undici: 64-69 ms against 9
// for a require, on every start (docs/PERFORMANCE.md, "Cold start on Node 22"). Node 20 has no such getters.
const { createServer } = createRequire(import.meta.url)("node:http") as typeof import("node:http");

/** Serves GET /metrics in Prometheus text format on its own port, so scrapers need no gRPC credentials. */
export async function serveMetrics(registry: Registry, listen: string): Promise<{ port: number; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    if (req.method !== "GET" || req.url?.split("?")[0] !== "/metrics") {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found: try GET /metrics\n");
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { "content-type": registry.contentType }).end(text),
      (err: unknown) => res.writeHead(500, { "content-type": "text/plain" }).end(`metrics failed: ${String(err)}\n`),
    );
  });
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
