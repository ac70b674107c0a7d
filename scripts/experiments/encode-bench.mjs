// Issue 18, third pass: one stream message's encoding, generated encoder against src/translate/stream-encoding.ts,
// in process, interleaved rounds. Run against dist/ (`npm run build`): node --expose-gc --min-semi-space-size=64 --max-semi-space-size=64 scripts/experiments/encode-bench.mjs
import { ChatInvokeStreamResponse } from "../../dist/generated/dify/app/v1/chat.js";
import { CHAT } from "../../dist/src/invoke/interfaces.js";
import { toStreamMessage } from "../../dist/src/translate/events.js";
import { streamResponseSerializer } from "../../dist/src/translate/stream-encoding.js";

const N = Number(process.env.N ?? 200_000);
const ALLOC_N = 2_000;
const EVENTS = {
  // A chat token as Dify streams it (the bulk of every stream).
  message: {
    event: "message",
    conversation_id: "45701982-8118-4bc5-8e9b-64562b4555f2",
    message_id: "9da23599-e713-473b-982c-4328d4f5c78a",
    created_at: 1705398420,
    task_id: "5ad4cb98-f0c7-4085-b384-88c403be6290",
    id: "9da23599-e713-473b-982c-4328d4f5c78a",
    answer: " the",
    from_variable_selector: null,
  },
  // A workflow node's end, with nested outputs and metadata.
  node_finished: {
    event: "node_finished",
    task_id: "5ad4cb98-f0c7-4085-b384-88c403be6290",
    workflow_run_id: "b0e0b2d6-3f7b-4f1d-9a0b-6e3f1c2d4e5f",
    data: {
      id: "f1",
      node_id: "llm",
      node_type: "llm",
      title: "LLM",
      index: 2,
      predecessor_node_id: "start",
      inputs: { query: "What is the weather like?", sys: { files: [], user_id: "u-1" } },
      outputs: { text: "It is sunny and 21 °C.", usage: { prompt_tokens: 120, completion_tokens: 12, total_price: "0.0001" } },
      status: "succeeded",
      error: null,
      elapsed_time: 1.234,
      execution_metadata: { total_tokens: 132, currency: "USD" },
      created_at: 1705398420,
      finished_at: 1705398421,
    },
  },
};
const variants = {
  generated: (m) => Buffer.from(ChatInvokeStreamResponse.encode(m).finish()),
  direct: streamResponseSerializer(CHAT.streamResponseEncode),
};

function round(name, encode, message) {
  // Bytes allocated per message: a short loop that fits in the (enlarged) young generation, so nothing is collected.
  globalThis.gc();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < ALLOC_N; i++) encode(message);
  const allocated = Math.round((process.memoryUsage().heapUsed - before) / ALLOC_N);
  const t0 = process.hrtime.bigint();
  let bytes = 0;
  for (let i = 0; i < N; i++) bytes += encode(message).length;
  const ns = Number(process.hrtime.bigint() - t0) / N;
  return { name, ns: Math.round(ns), bytes: bytes / N, allocatedBytes: allocated };
}

for (const [event, ev] of Object.entries(EVENTS)) {
  const message = toStreamMessage(ev, CHAT.typedEvents);
  for (let r = 0; r < 6; r++) {
    for (const [name, encode] of Object.entries(variants)) {
      const row = round(name, encode, message);
      if (r > 0) console.log(JSON.stringify({ event, round: r, ...row }));
    }
  }
}
