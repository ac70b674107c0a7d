/**
 * A raw HTTP "Dify" on 127.0.0.1:0 whose run endpoint does whatever the test scripts, plus a gateway process
 * in front of it. For faults the simulator has no directive for: late first events, oversized or many-line
 * events, keys in error codes. It records every run it accepted and every stop call, by task id.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { sha256 } from "../../src/auth/registry.js";
import { clients } from "../helpers/grpc.js";
import { type GatewayProcess, startGatewayProcess } from "../helpers/processes.js";

export const HOSTILE_TOKEN = "hostile-token-3b9d";
export const HOSTILE_KEY = "app-HostileKey0123456789abcdef";
export const HOSTILE_APP = "hostile-app";
/** The same key, no mode in the config: the gateway asks GET /info. */
export const HOSTILE_APP_NO_MODE = "hostile-app-no-mode";

export interface AcceptedRun {
  taskId: string;
  traceId: string;
  path: string;
  body: Record<string, unknown>;
  req: IncomingMessage;
  res: ServerResponse;
  /** Resolves when the gateway calls stop for this run. */
  stopped: Promise<void>;
  /** True once the gateway closed the connection. */
  closed: boolean;
  /** Writes one `data:` event. */
  send(event: Record<string, unknown>): void;
}

export type RunScript = (run: AcceptedRun) => void | Promise<void>;

export interface HostileUpstream {
  url: string;
  runs: AcceptedRun[];
  /** Stop calls per task id, in arrival order. */
  stops: string[];
  infoCalls: number;
  server: Server;
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
  });
}

/** `script` answers each run request; `info` answers GET /v1/info (default: chat mode at once). */
export async function startHostileUpstream(
  script: RunScript,
  info?: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<HostileUpstream> {
  const runs: AcceptedRun[] = [];
  const stops: string[] = [];
  const stopWaiters = new Map<string, () => void>();
  const upstream: HostileUpstream = {
    url: "",
    runs,
    stops,
    infoCalls: 0,
    server: createServer((req, res) => {
      void (async () => {
        const text = await readBody(req);
        const url = req.url ?? "";
        if (req.method === "GET" && url.startsWith("/v1/info")) {
          upstream.infoCalls++;
          if (info) info(req, res);
          else res.writeHead(200, { "content-type": "application/json" }).end('{"mode":"chat"}');
          return;
        }
        const stop = /^\/v1\/.*\/([^/]+)\/stop$/.exec(url);
        if (stop) {
          stops.push(stop[1]!);
          stopWaiters.get(stop[1]!)?.();
          res.writeHead(200, { "content-type": "application/json" }).end('{"result":"success"}');
          return;
        }
        const taskId = randomUUID();
        let resolveStop!: () => void;
        const run: AcceptedRun = {
          taskId,
          traceId: String(req.headers["x-trace-id"] ?? ""),
          path: url,
          body: JSON.parse(text || "{}") as Record<string, unknown>,
          req,
          res,
          stopped: new Promise<void>((r) => (resolveStop = r)),
          closed: false,
          send(event) {
            if (!run.closed) res.write(`data: ${JSON.stringify(event)}\n\n`);
          },
        };
        stopWaiters.set(taskId, resolveStop);
        res.on("close", () => (run.closed = true));
        runs.push(run);
        await script(run);
      })();
    }),
    async close() {
      upstream.server.closeAllConnections();
      await new Promise((r) => upstream.server.close(r));
    },
  };
  await new Promise<void>((resolve) => upstream.server.listen(0, "127.0.0.1", resolve));
  upstream.url = `http://127.0.0.1:${(upstream.server.address() as { port: number }).port}/v1`;
  return upstream;
}

/** SSE response headers, sent at once: the run is accepted from here on. */
export function acceptStream(run: AcceptedRun): void {
  run.res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
  run.res.flushHeaders();
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A gateway process with one workspace whose Dify is `upstreamUrl` and one chat app (mode configured, so no /info). */
export async function startHostileGateway(
  upstreamUrl: string,
  config: Record<string, unknown> = {},
  appMode: string | undefined = "chat",
): Promise<{ gw: GatewayProcess; c: ReturnType<typeof clients>; stop(): Promise<void> }> {
  const gw = await startGatewayProcess(
    {
      server: { listen: "127.0.0.1:0" },
      log: { level: "info" },
      ...config,
      workspaces: [
        {
          id: "ws-hostile",
          difyBaseUrl: upstreamUrl,
          tokens: [{ sha256: sha256(HOSTILE_TOKEN).toString("hex") }],
          apps: [
            { appId: HOSTILE_APP, key: { env: "HOSTILE_APP_KEY" }, ...(appMode ? { mode: appMode } : {}) },
            { appId: HOSTILE_APP_NO_MODE, key: { env: "HOSTILE_APP_KEY" } },
          ],
        },
      ],
    },
    { HOSTILE_APP_KEY: HOSTILE_KEY },
  );
  const c = clients(gw.address);
  return {
    gw,
    c,
    async stop() {
      c.close();
      await gw.proc.stop();
    },
  };
}
