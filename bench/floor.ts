/**
 * The FLOOR: the least a gRPC-to-Dify pass-through can do with the same libraries (grpc-js, undici,
 * eventsource-parser) and the same proto. No auth, metrics, logging, validation, translation of `raw`,
 * error mapping or stop calls. Unary calls Dify's blocking endpoint and copies the typed fields; the stream
 * relays each SSE event as one message, honouring backpressure. What the gateway costs above this is its tax.
 * `floor.js URL streaming`: the STREAMING-MODE floor, whose unary runs Dify in streaming mode and aggregates the
 * events into the same response, as the gateway must (stop on cancel, agent apps, long runs).
 * Prints {"port":N} once listening.
 */

import { once } from "node:events";
import type { ServerUnaryCall, ServerWritableStream, sendUnaryData } from "@grpc/grpc-js";
import { createParser, type EventSourceMessage } from "eventsource-parser";
import { request } from "undici";
import {
  type CompletionInvokeRequest,
  CompletionInvokeResponse,
  type CompletionInvokeStreamRequest,
  CompletionInvokeStreamResponse,
} from "../generated/dify/app/v1/completion.js";
import { APP_KEY } from "./app.js";
import { serveCompletion } from "./serve.js";

const difyBaseUrl = process.argv[2];
const unaryMode = process.argv[3] ?? "blocking";
if (!difyBaseUrl || (unaryMode !== "blocking" && unaryMode !== "streaming"))
  throw new Error("usage: floor.js DIFY_BASE_URL [blocking|streaming]");

function post(body: object) {
  return request(`${difyBaseUrl}/completion-messages`, {
    method: "POST",
    headers: { authorization: `Bearer ${APP_KEY}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

async function invoke(
  call: ServerUnaryCall<CompletionInvokeRequest, CompletionInvokeResponse>,
  done: sendUnaryData<CompletionInvokeResponse>,
) {
  try {
    const res = await post({ inputs: call.request.inputs ?? {}, response_mode: "blocking", user: call.request.user });
    const d = (await res.body.json()) as Record<string, string & number>;
    done(
      null,
      CompletionInvokeResponse.fromPartial({
        answer: d.answer,
        messageId: d.message_id,
        taskId: d.task_id,
        mode: d.mode,
        createdAt: d.created_at,
      }),
    );
  } catch (err) {
    done(err as Error);
  }
}

/** Unary over Dify's streaming mode: the answer is the deltas joined; ids and times from the events. */
async function invokeStreaming(
  call: ServerUnaryCall<CompletionInvokeRequest, CompletionInvokeResponse>,
  done: sendUnaryData<CompletionInvokeResponse>,
) {
  try {
    const res = await post({ inputs: call.request.inputs ?? {}, response_mode: "streaming", user: call.request.user });
    let answer = "";
    let last: Record<string, string & number> | undefined;
    const parser = createParser({
      onEvent: (e) => {
        if (e.data === "") return;
        last = JSON.parse(e.data) as Record<string, string & number>;
        if (last.event === "message") answer += last.answer;
      },
    });
    const decoder = new TextDecoder();
    for await (const chunk of res.body) parser.feed(decoder.decode(chunk as Buffer, { stream: true }));
    const d = last ?? ({} as Record<string, string & number>);
    done(null, CompletionInvokeResponse.fromPartial({ answer, messageId: d.message_id, taskId: d.task_id, createdAt: d.created_at }));
  } catch (err) {
    done(err as Error);
  }
}

function message(sse: EventSourceMessage): CompletionInvokeStreamResponse | undefined {
  if (sse.data === "") return undefined; // keep-alive ping
  const d = JSON.parse(sse.data) as Record<string, string & number>;
  if (d.event !== "message") return CompletionInvokeStreamResponse.fromPartial({ event: d.event });
  const value = { taskId: d.task_id, messageId: d.message_id, conversationId: "", answer: d.answer, createdAt: d.created_at };
  return CompletionInvokeStreamResponse.fromPartial({ event: d.event, payload: { $case: "message", value } });
}

async function invokeStream(call: ServerWritableStream<CompletionInvokeStreamRequest, CompletionInvokeStreamResponse>) {
  const abort = new AbortController();
  call.once("cancelled", () => abort.abort());
  try {
    const res = await request(`${difyBaseUrl}/completion-messages`, {
      method: "POST",
      headers: { authorization: `Bearer ${APP_KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ inputs: call.request.inputs ?? {}, response_mode: "streaming", user: call.request.user }),
      signal: abort.signal,
    });
    const ready: CompletionInvokeStreamResponse[] = [];
    const parser = createParser({ onEvent: (e) => void ((m) => m && ready.push(m))(message(e)) });
    const decoder = new TextDecoder();
    for await (const chunk of res.body) {
      parser.feed(decoder.decode(chunk as Buffer, { stream: true }));
      let flowing = true;
      for (const m of ready) flowing = call.write(m) && flowing;
      ready.length = 0;
      if (!flowing) await once(call, "drain", { signal: abort.signal });
    }
    call.end();
  } catch (err) {
    if (!abort.signal.aborted) call.destroy(err as Error);
  }
}

serveCompletion({ completionInvoke: unaryMode === "streaming" ? invokeStreaming : invoke, completionInvokeStream: invokeStream });
