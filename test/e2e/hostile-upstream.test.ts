/**
 * Issue 12 items 6, 7, 8, 11, 12, 15, against a real gateway process and a raw HTTP "Dify" that misbehaves as
 * each request's `inputs.attack` says. Each check would fail on the code before the fix (see each test).
 */
import { readFileSync } from "node:fs";
import { type ServiceError, status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearer, collect, details, healthCheck, unary } from "../helpers/grpc.js";
import { eventually } from "../helpers/processes.js";
import {
  type AcceptedRun,
  acceptStream,
  HOSTILE_APP,
  HOSTILE_APP_NO_MODE,
  HOSTILE_KEY,
  HOSTILE_TOKEN,
  type HostileUpstream,
  sleep,
  startHostileGateway,
  startHostileUpstream,
} from "../reliability/hostile-upstream.js";

const INFO_TIMEOUT_MS = 800;
const MiB = 1024 * 1024;
const ESCAPED_KEY = [...HOSTILE_KEY].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`).join("");

/** Writes `total` bytes made of `piece`, honouring backpressure, until done or the gateway hangs up. */
async function writeAll(run: AcceptedRun, piece: string, total: number): Promise<number> {
  let written = 0;
  while (written < total && !run.closed) {
    if (!run.res.write(piece))
      await Promise.race([new Promise((r) => run.res.once("drain", r)), new Promise((r) => run.res.once("close", r))]);
    written += piece.length;
  }
  return written;
}

const written = new Map<string, number>();

const ATTACKS: Record<string, (run: AcceptedRun) => Promise<void>> = {
  /** 60 MiB of answer in 4 KiB deltas. */
  async huge_answer(run) {
    acceptStream(run);
    const delta = `data: ${JSON.stringify({ event: "message", task_id: run.taskId, message_id: "m", conversation_id: "c", answer: "a".repeat(4096) })}\n\n`;
    written.set(run.taskId, await writeAll(run, delta, 60 * MiB));
    run.send({ event: "message_end", task_id: run.taskId, message_id: "m", conversation_id: "c", metadata: {} });
    run.res.end();
  },
  /** One event made of 16 MiB of one-character data: lines. */
  async many_lines(run) {
    acceptStream(run);
    run.send({ event: "message", task_id: run.taskId, message_id: "m", conversation_id: "c", answer: "hi" });
    written.set(run.taskId, await writeAll(run, "data:x\n".repeat(4096), 16 * MiB));
    run.res.end("\n");
  },
  async key_in_code(run) {
    run.res.writeHead(400, { "content-type": "application/json" }).end(JSON.stringify({ code: HOSTILE_KEY, message: "bad", status: 400 }));
  },
  async odd_code(run) {
    run.res
      .writeHead(400, { "content-type": "application/json" })
      .end(JSON.stringify({ code: "constructor", message: "bad", status: 400 }));
  },
  async key_in_event_code(run) {
    acceptStream(run);
    run.send({ event: "error", task_id: run.taskId, status: 400, code: `x ${HOSTILE_KEY}`, message: "bad" });
    run.res.end();
  },
  async escaped_key_in_event(run) {
    acceptStream(run);
    run.res.write(
      `data: {"event":"message","task_id":"${run.taskId}","message_id":"m","conversation_id":"c","answer":"key ${ESCAPED_KEY}"}\n\n`,
    );
    run.send({ event: "message_end", task_id: run.taskId, message_id: "m", conversation_id: "c", metadata: {} });
    run.res.end();
  },
  async json_error_with_200(run) {
    run.res.writeHead(200, { "content-type": "application/json" }).end(
      JSON.stringify({
        code: "provider_quota_exceeded",
        message: "Your quota for Dify Hosted Model Provider has been exhausted.",
        status: 400,
      }),
    );
  },
  /** A first event over maxEventBytes, the run's task_id in its first bytes, as Dify writes it. */
  async oversized_first_event(run) {
    acceptStream(run);
    run.res.write(`data: {"event": "message", "task_id": "${run.taskId}", "message_id": "m", "answer": "${"z".repeat(3 * MiB)}"}\n\n`);
    await run.stopped;
    run.res.end();
  },
  /** A 3 MiB event, allowed by a raised maxEventBytes: its stream message would be ~6 MB. */
  async big_event(run) {
    acceptStream(run);
    run.send({ event: "message", task_id: run.taskId, message_id: "m", conversation_id: "c", answer: "y".repeat(3 * MiB), created_at: 1 });
    await Promise.race([run.stopped, sleep(10_000)]);
    run.res.end();
  },
  async huge_error_message(run) {
    run.res
      .writeHead(400, { "content-type": "application/json" })
      .end(JSON.stringify({ code: "invalid_param", message: "é".repeat(30_000), status: 400 }));
  },
};

let up: HostileUpstream;
let stack: Awaited<ReturnType<typeof startHostileGateway>>;
beforeAll(async () => {
  up = await startHostileUpstream(
    async (run) => {
      const attack = ATTACKS[String((run.body.inputs as { attack?: unknown } | undefined)?.attack)];
      if (attack) await attack(run);
      else run.res.writeHead(500).end();
    },
    () => {
      // GET /info never answers: the gateway's lookup must time out as UNAVAILABLE.
    },
  );
  stack = await startHostileGateway(up.url, { upstream: { connectTimeoutMs: INFO_TIMEOUT_MS, stopTimeoutMs: 3_000 } });
});
afterAll(async () => {
  await stack?.stop();
  await up?.close();
});

const request = (attack: string, extra: Record<string, unknown> = {}, appId = HOSTILE_APP) => ({
  appId,
  inputs: { attack, ...extra } as Record<string, unknown>,
  files: [],
  user: "u",
  query: "q",
  conversationId: "",
});

type ChatRequest = ReturnType<typeof request>;

async function unaryCall(req: ChatRequest): Promise<{ error: ServiceError | undefined; response: unknown; ms: number }> {
  const t0 = Date.now();
  try {
    const response = await unary(stack.c.chat.chatInvoke, stack.c.chat, req, bearer(HOSTILE_TOKEN));
    return { error: undefined, response, ms: Date.now() - t0 };
  } catch (err) {
    return { error: err as ServiceError, response: undefined, ms: Date.now() - t0 };
  }
}

function peakRssKiB(): number {
  const line = readFileSync(`/proc/${stack.gw.proc.child.pid}/status`, "utf8")
    .split("\n")
    .find((l) => l.startsWith("VmHWM:"))!;
  return Number(/(\d+)/.exec(line)![1]);
}

function logText(): string {
  return stack.gw.proc.lines.join("\n");
}

describe("item 7: one event of many data: lines", () => {
  it("is refused at about maxEventBytes, and six at once barely move the gateway's peak RSS", async () => {
    const before = peakRssKiB();
    const results = await Promise.all(
      Array.from({ length: 6 }, () => collect(stack.c.chat.chatInvokeStream(request("many_lines"), bearer(HOSTILE_TOKEN)))),
    );
    const after = peakRssKiB();
    for (const { error, messages } of results) {
      expect(messages).toHaveLength(1);
      expect(error?.code).toBe(status.RESOURCE_EXHAUSTED);
      expect(details(error!).errorInfo?.reason).toBe("UPSTREAM_EVENT_TOO_LARGE");
    }
    console.info(`[many data: lines] peak RSS ${before} KiB -> ${after} KiB for 6 streams of 16 MiB of one-character lines`);
    // Before: each such event cost ~165 MiB (~40× its 4 MiB) before it was refused.
    expect(after - before).toBeLessThan(120 * 1024);
    expect(await healthCheck(stack.gw.address)).toBe("SERVING");
  }, 60_000);
});

describe("item 6: the unary answer is bounded", () => {
  it("a 60 MiB answer in 4 KiB deltas ends quickly with RESOURCE_EXHAUSTED ANSWER_TOO_LARGE and one stop call", async () => {
    const { error, ms } = await unaryCall(request("huge_answer"));
    expect(error?.code).toBe(status.RESOURCE_EXHAUSTED);
    const info = details(error!).errorInfo;
    expect(info?.reason).toBe("ANSWER_TOO_LARGE");
    expect(info?.metadata).toEqual({ maxAnswerBytes: String((4 * MiB - 64 * 1024) / 2) });
    expect(ms).toBeLessThan(10_000);
    const run = up.runs.find((r) => (r.body.inputs as { attack: string }).attack === "huge_answer")!;
    await eventually(async () => expect(up.stops.filter((t) => t === run.taskId)).toHaveLength(1));
    // It stopped reading long before the 60 MiB (TCP buffers hold a few MiB).
    await eventually(async () => expect(written.get(run.taskId)).toBeLessThan(20 * MiB));
    console.info(`[answer bound] refused after ${ms} ms; the upstream wrote ${Math.round(written.get(run.taskId)! / MiB)} MiB`);
    expect(await healthCheck(stack.gw.address)).toBe("SERVING");
  }, 60_000);
});

describe("item 5: a first event too large to decode", () => {
  it("ends the call with UPSTREAM_EVENT_TOO_LARGE and stops the run it names in its first bytes", async () => {
    const { error } = await collect(stack.c.chat.chatInvokeStream(request("oversized_first_event"), bearer(HOSTILE_TOKEN)));
    expect(error?.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(details(error!).errorInfo?.reason).toBe("UPSTREAM_EVENT_TOO_LARGE");
    const run = up.runs.find((r) => (r.body.inputs as { attack: string }).attack === "oversized_first_event")!;
    await eventually(async () => expect(up.stops.filter((t) => t === run.taskId)).toHaveLength(1));
  });
});

describe("item 10: never OK for a message a default client cannot read", () => {
  it("a 3 MiB event under a raised maxEventBytes becomes RESOURCE_EXHAUSTED RESPONSE_TOO_LARGE and a stop call", async () => {
    const raised = await startHostileGateway(up.url, { upstream: { maxEventBytes: 8 * MiB } });
    try {
      const { error, messages } = await collect(raised.c.chat.chatInvokeStream(request("big_event"), bearer(HOSTILE_TOKEN)));
      expect(messages).toEqual([]);
      expect(error?.code).toBe(status.RESOURCE_EXHAUSTED);
      expect(details(error!).errorInfo?.reason).toBe("RESPONSE_TOO_LARGE");
      const run = up.runs.filter((r) => (r.body.inputs as { attack: string }).attack === "big_event").at(-1)!;
      await eventually(async () => expect(up.stops.filter((t) => t === run.taskId)).toHaveLength(1));
      await eventually(async () =>
        expect(raised.gw.proc.lines.join("\n")).toMatch(/"grpcCode":"RESOURCE_EXHAUSTED".*"reason":"RESPONSE_TOO_LARGE"/),
      );
      expect(raised.gw.proc.lines.join("\n")).not.toMatch(/"grpcCode":"OK"/);
    } finally {
      await raised.stop();
    }
  }, 60_000);
});

describe("item 8: the app key never leaks", () => {
  it("not when Dify's error code is the key: not in the status, ErrorInfo, metadata or log", async () => {
    const { error } = await unaryCall(request("key_in_code"));
    expect(error?.code).toBe(status.FAILED_PRECONDITION);
    const info = details(error!).errorInfo!;
    expect(info.reason).toBe("HTTP_400");
    expect(info.metadata).toEqual({ upstreamStatus: "400", upstreamCode: "" });
    expect(error!.details).toBe("Dify HTTP 400: bad");
    expect(JSON.stringify(error!.metadata.toJSON())).not.toContain("HostileKey");
    await eventually(async () => expect(logText()).toContain("Dify HTTP 400: bad"));
    expect(logText()).not.toContain(HOSTILE_KEY);
  });

  it("not when an error event's code carries it", async () => {
    const { error } = await collect(stack.c.chat.chatInvokeStream(request("key_in_event_code"), bearer(HOSTILE_TOKEN)));
    expect(error?.code).toBe(status.FAILED_PRECONDITION);
    expect(details(error!).errorInfo?.reason).toBe("HTTP_400");
    expect(`${error!.details} ${JSON.stringify(details(error!))}`).not.toContain("HostileKey");
    expect(logText()).not.toContain(HOSTILE_KEY);
  });

  it("not when an event carries it \\u-escaped", async () => {
    const { error, messages } = await collect(stack.c.chat.chatInvokeStream(request("escaped_key_in_event"), bearer(HOSTILE_TOKEN)));
    expect(error).toBeUndefined();
    expect(JSON.stringify(messages)).not.toContain(HOSTILE_KEY);
    expect(JSON.stringify(messages)).toContain("key [redacted]");
  });

  it("an error code that is not a Dify code token maps by HTTP status, without prototype lookups", async () => {
    const { error } = await unaryCall(request("odd_code"));
    expect(error?.code).toBe(status.FAILED_PRECONDITION);
    expect(details(error!).errorInfo?.reason).toBe("CONSTRUCTOR");
  });
});

describe("items 11 and 12: upstream errors keep their meaning", () => {
  it("a /info lookup that times out is UNAVAILABLE UPSTREAM_UNAVAILABLE, with no error log line", async () => {
    const { error, ms } = await unaryCall(request("none", {}, HOSTILE_APP_NO_MODE));
    expect(error?.code).toBe(status.UNAVAILABLE);
    expect(details(error!).errorInfo?.reason).toBe("UPSTREAM_UNAVAILABLE");
    expect(error!.details).toBe(`Dify did not answer GET /info within ${INFO_TIMEOUT_MS} ms`);
    expect(ms).toBeLessThan(INFO_TIMEOUT_MS + 3_000);
    expect(stack.gw.proc.json().filter((l) => Number(l.level) >= 50)).toEqual([]);
  });

  it("Dify's JSON error with HTTP 200 on a streaming request keeps Dify's code and maps by its status field", async () => {
    for (const result of [
      await unaryCall(request("json_error_with_200")),
      await collect(stack.c.chat.chatInvokeStream(request("json_error_with_200"), bearer(HOSTILE_TOKEN))),
    ]) {
      expect(result.error?.code).toBe(status.FAILED_PRECONDITION);
      expect(details(result.error!).errorInfo).toMatchObject({
        reason: "PROVIDER_QUOTA_EXCEEDED",
        domain: "dify",
        metadata: { upstreamStatus: "400", upstreamCode: "provider_quota_exceeded" },
      });
    }
  });
});

describe("item 15: statuses never echo unbounded input", () => {
  it("a NaN deep in long non-ASCII keys: the field is capped, ASCII, and the status small", async () => {
    let inputs: Record<string, unknown> = { x: Number.NaN };
    // 25 levels: under MAX_INPUTS_DEPTH, so the NaN, not the depth, is what gets named.
    for (let i = 0; i < 25; i++) inputs = { ["键".repeat(60) + String(i)]: inputs };
    const { error } = await unaryCall({ appId: HOSTILE_APP, inputs, files: [], user: "u", query: "q", conversationId: "" });
    expect(error?.code).toBe(status.INVALID_ARGUMENT);
    const field = details(error!).badRequest!.fieldViolations[0]!.field;
    expect(field.length).toBeLessThanOrEqual(200);
    expect(field).toMatch(/^[\x20-\x7e]+$/);
    expect(field.endsWith("...")).toBe(true);
    expect(error!.details.length).toBeLessThan(400);
    expect(error!.metadata.get("grpc-status-details-bin")[0]!.length).toBeLessThan(1_000);
  });

  it("Dify's long error message is cut, so the status stays deliverable", async () => {
    const { error } = await unaryCall(request("huge_error_message"));
    expect(error?.code).toBe(status.INVALID_ARGUMENT);
    expect(error!.details.length).toBeLessThan(1_100);
  });
});
