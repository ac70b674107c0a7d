import { spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_APPS } from "../../simulator/index.js";
import { sha256 } from "../../src/auth/registry.js";
import {
  freePort,
  type GatewayProcess,
  Proc,
  type SimulatorProcess,
  startGatewayProcess,
  startSimulatorProcess,
} from "../helpers/processes.js";
import { SwitchingProxy } from "../helpers/switching-proxy.js";

/*
 * The rolling restart of test/client/rolling-restart.test.ts, through the Python client: 5 workflow streams opened by
 * test/client/python/rolling_restart.py (threads on one AppClient) through a TCP proxy. Gateway A drains (the runs are
 * handed off and the client re-attaches to B), A' replaces it, then B drains (they move again). Every stream must end
 * with its terminal event and Dify's outputs, with no node event twice and no stop call.
 */

const ROOT = new URL("../../", import.meta.url).pathname;
// Debian's interpreter, where python3-grpcio and python3-protobuf live (scripts/system-deps.sh), as python.test.ts.
const PYTHON = "/usr/bin/python3";
const TOKEN = "tok-py-rolling-4e3d2c1b0a99";
const STREAMS = 5;
// The client package's own names for its markers (clients/python/dify_app_client/_reattach.py).
const REATTACHED = "gateway_reattached";
const CONFIRMED = "gateway_run_confirmed";
const workflow = DEMO_APPS.find((a) => a.mode === "workflow")!;

type Dict = Record<string, unknown>;

let sim: SimulatorProcess;
let proxy: SwitchingProxy;
const gateways: GatewayProcess[] = [];
let driver: Proc | undefined;

beforeAll(async () => {
  sim = await startSimulatorProcess();
  proxy = await SwitchingProxy.start();
}, 60_000);
afterAll(async () => {
  await driver?.stop("SIGKILL");
  for (const gw of gateways) await gw.proc.stop("SIGKILL");
  await proxy?.close();
  await sim?.proc.stop();
});

async function replica(): Promise<GatewayProcess> {
  const gw = await startGatewayProcess(
    {
      server: { listen: `127.0.0.1:${await freePort()}` },
      shutdown: { graceMs: 300 },
      workspaces: [
        {
          id: "acme",
          difyBaseUrl: sim.url,
          tokens: [{ sha256: sha256(TOKEN).toString("hex") }],
          apps: [{ appId: workflow.appId, mode: "workflow", key: { env: "K" } }],
        },
      ],
    },
    { K: workflow.key },
  );
  gateways.push(gw);
  return gw;
}

/** What each stream received so far, from the driver's JSON lines. */
function streams(proc: Proc): { events: Dict[][]; ends: (Dict | undefined)[] } {
  const events: Dict[][] = Array.from({ length: STREAMS }, () => []);
  const ends: (Dict | undefined)[] = Array.from({ length: STREAMS }, () => undefined);
  for (const line of proc.json()) {
    const i = Number(line.stream);
    if (line.event) events[i]!.push(line.event as Dict);
    else ends[i] = line;
  }
  return { events, ends };
}

/** How many events the stream got after its `n`th re-attach marker (-1: not re-attached that often yet). */
function eventsAfterMarker(events: Dict[], n: number): number {
  let markers = 0;
  for (let i = 0; i < events.length; i++) if (events[i]!.event === REATTACHED && ++markers === n) return events.length - i - 1;
  return -1;
}

async function until(check: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out; driver output:\n${driver?.lines.slice(-20).join("\n")}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const nodeKey = (e: Dict) => `${String(e.event)}:${String((e.data as Dict | undefined)?.id)}`;

describe("a rolling restart under 5 workflow streams, through the Python client", () => {
  it("every stream completes: terminal event, Dify's outputs confirmed, no node event twice, no run stopped", async () => {
    const a = await replica();
    const b = await replica();
    proxy.target = a.address;
    driver = new Proc(
      spawn(PYTHON, ["test/client/python/rolling_restart.py", proxy.address, TOKEN, workflow.appId, String(STREAMS)], {
        cwd: ROOT,
        env: { ...process.env, PYTHONPATH: `${ROOT}clients/python`, PYTHONDONTWRITEBYTECODE: "1" },
        stdio: ["ignore", "pipe", "pipe"],
      }),
    );
    const proc = driver;
    await until(() => streams(proc).events.every((events) => events.length >= 3));

    // A drains: its streams are handed off, and the client re-attaches through the proxy to B.
    proxy.target = b.address;
    const aExited = a.proc.stop("SIGTERM");
    await until(() => streams(proc).events.every((events) => eventsAfterMarker(events, 1) >= 3));
    await aExited;
    // A' replaces A; then B drains, and the streams re-attached there move to A'.
    const a2 = await replica();
    proxy.target = a2.address;
    await b.proc.stop("SIGTERM");
    expect(await proc.exited, proc.lines.join("\n")).toBe(0);

    const { events: seen, ends } = streams(proc);
    expect(ends.map((end) => end?.done)).toEqual(Array.from({ length: STREAMS }, () => true));
    for (const events of seen) {
      const names = events.map((e) => String(e.event));
      const finished = events.find((e) => e.event === "workflow_finished");
      expect(finished?.data).toMatchObject({ status: "succeeded" });
      // Re-attached after each drain, and each marker says text may be missing.
      const markers = events.filter((e) => e.event === REATTACHED);
      expect(markers).toHaveLength(2);
      expect(markers.every((m) => m.chunks_may_be_missing === true)).toBe(true);
      // Dify's final outputs, as the run detail confirms them.
      const confirmed = events.at(-1)!;
      expect(confirmed.event).toBe(CONFIRMED);
      expect(confirmed.data).toMatchObject({ status: "succeeded", outputs: (finished!.data as Dict).outputs as Dict });
      // No node event twice, although every re-attach replayed the nodes already run.
      const nodeEvents = events.filter((e) => String(e.event).startsWith("node_")).map(nodeKey);
      expect(nodeEvents.length).toBeGreaterThan(0);
      expect(new Set(nodeEvents).size).toBe(nodeEvents.length);
      expect(names.filter((n) => n === "workflow_started")).toHaveLength(1);
    }
    // Both drains handed off instead of stopping: Dify got no stop call.
    expect((await sim.requests()).filter((r) => r.path.endsWith("/stop"))).toEqual([]);
    expect(a.proc.json().filter((l) => String(l.msg).startsWith("handed off"))).toHaveLength(STREAMS);
    const watchesCut = b.proc.json().filter((l) => l.reason === "SHUTTING_DOWN" && String(l.method).endsWith("/WatchRun"));
    expect(watchesCut).toHaveLength(STREAMS);
  }, 120_000);
});
