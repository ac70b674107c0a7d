import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { type ServiceError, status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sha256 } from "../../src/auth/registry.js";
import { bearer, clients, collect, details, unary } from "../helpers/grpc.js";
import { type InProcessGateway, startInProcessGateway } from "../helpers/in-process.js";

/*
 * What a hostile or broken Dify can make the RunService RPCs hold (docs/RELIABILITY.md): a JSON answer is read
 * up to upstream.maxEventBytes, and an answer that does not come ends after upstream.idleTimeoutMs.
 */

const TOKEN = "bounds-token-5e2d9c";
const APP = "b0000000-0000-4000-8000-000000000001";
const RUN_ID = "b0000000-0000-4000-8000-0000000000ff";
const MAX_EVENT_BYTES = 64 * 1024;
const IDLE_MS = 600;

let hostile: Server;
let gw: InProcessGateway;
let c: ReturnType<typeof clients>;
const seen: string[] = [];

beforeAll(async () => {
  hostile = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    if (req.url?.startsWith("/v1/workflows/run/")) {
      // 10 MiB of JSON, in 64 KiB writes: the gateway must stop reading long before the end.
      res.writeHead(200, { "content-type": "application/json" });
      res.write('{"id":"x","outputs":{"text":"');
      const chunk = "a".repeat(64 * 1024);
      let left = 160;
      const more = () => {
        while (left-- > 0) if (!res.write(chunk)) return void res.once("drain", more);
        res.end('"}}');
      };
      more();
      return;
    }
    // Everything else: headers never come.
  });
  await new Promise<void>((r) => hostile.listen(0, "127.0.0.1", r));
  const port = (hostile.address() as AddressInfo).port;
  gw = await startInProcessGateway(
    {
      server: { listen: "127.0.0.1:0" },
      upstream: { idleTimeoutMs: IDLE_MS, maxEventBytes: MAX_EVENT_BYTES },
      workspaces: [
        {
          id: "ws",
          difyBaseUrl: `http://127.0.0.1:${port}/v1`,
          tokens: [{ sha256: sha256(TOKEN).toString("hex") }],
          apps: [{ appId: APP, key: { env: "BOUNDS_KEY" } }],
        },
      ],
    },
    { BOUNDS_KEY: "app-bounds-key-1" },
  );
  c = clients(gw.address);
});
afterAll(async () => {
  c?.close();
  await gw?.close();
  hostile?.closeAllConnections();
  await new Promise((r) => hostile?.close(r));
});

const failure = (p: Promise<unknown>): Promise<ServiceError> =>
  p.then(
    () => {
      throw new Error("expected the call to fail");
    },
    (err: ServiceError) => err,
  );

describe("RunService against a hostile Dify", () => {
  it("a run detail larger than maxEventBytes is RESOURCE_EXHAUSTED, not read to its end", async () => {
    const err = await failure(unary(c.run.getWorkflowRun, c.run, { appId: APP, workflowRunId: RUN_ID }, bearer(TOKEN)));
    expect(err.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(details(err).errorInfo?.reason).toBe("UPSTREAM_EVENT_TOO_LARGE");
  });

  it("a form answer that never comes ends UNAVAILABLE after idleTimeoutMs", async () => {
    const started = performance.now();
    const err = await failure(unary(c.run.getHumanInputForm, c.run, { appId: APP, formToken: "tok_x" }, bearer(TOKEN)));
    expect(err.code).toBe(status.UNAVAILABLE);
    expect(details(err).errorInfo?.reason).toBe("UPSTREAM_IDLE_TIMEOUT");
    expect(performance.now() - started).toBeGreaterThanOrEqual(IDLE_MS - 50);
  });

  it("a re-attach whose stream never starts ends UNAVAILABLE after idleTimeoutMs, and no stop is sent", async () => {
    const { error } = await collect(
      c.run.watchRun({ appId: APP, workflowRunId: RUN_ID, user: "", includeStateSnapshot: true, continueOnPause: false }, bearer(TOKEN)),
    );
    expect(error?.code).toBe(status.UNAVAILABLE);
    expect(details(error!).errorInfo?.reason).toBe("UPSTREAM_IDLE_TIMEOUT");
    expect(seen).toContain(`GET /v1/workflow/${RUN_ID}/events?user=dify-grpc-gateway&include_state_snapshot=true&continue_on_pause=false`);
    expect(seen.filter((s) => s.includes("/stop"))).toEqual([]);
  });
});
