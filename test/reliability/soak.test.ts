/**
 * Client faults soak: streams cancelled at random points, and calls with random short deadlines, against one
 * real gateway process. Asserts that heap after GC does not grow, no socket leaks, and every run that reached
 * Dify got exactly one stop call, whether or not its caller had seen an event of it (issue 12 item 5).
 *
 * `npm test` runs SOAK_CYCLES (default 1,000); the full soak is `npm run soak` (10,000 cycles), see
 * docs/RELIABILITY.md. The gateway runs with `--inspect=127.0.0.1:0` so the test can force a GC and read
 * process.memoryUsage() over the DevTools protocol, without a test hook in the gateway.
 */
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { RecordedRequest } from "../../simulator/index.js";
import { eventually } from "../helpers/processes.js";
import { appIdOf, type FaultStack, type Iface, newTraceId, startFaultStack, stopsIn, tracedMetadata } from "./fault-stack.js";
import { Inspector, openFds } from "./inspector.js";

const CYCLES = Number(process.env.SOAK_CYCLES ?? 1_000);
const CONCURRENCY = 16;
/** Cycles between checks; the simulator's request log is emptied after each, so 10,000 cycles stay small. */
const BATCH = 500;
const HEAP_GROWTH_LIMIT = 0.1;
/**
 * Idle keep-alive sockets to the simulator are not leaks: they close once idle past the simulator's keep-alive
 * timeout (at most undici's 30 s). fds are counted once their number held still for a few seconds.
 */
const SETTLE_QUIET_MS = 3_000;
const SETTLE_MAX_MS = 40_000;
/**
 * Waiting for quiet is not exact (a pool socket may close a moment later), so the allowance is the pool's
 * bound: one idle socket per concurrent call, plus slack. A per-cycle leak over ≥ 800 cycles is far beyond it.
 */
const FD_SLACK = CONCURRENCY + 4;

/** A run far longer than any cancel point: it is always unfinished when the client leaves. */
const LONG_RUN = { _sim: { events: 100, delay_ms: 20 } };
const IFACES: Iface[] = ["chat", "completion", "workflow"];

let s: FaultStack;
let inspector: Inspector;
beforeAll(async () => {
  s = await startFaultStack({ stopTimeoutMs: 10_000 }, { NODE_OPTIONS: "--inspect=127.0.0.1:0" });
  inspector = await Inspector.connect(await s.gw.proc.waitForLine((l) => l.startsWith("Debugger listening on ws://")));
});
afterAll(async () => {
  inspector?.close();
  await s?.stop();
});

interface Cycle {
  traceId: string;
  kind: "cancel" | "deadline";
  /** The task_id the client saw, if any message arrived before it left. */
  clientTaskId: string | undefined;
  code: status | undefined;
  details: string;
}

const random = (min: number, max: number) => min + Math.floor(Math.random() * (max - min + 1));

/** One stream, left at a random point: after k messages, after a random time, or at a random short deadline. */
function runCycle(): Promise<Cycle> {
  const iface = IFACES[random(0, IFACES.length - 1)]!;
  const traceId = newTraceId();
  const kind = Math.random() < 0.7 ? "cancel" : "deadline";
  const req = {
    appId: appIdOf(iface),
    inputs: LONG_RUN,
    files: [],
    user: "soak",
    ...(iface === "chat" ? { query: "q", conversationId: "" } : {}),
  };
  const client = s.c[iface] as unknown as Record<
    string,
    (req: unknown, md: unknown, options: object) => NodeJS.EventEmitter & { cancel(): void }
  >;
  const options = kind === "deadline" ? { deadline: Date.now() + random(50, 400) } : {};
  const call = client[`${iface}InvokeStream`]!.call(client, req, tracedMetadata(traceId), options);
  const cycle: Cycle = { traceId, kind, clientTaskId: undefined, code: undefined, details: "" };
  const afterMessages = kind === "cancel" && Math.random() < 0.5 ? random(1, 6) : undefined;
  const timer = kind === "cancel" && afterMessages === undefined ? setTimeout(() => call.cancel(), random(0, 300)) : undefined;
  let received = 0;
  return new Promise((resolve) => {
    call.on("data", (m: { raw?: { task_id?: unknown } }) => {
      received++;
      if (typeof m.raw?.task_id === "string") cycle.clientTaskId ??= m.raw.task_id;
      if (received === afterMessages) call.cancel();
    });
    const done = (code: status, details: string) => {
      clearTimeout(timer);
      cycle.code = code;
      cycle.details = details;
      resolve(cycle);
    };
    // 'end' can come before 'error' on a failed call: the status is the truth.
    call.on("error", () => {});
    call.on("status", (st: { code: status; details: string }) => done(st.code, st.details));
  });
}

async function runBatch(count: number): Promise<Cycle[]> {
  const cycles: Cycle[] = [];
  let started = 0;
  const worker = async () => {
    while (started < count) {
      started++;
      cycles.push(await runCycle());
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return cycles;
}

/** The gateway's JSON log lines by trace id, parsed incrementally: 10,000 cycles write ~20,000 lines. */
class LogIndex {
  #cursor = 0;
  readonly byTrace = new Map<string, Record<string, unknown>[]>();
  warnings: string[] = [];

  update(): void {
    const lines = s.gw.proc.lines;
    for (; this.#cursor < lines.length; this.#cursor++) {
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(lines[this.#cursor]!) as Record<string, unknown>;
      } catch {
        continue; // The inspector's banner lines.
      }
      // Start-up's Dify check rightly warns about ws-down, whose Dify refuses connections: not the soak's doing.
      const downAtStart = entry.workspace === "ws-down" && String(entry.msg).startsWith("Dify check: ");
      if (typeof entry.level === "number" && entry.level >= 40 && !downAtStart)
        this.warnings.push(`${String(entry.msg)} ${String(entry.err ?? "")}`);
      if (typeof entry.traceId !== "string") continue;
      const list = this.byTrace.get(entry.traceId) ?? [];
      list.push(entry);
      this.byTrace.set(entry.traceId, list);
    }
  }

  outcomes(traceId: string): Record<string, unknown>[] {
    return (this.byTrace.get(traceId) ?? []).filter((l) => /^call (finished|failed)/.test(String(l.msg)));
  }
}

interface BatchCheck {
  stopCalls: number;
  /** Calls whose run request reached Dify: each must be stopped, none "needs no stop call". */
  runsReached: number;
}

/** Every call of the batch: the status its client chose, one outcome line, and one stop call iff its run reached Dify. */
async function checkBatch(cycles: Cycle[], logs: LogIndex): Promise<BatchCheck> {
  for (const c of cycles)
    expect(c.code, `cycle ${c.traceId} (${c.kind}): ${c.details}`).toBe(c.kind === "cancel" ? status.CANCELLED : status.DEADLINE_EXCEEDED);
  const requests: RecordedRequest[] = await eventually(async () => {
    logs.update();
    const all = await s.sim.requests();
    for (const c of cycles) {
      const ran = all.some((r) => r.method === "POST" && !r.path.endsWith("/stop") && r.headers["x-trace-id"] === c.traceId);
      const outcome = logs.outcomes(c.traceId);
      // A deadline can expire before the gateway starts the call; a call that reached Dify always has its line.
      if (ran || c.clientTaskId) expect(outcome.length, `outcome lines of ${c.traceId}`).toBe(1);
      else expect(outcome.length, `outcome lines of ${c.traceId}`).toBeLessThanOrEqual(1);
      const taskId = outcome[0]?.taskId;
      if (c.clientTaskId) expect(taskId).toBe(c.clientTaskId);
      expect(stopsIn(all, c.traceId), `stop calls of ${c.traceId}`).toHaveLength(ran ? 1 : 0);
    }
    return all;
  }, 15_000);
  const traces = new Set(cycles.map((c) => c.traceId));
  const stops = requests.filter((r) => r.path.endsWith("/stop"));
  // A stop call from an earlier batch arriving now would be a second stop of an already stopped run.
  expect(stops.filter((r) => !traces.has(String(r.headers["x-trace-id"])))).toEqual([]);
  for (const c of cycles) {
    const [outcome] = logs.outcomes(c.traceId);
    if (outcome?.taskId !== undefined) {
      expect(outcome.stopCalled).toBe(true);
      expect(stopsIn(requests, c.traceId)[0]!.path).toContain(`/${String(outcome.taskId)}/stop`);
    }
  }
  const reached = new Set(
    requests.filter((r) => r.method === "POST" && !r.path.endsWith("/stop")).map((r) => String(r.headers["x-trace-id"])),
  );
  await s.sim.reset();
  return { stopCalls: stops.length, runsReached: cycles.filter((c) => reached.has(c.traceId)).length };
}

it(
  `${CYCLES} streams cancelled at random points or random short deadlines: no heap growth, no socket leak, one stop call per run that reached Dify`,
  async () => {
    const logs = new LogIndex();
    const pid = s.gw.proc.child.pid!;
    const warmUp = Math.min(BATCH, Math.max(200, Math.round(CYCLES / 10)));
    let totals = { cycles: 0, cancels: 0, deadlines: 0, stopCalls: 0, runsReached: 0 };
    const account = (cycles: Cycle[], check: BatchCheck) => {
      totals = {
        cycles: totals.cycles + cycles.length,
        cancels: totals.cancels + cycles.filter((c) => c.kind === "cancel").length,
        deadlines: totals.deadlines + cycles.filter((c) => c.kind === "deadline").length,
        stopCalls: totals.stopCalls + check.stopCalls,
        runsReached: totals.runsReached + check.runsReached,
      };
    };

    let runMs = 0;
    let checkMs = 0;
    const timed = async <T>(f: () => Promise<T>, add: (ms: number) => void): Promise<T> => {
      const t0 = Date.now();
      try {
        return await f();
      } finally {
        add(Date.now() - t0);
      }
    };
    const batch = async (n: number) => {
      const cycles = await timed(
        () => runBatch(n),
        (ms) => (runMs += ms),
      );
      account(
        cycles,
        await timed(
          () => checkBatch(cycles, logs),
          (ms) => (checkMs += ms),
        ),
      );
    };

    await batch(warmUp);
    const heapBefore = await inspector.heapUsedAfterGc();
    const heapSeries = [heapBefore];
    const settledFds = async () => {
      const until = Date.now() + SETTLE_MAX_MS;
      let last = openFds(pid);
      let quietSince = Date.now();
      while (Date.now() - quietSince < SETTLE_QUIET_MS && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 250));
        const now = openFds(pid);
        if (now.fds !== last.fds || now.sockets !== last.sockets) quietSince = Date.now();
        last = now;
      }
      return last;
    };
    const fdsBefore = await settledFds();

    for (let left = CYCLES - warmUp; left > 0; left -= BATCH) {
      await batch(Math.min(BATCH, left));
      // The trend, for the report: a leak climbs batch after batch, noise does not.
      heapSeries.push(await inspector.heapUsedAfterGc());
    }
    const heapAfter = heapSeries.at(-1)!;
    const fdsAfter = await settledFds();
    const growth = (heapAfter - heapBefore) / heapBefore;
    console.info(
      `[soak] ${JSON.stringify({ ...totals, warmUp, runMs, checkMs, heapBeforeBytes: heapBefore, heapAfterBytes: heapAfter, heapGrowthPct: Math.round(growth * 1000) / 10, heapMbPerBatch: heapSeries.map((b) => Math.round(b / 1e4) / 100), fdsBefore, fdsAfter, warnLines: logs.warnings.length, firstWarnings: logs.warnings.slice(0, 5) })}`,
    );

    expect(totals.cycles).toBe(CYCLES);
    expect(totals.stopCalls).toBe(totals.runsReached);
    // Most cycles reach Dify; if none did, the stop-call check would prove nothing.
    expect(totals.runsReached).toBeGreaterThan(CYCLES / 3);
    expect(growth).toBeLessThan(HEAP_GROWTH_LIMIT);
    expect(fdsAfter.sockets).toBeLessThanOrEqual(fdsBefore.sockets + FD_SLACK);
    expect(fdsAfter.fds).toBeLessThanOrEqual(fdsBefore.fds + FD_SLACK);
    expect(logs.warnings).toEqual([]);
    expect(s.gw.proc.child.exitCode).toBeNull();
  },
  90_000 + CYCLES * 80,
);
