/**
 * Calls Dify's blocking endpoint directly with undici, as a plugin would without the gateway: the latency
 * baseline. `undici-load.js URL CONCURRENCY CALLS`: 100 warm-up calls, then CALLS calls, CONCURRENCY at a time;
 * every call must answer 200 with the answer. Prints {calls, p50Us, p99Us, rps}.
 */
import { Agent, request } from "undici";
import { APP_KEY, inputs, USER } from "./app.js";
import { percentile } from "./stats.js";

const [base, concurrencyArg, callsArg] = process.argv.slice(2);
const concurrency = Number(concurrencyArg);
const calls = Number(callsArg);
const dispatcher = new Agent({ keepAliveTimeout: 30_000 });
const body = JSON.stringify({ inputs: inputs(), response_mode: "blocking", user: USER });

async function call(): Promise<void> {
  const res = await request(`${base}/completion-messages`, {
    method: "POST",
    dispatcher,
    headers: { authorization: `Bearer ${APP_KEY}`, "content-type": "application/json" },
    body,
  });
  const d = (await res.body.json()) as { answer?: string };
  if (res.statusCode !== 200 || !d.answer) throw new Error(`direct call: HTTP ${res.statusCode}`);
}

async function load(total: number, latencies?: number[]): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next++ < total) {
      const start = performance.now();
      await call();
      latencies?.push((performance.now() - start) * 1000);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

await load(100);
const latencies: number[] = [];
const start = performance.now();
await load(calls, latencies);
const seconds = (performance.now() - start) / 1000;
process.stdout.write(
  `${JSON.stringify({ calls: latencies.length, p50Us: percentile(latencies, 50), p99Us: percentile(latencies, 99), rps: latencies.length / seconds })}\n`,
);
await dispatcher.close();
