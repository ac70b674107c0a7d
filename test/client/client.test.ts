import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from "vitest";
import {
  type AppClient,
  AppInvokeError,
  createAppClient,
  type DifyDict,
  type DifyEventStream,
  status,
} from "../../clients/typescript/src/index.js";
import { eventually } from "../helpers/processes.js";
import { CLIENT_TOKEN, type ClientStack, startClientStack } from "./stack.js";

/** Keeps a run going long after the test let go of its stream (simulator directive, see its README). */
const SLOW = { _sim: { events: 200, delay_ms: 20 } };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** The New Agent demo app exists in Dify (the simulator) but is left out of the caller's workspace. */
const FOREIGN = "agent" as const;

let s: ClientStack;
let client: AppClient;
beforeAll(async () => {
  s = await startClientStack({ simulatorArgs: ["--token-delay-ms", "5"], excludeModes: [FOREIGN] });
  client = createAppClient({ address: s.address, token: CLIENT_TOKEN });
});
afterAll(async () => {
  client?.close();
  await s?.stop();
});

const echo = (app: string, prompt: string) => `Echo from ${app}: ${prompt}`;
const joined = (events: DifyDict[], name: string) =>
  events
    .filter((e) => e.event === name)
    .map((e) => e.answer)
    .join("");

async function all(stream: DifyEventStream): Promise<DifyDict[]> {
  const events: DifyDict[] = [];
  for await (const e of stream) events.push(e);
  return events;
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => expect.unreachable("the call succeeded"),
    (e: unknown) => e,
  );
}

async function appError(p: Promise<unknown>): Promise<AppInvokeError> {
  const err = await rejection(p);
  expect(err).toBeInstanceOf(AppInvokeError);
  return err as AppInvokeError;
}

describe("chat", () => {
  it("blocking resolves to Dify's blocking dict", async () => {
    const res = await client.app.chat.invoke({ appId: s.appId("chat"), query: "What is gRPC?", user: "alice", responseMode: "blocking" });
    expect(res).toMatchObject({
      event: "message",
      mode: "chat",
      conversation_id: expect.stringMatching(UUID),
      message_id: expect.stringMatching(UUID),
      task_id: expect.stringMatching(UUID),
    });
    expect(String(res.answer).startsWith(echo("Demo Chatbot", "What is gRPC?"))).toBe(true);
    expect(res.created_at).toBeGreaterThan(1_600_000_000);
  });

  it("streaming yields each event dict in order", async () => {
    const events = await all(client.app.chat.invoke({ appId: s.appId("chat"), query: "What is gRPC?", responseMode: "streaming" }));
    expect(events.filter((e) => e.event === "message").length).toBeGreaterThan(1);
    expect(events.at(-1)?.event).toBe("message_end");
    expect(joined(events, "message").startsWith(echo("Demo Chatbot", "What is gRPC?"))).toBe(true);
    expect(new Set(events.map((e) => e.task_id))).toEqual(new Set([events.at(-1)?.task_id]));
  });

  it("a Chatflow streams its workflow events and ends at workflow_finished", async () => {
    const events = await all(client.app.chat.invoke({ appId: s.appId("advanced-chat"), query: "Hello", responseMode: "streaming" }));
    const names = events.map((e) => e.event);
    expect(names[0]).toBe("workflow_started");
    expect(names).toContain("node_finished");
    expect(names.slice(-2)).toEqual(["message_end", "workflow_finished"]);
  });

  it("continues a conversation with conversationId", async () => {
    const first = await client.app.chat.invoke({ appId: s.appId("chat"), query: "Hi", user: "bob", responseMode: "blocking" });
    const second = await client.app.chat.invoke({
      appId: s.appId("chat"),
      query: "Again",
      user: "bob",
      conversationId: String(first.conversation_id),
      responseMode: "blocking",
    });
    expect(second.conversation_id).toBe(first.conversation_id);
    expect(second.message_id).not.toBe(first.message_id);
    expect(second.answer).toContain("(turn 2)");
    const third = await all(
      client.app.chat.invoke({
        appId: s.appId("chat"),
        query: "More",
        user: "bob",
        conversationId: String(first.conversation_id),
        responseMode: "streaming",
      }),
    );
    expect(third.at(-1)?.conversation_id).toBe(first.conversation_id);
    expect(joined(third, "message")).toContain("(turn 3)");
  });

  it("runs an agent-chat app in blocking mode, which Dify's blocking mode rejects", async () => {
    const res = await client.app.chat.invoke({ appId: s.appId("agent-chat"), query: "Plan a trip", responseMode: "blocking" });
    expect(res.mode).toBe("agent-chat");
    const streamed = await all(client.app.chat.invoke({ appId: s.appId("agent-chat"), query: "Plan a trip", responseMode: "streaming" }));
    expect(streamed.map((e) => e.event)).toContain("agent_thought");
    expect(res.answer).toBe(joined(streamed, "agent_message"));
    expect(String(res.answer).startsWith(echo("Demo Agent", "Plan a trip"))).toBe(true);
  });

  it("sends inputs, files and user to Dify as given (inputs as JSON would carry them)", async () => {
    await s.sim.reset();
    const when = new Date("2024-05-01T00:00:00Z");
    await client.app.chat.invoke({
      appId: s.appId("chat"),
      query: "Look",
      inputs: { name: "Ada", n: 3, ratio: 0.5, flags: [true, null], nested: { k: "v" }, when, dropped: undefined },
      files: [{ type: "image", transferMethod: "remote_url", url: "https://example.com/cat.png" }],
      user: "carol",
      responseMode: "blocking",
    });
    const [sent] = (await s.sim.requests()).filter((r) => r.path === "/v1/chat-messages");
    expect(sent?.body).toMatchObject({
      user: "carol",
      files: [{ type: "image", transfer_method: "remote_url", url: "https://example.com/cat.png" }],
      inputs: { name: "Ada", n: 3, ratio: 0.5, flags: [true, null], nested: { k: "v" }, when: when.toISOString() },
    });
    expect(sent?.body).not.toHaveProperty("inputs.dropped");
  });

  it("without user, the workspace's default user is sent", async () => {
    await s.sim.reset();
    await client.app.chat.invoke({ appId: s.appId("chat"), query: "Hi", responseMode: "blocking" });
    const [sent] = (await s.sim.requests()).filter((r) => r.path === "/v1/chat-messages");
    expect(sent?.body).toMatchObject({ user: "ws-default-user" });
  });
});

describe("workflow", () => {
  it("blocking resolves to the run dict", async () => {
    const res = await client.app.workflow.invoke({
      appId: s.appId("workflow"),
      inputs: { query: "What is gRPC?" },
      responseMode: "blocking",
    });
    expect(res.workflow_run_id).toMatch(UUID);
    const data = res.data as DifyDict;
    expect(data.status).toBe("succeeded");
    expect(String((data.outputs as DifyDict).text).startsWith(echo("Demo Workflow", "What is gRPC?"))).toBe(true);
  });

  it("streaming yields the run's events", async () => {
    const events = await all(
      client.app.workflow.invoke({ appId: s.appId("workflow"), inputs: { query: "What is gRPC?" }, responseMode: "streaming" }),
    );
    expect(events[0]?.event).toBe("workflow_started");
    expect(events.at(-1)?.event).toBe("workflow_finished");
    const text = events
      .filter((e) => e.event === "text_chunk")
      .map((e) => (e.data as DifyDict).text)
      .join("");
    expect(text).toBe(((events.at(-1)!.data as DifyDict).outputs as DifyDict).text);
  });

  it("a failed run is a result, not an error", async () => {
    const res = await client.app.workflow.invoke({
      appId: s.appId("workflow"),
      inputs: { _sim: { fault: "workflow_failed", error: "boom" } },
      responseMode: "blocking",
    });
    expect(res.data).toMatchObject({ status: "failed", error: "boom" });
  });
});

describe("completion", () => {
  it("blocking resolves to the message dict", async () => {
    const res = await client.app.completion.invoke({
      appId: s.appId("completion"),
      inputs: { query: "Write a haiku" },
      responseMode: "blocking",
    });
    expect(res.mode).toBe("completion");
    expect(res).not.toHaveProperty("conversation_id");
    expect(String(res.answer).startsWith(echo("Demo Text Generator", "Write a haiku"))).toBe(true);
  });

  it("streaming yields message events, then message_end", async () => {
    const events = await all(
      client.app.completion.invoke({ appId: s.appId("completion"), inputs: { query: "Write a haiku" }, responseMode: "streaming" }),
    );
    expect(events.at(-1)?.event).toBe("message_end");
    expect(joined(events, "message").startsWith(echo("Demo Text Generator", "Write a haiku"))).toBe(true);
  });
});

describe("errors", () => {
  function expectNotFound(err: AppInvokeError, appId: string) {
    expect(err).toMatchObject({
      code: status.NOT_FOUND,
      codeName: "NOT_FOUND",
      reason: "APP_NOT_FOUND",
      difyCode: "APP_NOT_FOUND",
      domain: "dify-grpc-gateway",
      metadata: { appId },
    });
    expect(err.details).toContain(appId);
    expect(err.message).toBe(`NOT_FOUND: ${err.details}`);
  }

  it("a foreign app_id → NOT_FOUND in both modes, without reaching Dify", async () => {
    const foreign = s.appId(FOREIGN);
    await s.sim.reset();
    expectNotFound(await appError(client.app.chat.invoke({ appId: foreign, query: "Hi", responseMode: "blocking" })), foreign);
    expectNotFound(await appError(all(client.app.chat.invoke({ appId: foreign, query: "Hi", responseMode: "streaming" }))), foreign);
    expect(await s.sim.runs()).toEqual([]);
  });

  it("an unknown app_id → NOT_FOUND on the workflow and completion interfaces too", async () => {
    const unknown = crypto.randomUUID();
    for (const iface of [client.app.workflow, client.app.completion]) {
      expectNotFound(await appError(iface.invoke({ appId: unknown, responseMode: "blocking" })), unknown);
      expectNotFound(await appError(all(iface.invoke({ appId: unknown, responseMode: "streaming" }))), unknown);
    }
  });

  it("an invalid request names the field", async () => {
    // A blank query: the client refuses only an empty one (a TypeError), the gateway a blank one too.
    const err = await appError(client.app.chat.invoke({ appId: s.appId("chat"), query: "  ", responseMode: "blocking" }));
    expect(err).toMatchObject({ code: status.INVALID_ARGUMENT, reason: "INVALID_REQUEST" });
    expect(err.fieldViolations.map((v) => v.field)).toEqual(["query"]);
  });

  it("carries Dify's error code and the retry delay", async () => {
    const inputs = {
      _sim: { fault: "http_error", status: 429, code: "too_many_requests", message: "busy", headers: { "Retry-After": "3" } },
    };
    const err = await appError(client.app.completion.invoke({ appId: s.appId("completion"), inputs, responseMode: "blocking" }));
    expect(err).toMatchObject({
      code: status.RESOURCE_EXHAUSTED,
      difyCode: "too_many_requests",
      reason: "TOO_MANY_REQUESTS",
      domain: "dify",
      retryDelayMs: 3000,
    });
    expect(err.metadata.upstreamStatus).toBe("429");
    expect(err.details).toContain("busy");
  });

  it("an error event mid-stream is yielded, then the iteration throws", async () => {
    const inputs = { _sim: { fault: "error_event", after: 2, status: 400, code: "provider_quota_exceeded", message: "quota" } };
    const got: unknown[] = [];
    const err = await rejection(
      (async () => {
        for await (const e of client.app.chat.invoke({ appId: s.appId("chat"), query: "Hi", inputs, responseMode: "streaming" }))
          got.push(e.event);
      })(),
    );
    expect(got).toEqual(["message", "message", "error"]);
    expect(err).toMatchObject({ code: status.FAILED_PRECONDITION, difyCode: "provider_quota_exceeded", retryDelayMs: undefined });
  });

  it("a wrong token → UNAUTHENTICATED, and the token is not in the error", async () => {
    const other = createAppClient({ address: s.address, token: "not-the-token" });
    try {
      const err = await appError(other.app.chat.invoke({ appId: s.appId("chat"), query: "Hi", responseMode: "blocking" }));
      expect(err.code).toBe(status.UNAUTHENTICATED);
      expect(JSON.stringify({ ...err, message: err.message })).not.toContain("not-the-token");
    } finally {
      other.close();
    }
  });

  it("refuses a bad responseMode and unknown file keys before any call", () => {
    // @ts-expect-error: plain JavaScript callers can pass anything.
    expect(() => client.app.chat.invoke({ appId: s.appId("chat"), query: "Hi", responseMode: "stream" })).toThrow(TypeError);
    const files = [{ type: "image", transfer_method: "remote_url" }] as never;
    expect(() => client.app.chat.invoke({ appId: s.appId("chat"), query: "Hi", files, responseMode: "blocking" })).toThrow(
      /unknown keys transfer_method/,
    );
  });
});

describe("cancellation and deadlines", () => {
  const INTERFACES = [
    {
      name: "chat",
      stop: "/v1/chat-messages/",
      start: (signal?: AbortSignal) =>
        client.app.chat.invoke({ appId: s.appId("chat"), query: "slow", inputs: SLOW, user: "ivy", signal, responseMode: "streaming" }),
    },
    {
      name: "workflow",
      stop: "/v1/workflows/tasks/",
      start: (signal?: AbortSignal) =>
        client.app.workflow.invoke({ appId: s.appId("workflow"), inputs: SLOW, user: "ivy", signal, responseMode: "streaming" }),
    },
    {
      name: "completion",
      stop: "/v1/completion-messages/",
      start: (signal?: AbortSignal) =>
        client.app.completion.invoke({ appId: s.appId("completion"), inputs: SLOW, user: "ivy", signal, responseMode: "streaming" }),
    },
  ] as const;

  async function expectStopped(prefix: string, taskId: unknown, user: string) {
    expect(taskId).toMatch(UUID);
    await eventually(async () =>
      expect((await s.stops()).map((r) => [r.path, r.body])).toEqual([[`${prefix}${String(taskId)}/stop`, { user }]]),
    );
  }

  describe.each(INTERFACES)("$name", (iface) => {
    it("breaking out of for-await after three events stops the Dify run", async () => {
      await s.sim.reset();
      const events: DifyDict[] = [];
      for await (const e of iface.start()) {
        events.push(e);
        if (events.length === 3) break;
      }
      await expectStopped(iface.stop, events[0]?.task_id, "ivy");
    });

    it("aborting the signal after three events throws its reason and stops the run", async () => {
      await s.sim.reset();
      const ac = new AbortController();
      const events: DifyDict[] = [];
      const err = await rejection(
        (async () => {
          for await (const e of iface.start(ac.signal)) {
            events.push(e);
            if (events.length === 3) ac.abort();
          }
        })(),
      );
      expect(err).toBeInstanceOf(DOMException);
      expect((err as DOMException).name).toBe("AbortError");
      expect(events).toHaveLength(3);
      await expectStopped(iface.stop, events[0]?.task_id, "ivy");
    });
  });

  it("aborting a blocking call rejects with the signal's reason and stops the run", async () => {
    await s.sim.reset();
    const ac = new AbortController();
    const call = client.app.completion.invoke({
      appId: s.appId("completion"),
      inputs: SLOW,
      user: "jill",
      signal: ac.signal,
      responseMode: "blocking",
    });
    // The gateway can stop the run only once it has read the task_id in the first event: abort after a few.
    await eventually(async () =>
      expect((await s.sim.requests()).find((r) => r.path === "/v1/completion-messages")?.eventsSent).toBeGreaterThanOrEqual(3),
    );
    const reason = new Error("user went away");
    ac.abort(reason);
    expect(await rejection(call)).toBe(reason);
    await eventually(async () => expect((await s.stops()).map((r) => r.body)).toEqual([{ user: "jill" }]));
  });

  it("an already aborted signal never calls the gateway", async () => {
    await s.sim.reset();
    const signal = AbortSignal.abort();
    expect(await rejection(client.app.chat.invoke({ appId: s.appId("chat"), query: "Hi", signal, responseMode: "blocking" }))).toBe(
      signal.reason,
    );
    expect(await rejection(all(client.app.chat.invoke({ appId: s.appId("chat"), query: "Hi", signal, responseMode: "streaming" })))).toBe(
      signal.reason,
    );
    expect(await s.sim.runs()).toEqual([]);
  });

  it("streams read to their end are never stopped", async () => {
    await s.sim.reset();
    for (let i = 0; i < 3; i++) {
      await all(client.app.chat.invoke({ appId: s.appId("chat"), query: "Hi", responseMode: "streaming" }));
      await all(client.app.workflow.invoke({ appId: s.appId("workflow"), responseMode: "streaming" }));
    }
    await new Promise((r) => setTimeout(r, 300));
    expect(await s.stops()).toEqual([]);
  });

  it("timeoutMs ends a blocking call with DEADLINE_EXCEEDED and stops the run", async () => {
    await s.sim.reset();
    const started = Date.now();
    const err = await appError(
      client.app.completion.invoke({ appId: s.appId("completion"), inputs: SLOW, user: "jack", timeoutMs: 500, responseMode: "blocking" }),
    );
    expect(Date.now() - started).toBeLessThan(3000);
    expect(err.code).toBe(status.DEADLINE_EXCEEDED);
    await eventually(async () => expect((await s.stops()).map((r) => r.body)).toEqual([{ user: "jack" }]));
  });

  it("a deadline Date bounds a stream", async () => {
    const err = await appError(
      all(
        client.app.workflow.invoke({
          appId: s.appId("workflow"),
          inputs: SLOW,
          deadline: new Date(Date.now() + 500),
          responseMode: "streaming",
        }),
      ),
    );
    expect(err.code).toBe(status.DEADLINE_EXCEEDED);
  });

  it("the client's timeoutMs is every call's default", async () => {
    const short = createAppClient({ address: s.address, token: CLIENT_TOKEN, timeoutMs: 500 });
    try {
      const err = await appError(
        all(short.app.chat.invoke({ appId: s.appId("chat"), query: "slow", inputs: SLOW, responseMode: "streaming" })),
      );
      expect(err.code).toBe(status.DEADLINE_EXCEEDED);
    } finally {
      short.close();
    }
  });
});

describe("arguments are checked before any call", () => {
  /** Waits a moment, then checks that nothing reached Dify (a wrong call must not start a run). */
  async function expectNoRun() {
    await new Promise((r) => setTimeout(r, 200));
    expect(await s.sim.runs()).toEqual([]);
  }
  const chat = (extra: Record<string, unknown>, responseMode: "blocking" | "streaming" = "blocking") =>
    client.app.chat.invoke({ appId: s.appId("chat"), query: "Hi", ...extra, responseMode } as never);

  it("a signal that is not an AbortSignal is a TypeError, the call is never sent and the process lives on", async () => {
    await s.sim.reset();
    const ac = new AbortController();
    // The controller itself instead of its signal: once a TypeError inside grpc-js's callback, which ended the process.
    for (const mode of ["blocking", "streaming"] as const)
      expect(() => chat({ signal: ac }, mode)).toThrow(/signal must be an AbortSignal/);
    expect(() => client.app.workflow.getRun({ appId: s.appId("workflow"), workflowRunId: "r", signal: ac as never })).toThrow(TypeError);
    await expect(client.apps.list({ signal: ac as never })).rejects.toThrow(TypeError);
    await expect(client.files.upload(Buffer.from("x"), { appId: s.appId("chat"), filename: "a.txt", signal: ac as never })).rejects.toThrow(
      TypeError,
    );
    await expectNoRun();
    expect((await s.sim.requests()).filter((r) => r.path === "/v1/files/upload")).toEqual([]);
  });

  it("timeoutMs must be a finite number ≥ 0; one beyond what grpc-js can time means no limit", async () => {
    await s.sim.reset();
    for (const timeoutMs of ["5000", Number.NaN, -1, Number.POSITIVE_INFINITY]) {
      expect(() => chat({ timeoutMs })).toThrow(/timeoutMs must be a finite number/);
    }
    expect(() => chat({ deadline: "2030-01-01" })).toThrow(/deadline must be a valid Date/);
    expect(() => createAppClient({ address: s.address, token: CLIENT_TOKEN, timeoutMs: "5000" as never })).toThrow(TypeError);
    await expectNoRun();
    // Once "Deadline is too far in the future" thrown inside grpc-js (the process ended), or a grpc-timeout the
    // gateway's 32-bit timer wrapped into an instant DEADLINE_EXCEEDED.
    for (const far of [{ timeoutMs: Number.MAX_SAFE_INTEGER }, { timeoutMs: 30 * 24 * 3600_000 }, { deadline: new Date("9999-12-31") }]) {
      const res = await chat(far);
      expect(String(res.answer).startsWith(echo("Demo Chatbot", "Hi"))).toBe(true);
    }
  });

  it('a missing or null required string is a TypeError naming it, not the text "undefined" sent to Dify', async () => {
    await s.sim.reset();
    expect(() => client.app.chat.invoke({ appId: s.appId("chat"), responseMode: "blocking" } as never)).toThrow(
      /query must be a non-empty string/,
    );
    expect(() => chat({ query: null }, "streaming")).toThrow(/query must be a non-empty string, not null/);
    expect(() => chat({ query: 42 })).toThrow(/query must be a non-empty string, not 42/);
    expect(() => client.app.chat.invoke({ query: "Hi", responseMode: "blocking" } as never)).toThrow(/appId must be a non-empty string/);
    expect(() => client.app.workflow.invoke({ responseMode: "streaming" } as never)).toThrow(/appId/);
    expect(() => chat({ user: 7 })).toThrow(/user must be a string/);
    expect(() => chat({ conversationId: 1 })).toThrow(/conversationId must be a string/);
    expect(() => client.app.workflow.getRun({ appId: s.appId("workflow") } as never)).toThrow(/workflowRunId/);
    expect(() => client.app.workflow.getForm({ appId: s.appId("workflow") } as never)).toThrow(/formToken/);
    expect(() => client.app.workflow.submitForm({ appId: s.appId("workflow"), formToken: "t" } as never)).toThrow(/action/);
    expect(() => client.app.workflow.resume({ appId: s.appId("workflow"), formToken: "t", action: "a" } as never)).toThrow(/workflowRunId/);
    expect(() => client.app.workflow.watchRun({ appId: s.appId("workflow") } as never)).toThrow(/workflowRunId/);
    await expect(client.apps.describe(undefined as never)).rejects.toThrow(/appId must be a non-empty string/);
    await expect(client.files.upload(Buffer.from("x"), { filename: "a.txt" } as never)).rejects.toThrow(/appId/);
    await expectNoRun();
    // null for an optional string is "not given", as before.
    const res = await chat({ user: null, conversationId: null });
    expect(res.conversation_id).toMatch(UUID);
  });

  it("wrong shapes of params, files and upload are TypeErrors that say what was expected", async () => {
    expect(() => (client.app.chat.invoke as () => unknown)()).toThrow(/invoke\(\) takes a params object, not undefined/);
    expect(() => chat({ files: { type: "image", transferMethod: "remote_url" } })).toThrow(/files must be an array/);
    expect(() => chat({ files: [null] })).toThrow(/files\[0\] must be an object, not null/);
    expect(() => chat({ files: [{ transferMethod: "remote_url", url: "https://x/a.png" }] })).toThrow(/files\[0\]\.type/);
    await expect((client.files.upload as (s: unknown) => Promise<unknown>)(Buffer.from("x"))).rejects.toThrow(
      /files.upload\(source, params\) takes a params object/,
    );
    await expect(client.files.upload(42 as never, { appId: s.appId("chat"), filename: "a.txt" })).rejects.toThrow(/source must be a path/);
  });
});

describe("close()", () => {
  it("cancels a stream in flight: it throws CANCELLED and the gateway stops the Dify run", async () => {
    await s.sim.reset();
    const own = createAppClient({ address: s.address, token: CLIENT_TOKEN });
    const events: DifyDict[] = [];
    const err = await rejection(
      (async () => {
        for await (const e of own.app.chat.invoke({
          appId: s.appId("chat"),
          query: "slow",
          inputs: SLOW,
          user: "kim",
          responseMode: "streaming",
        })) {
          events.push(e);
          if (events.length === 3) own.close();
        }
      })(),
    );
    expect(err).toBeInstanceOf(AppInvokeError);
    expect((err as AppInvokeError).code).toBe(status.CANCELLED);
    expect(events).toHaveLength(3);
    await eventually(async () =>
      expect((await s.stops()).map((r) => [r.path, r.body])).toEqual([
        [`/v1/chat-messages/${String(events[0]?.task_id)}/stop`, { user: "kim" }],
      ]),
    );
  });

  it("cancels blocking calls in flight, and later calls throw", async () => {
    await s.sim.reset();
    const own = createAppClient({ address: s.address, token: CLIENT_TOKEN });
    const call = own.app.completion.invoke({ appId: s.appId("completion"), inputs: SLOW, user: "lou", responseMode: "blocking" });
    const notStarted = own.app.chat.invoke({ appId: s.appId("chat"), query: "Hi", responseMode: "streaming" });
    await eventually(async () =>
      expect((await s.sim.requests()).find((r) => r.path === "/v1/completion-messages")?.eventsSent).toBeGreaterThanOrEqual(3),
    );
    own.close();
    expect(await appError(call)).toMatchObject({ code: status.CANCELLED });
    await eventually(async () => expect((await s.stops()).map((r) => r.body)).toEqual([{ user: "lou" }]));
    await expect(notStarted.next()).rejects.toThrow(/the client is closed/);
    await expect(own.app.chat.invoke({ appId: s.appId("chat"), query: "Hi", responseMode: "blocking" })).rejects.toThrow(
      /the client is closed/,
    );
    await expect(own.apps.list()).rejects.toThrow(/the client is closed/);
    await expect(own.files.upload(Buffer.from("x"), { appId: s.appId("chat"), filename: "a.txt" })).rejects.toThrow(/the client is closed/);
    expect((await s.sim.requests()).filter((r) => r.path !== "/v1/completion-messages" && !r.path.endsWith("/stop"))).toEqual([]);
  });
});

/**
 * Compile-time checks of the overloads, run by `tsc --noEmit` (npm run typecheck), never called:
 * the result type follows responseMode.
 */
function typeChecks(c: AppClient): void {
  expectTypeOf(c.app.chat.invoke({ appId: "a", query: "q", responseMode: "blocking" })).toEqualTypeOf<Promise<DifyDict>>();
  expectTypeOf(c.app.workflow.invoke({ appId: "a", responseMode: "streaming" })).toEqualTypeOf<DifyEventStream>();
  const mode = Math.random() > 0.5 ? ("blocking" as const) : ("streaming" as const);
  expectTypeOf(c.app.completion.invoke({ appId: "a", responseMode: mode })).toEqualTypeOf<Promise<DifyDict> | DifyEventStream>();
  // @ts-expect-error: chat needs a query.
  void c.app.chat.invoke({ appId: "a", responseMode: "blocking" });
  // @ts-expect-error: responseMode is required, as the return type depends on it.
  void c.app.workflow.invoke({ appId: "a" });
}
void typeChecks; // referenced so it is type-checked, never called
