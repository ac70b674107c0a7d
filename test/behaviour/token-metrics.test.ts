import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AppMode } from "../../simulator/index.js";
import { collect, unary } from "../helpers/grpc.js";
import { type InProcessStack, startInProcessStack } from "../helpers/in-process.js";

/*
 * `dify_gateway_tokens_total` and `dify_gateway_price_total` on /metrics, against what the simulator reported to
 * the caller in the same calls (unary answers' usage, streams' message_end and workflow_finished events).
 */

let s: InProcessStack;
beforeAll(async () => {
  s = await startInProcessStack();
});
afterAll(async () => {
  await s?.stop();
});

type Raw = Record<string, unknown>;
interface Expected {
  tokens: Map<string, number>;
  price: Map<string, number>;
}

/** What one run reported, added up as the gateway should: input and output where split, total always. */
function add(expected: Expected, app: string, mode: AppMode, usage: Raw | undefined, workflowTotal?: unknown): void {
  const inc = (map: Map<string, number>, key: string, n: number) => map.set(key, (map.get(key) ?? 0) + n);
  if (usage) {
    inc(expected.tokens, `${app}|${mode}|input`, Number(usage.prompt_tokens));
    inc(expected.tokens, `${app}|${mode}|output`, Number(usage.completion_tokens));
    inc(expected.tokens, `${app}|${mode}|total`, Number(usage.total_tokens));
    inc(expected.price, `${app}|${mode}|${String(usage.currency)}`, Number(usage.total_price));
  } else inc(expected.tokens, `${app}|${mode}|total`, Number(workflowTotal));
}

async function scrape(name: string, key: (labels: Record<string, string>) => string): Promise<Map<string, number>> {
  const text = await (await request(s.gw.metricsUrl!)).body.text();
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    const m = /^(\w+)\{(.*)\} (\S+)$/.exec(line);
    if (m?.[1] !== name) continue;
    const labels = Object.fromEntries([...m[2]!.matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1]!, x[2]!]));
    expect(labels.workspace).toBe("ws-test");
    out.set(key(labels), Number(m[3]));
  }
  return out;
}

describe("token and price counters", () => {
  it("add up to the usage the simulator reported, per app, mode and token type, over a mix of calls", async () => {
    const expected: Expected = { tokens: new Map(), price: new Map() };
    const chatReq = (mode: AppMode, query: string) => ({
      appId: s.appId(mode),
      query,
      inputs: {},
      files: [],
      user: "",
      conversationId: "",
    });
    const streamUsage = (messages: { raw?: unknown }[]) =>
      ((messages.map((m) => m.raw as Raw).find((r) => r.event === "message_end")?.metadata as Raw | undefined)?.usage as Raw) ?? undefined;

    for (const query of ["a short one", "a somewhat longer question about tokens"]) {
      const res = await unary(s.c.chat.chatInvoke, s.c.chat, chatReq("chat", query), s.md());
      add(expected, s.appId("chat"), "chat", ((res.raw as Raw).metadata as Raw).usage as Raw);
    }
    for (const mode of ["agent-chat", "advanced-chat"] as const) {
      const { messages, error } = await collect(s.c.chat.chatInvokeStream(chatReq(mode, `stream ${mode}`), s.md()));
      expect(error).toBeUndefined();
      add(expected, s.appId(mode), mode, streamUsage(messages));
    }
    const workflow = await unary(
      s.c.workflow.workflowInvoke,
      s.c.workflow,
      { appId: s.appId("workflow"), inputs: { query: "w" }, files: [], user: "" },
      s.md(),
    );
    add(expected, s.appId("workflow"), "workflow", undefined, ((workflow.raw as Raw).data as Raw).total_tokens);
    // Watching the finished run replays its workflow_finished, usage included: that is no new usage, however often.
    for (let i = 0; i < 3; i++) {
      const watch = { appId: s.appId("workflow"), workflowRunId: String((workflow.raw as Raw).workflow_run_id), user: "" };
      const { error } = await collect(s.c.run.watchRun({ ...watch, includeStateSnapshot: false, continueOnPause: false }, s.md()));
      expect(error).toBeUndefined();
    }
    const { messages: wf } = await collect(
      s.c.workflow.workflowInvokeStream({ appId: s.appId("workflow"), inputs: { query: "wf stream" }, files: [], user: "" }, s.md()),
    );
    const finished = wf.map((m) => m.raw as Raw).find((r) => r.event === "workflow_finished")!;
    add(expected, s.appId("workflow"), "workflow", undefined, (finished.data as Raw).total_tokens);
    const completion = await unary(
      s.c.completion.completionInvoke,
      s.c.completion,
      { appId: s.appId("completion"), inputs: { query: "complete me" }, files: [], user: "" },
      s.md(),
    );
    add(expected, s.appId("completion"), "completion", ((completion.raw as Raw).metadata as Raw).usage as Raw);
    const { messages: cs } = await collect(
      s.c.completion.completionInvokeStream({ appId: s.appId("completion"), inputs: { query: "stream me" }, files: [], user: "" }, s.md()),
    );
    add(expected, s.appId("completion"), "completion", streamUsage(cs));

    // The simulator reported something for every kind of run (else the comparison below proves little).
    expect(expected.tokens.size).toBe(4 * 3 + 1);
    for (const n of expected.tokens.values()) expect(n).toBeGreaterThan(0);

    const tokens = await scrape("dify_gateway_tokens_total", (l) => `${l.app}|${l.mode}|${l.type}`);
    expect(Object.fromEntries(tokens)).toEqual(Object.fromEntries(expected.tokens));
    const price = await scrape("dify_gateway_price_total", (l) => `${l.app}|${l.mode}|${l.currency}`);
    expect([...price.keys()].sort()).toEqual([...expected.price.keys()].sort());
    for (const [key, value] of expected.price) expect(price.get(key)).toBeCloseTo(value, 9);
  });
});
