import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type AppClient,
  createAppClient,
  type DifyDict,
  REATTACHED_EVENT,
  RUN_CONFIRMED_EVENT,
} from "../../clients/typescript/src/index.js";
import { DEMO_APPS } from "../../simulator/index.js";
import { sha256 } from "../../src/auth/registry.js";
import { freePort, type GatewayProcess, type SimulatorProcess, startGatewayProcess, startSimulatorProcess } from "../helpers/processes.js";
import { SwitchingProxy } from "../helpers/switching-proxy.js";

/*
 * A rolling restart of two gateway processes under 20 running workflow streams. The clients connect through a
 * TCP proxy (the Service in front of the replicas) that the test points at the replica still serving. Gateway A
 * drains first (its streams are handed off and re-attach to B), then a fresh A' replaces it and B drains (the
 * re-attached streams move again). Every stream must still complete through the TypeScript client.
 */

const TOKEN = "tok-rolling-7c6b5a4f3e2d1c0b";
const STREAMS = 20;
const workflow = DEMO_APPS.find((a) => a.mode === "workflow")!;

let sim: SimulatorProcess;
let proxy: SwitchingProxy;
const gateways: GatewayProcess[] = [];

beforeAll(async () => {
  sim = await startSimulatorProcess();
  proxy = await SwitchingProxy.start();
}, 60_000);
afterAll(async () => {
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

/** How many events the stream got after its `n`th re-attach marker (-1: not re-attached that often yet). */
function eventsAfterMarker(events: DifyDict[], n: number): number {
  let markers = 0;
  for (let i = 0; i < events.length; i++) if (events[i]!.event === REATTACHED_EVENT && ++markers === n) return events.length - i - 1;
  return -1;
}

async function until(check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 50));
  }
}

const nodeKey = (e: DifyDict) => {
  const data = (e.data ?? {}) as DifyDict;
  return `${String(e.event)}:${String(data.id)}`;
};

describe("a rolling restart under 20 workflow streams", () => {
  it("every stream completes through the client: terminal event, Dify's outputs confirmed, no node event twice, no run stopped", async () => {
    const a = await replica();
    const b = await replica();
    proxy.target = a.address;
    const client: AppClient = createAppClient({ address: proxy.address, token: TOKEN, maxReattaches: 4 });
    try {
      const seen: DifyDict[][] = Array.from({ length: STREAMS }, () => []);
      let started!: () => void;
      const allStarted = new Promise<void>((r) => (started = r));
      const runs = seen.map(async (events, i) => {
        // About 10 s each, on Dify's side: they outlive both drains, and go on while nobody is attached.
        const stream = client.app.workflow.invoke({
          appId: workflow.appId,
          inputs: { _sim: { events: 120, delay_ms: 80, detached: true, key: `rolling-${i}` } },
          user: `rolling-user-${i}`,
          responseMode: "streaming",
        });
        for await (const event of stream) {
          events.push(event);
          if (seen.every((s) => s.length >= 3)) started();
        }
      });
      await allStarted;

      // A drains: its streams are handed off, and re-attach through the proxy to B.
      proxy.target = b.address;
      const aExited = a.proc.stop("SIGTERM");
      await until(() => seen.every((events) => eventsAfterMarker(events, 1) >= 3));
      await aExited;
      // A' replaces A; then B drains, and the streams re-attached there move to A'.
      const a2 = await replica();
      proxy.target = a2.address;
      await b.proc.stop("SIGTERM");
      await Promise.all(runs);

      for (const events of seen) {
        const names = events.map((e) => String(e.event));
        const finished = events.find((e) => e.event === "workflow_finished");
        expect(finished?.data).toMatchObject({ status: "succeeded" });
        // Re-attached at least once (A's drain), and the marker says text may be missing.
        const markers = events.filter((e) => e.event === REATTACHED_EVENT);
        expect(markers.length).toBeGreaterThanOrEqual(1);
        expect(markers.every((m) => m.chunks_may_be_missing === true)).toBe(true);
        // Dify's final outputs, as the run detail confirms them.
        const confirmed = events.at(-1)!;
        expect(confirmed.event).toBe(RUN_CONFIRMED_EVENT);
        expect(confirmed.data).toMatchObject({ status: "succeeded", outputs: (finished!.data as DifyDict).outputs as DifyDict });
        // No node event twice, although every re-attach replayed the nodes already run.
        const nodeEvents = events.filter((e) => String(e.event).startsWith("node_")).map(nodeKey);
        expect(new Set(nodeEvents).size).toBe(nodeEvents.length);
        expect(names.filter((n) => n === "workflow_started")).toHaveLength(1);
      }
      // Both drains handed off instead of stopping: Dify got no stop call.
      expect((await sim.requests()).filter((r) => r.path.endsWith("/stop"))).toEqual([]);
      // Every stream was handed off by A; B, draining while they ran again, handed off the re-attached watches.
      const handedOff = a.proc.json().filter((l) => String(l.msg).startsWith("handed off"));
      expect(handedOff).toHaveLength(STREAMS);
      const watchesCut = b.proc.json().filter((l) => l.reason === "SHUTTING_DOWN" && String(l.method).endsWith("/WatchRun"));
      expect(watchesCut).toHaveLength(STREAMS);
      expect(seen.every((events) => events.filter((e) => e.event === REATTACHED_EVENT).length === 2)).toBe(true);
    } finally {
      client.close();
    }
  }, 90_000);
});
