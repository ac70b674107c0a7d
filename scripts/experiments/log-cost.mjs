// Issue 18, unary CPU (ninth pass): CPU per call of one call's logging (a child with the adapter's six bindings, then
// the call log's line, to a sink that drops it), pino with the wildcard redact paths the gateway had until then against
// the gateway's createLogger. Interleaved, 9 rounds of 50,000 after 2 discarded; prints the medians.
// Usage: npm run build && node scripts/experiments/log-cost.mjs
import { pino } from "pino";
import { createLogger } from "/work/main/dist/src/log/logger.js";

const sink = { write() {} };
const OLD = [
  "authorization",
  "*.authorization",
  "headers.authorization",
  "*.headers.authorization",
  "metadata.authorization",
  "key",
  "*.key",
  "apiKey",
  "*.apiKey",
  "token",
  "*.token",
];
const variants = {
  old: pino(
    {
      level: "info",
      base: { service: "dify-grpc-gateway" },
      redact: { paths: OLD, censor: "[redacted]" },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    sink,
  ),
  new: createLogger("info", sink, "json"),
};
function one(log, i) {
  const c = log.child({
    traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
    spanId: "00f067aa0ba902b7",
    method: "/dify.app.v1.CompletionService/CompletionInvoke",
    workspace: "ws",
    tokenName: "bench",
    appId: "a1c00000-0000-4000-8000-000000000001",
  });
  c.info(
    {
      grpcCode: "OK",
      durationMs: 1.2 + i,
      ttfeMs: 0.4,
      taskId: "d8a5c3e2-1111-4222-8333-944445555666",
      stopCalled: undefined,
      handedOff: undefined,
      workflowRunId: undefined,
      attempts: 1,
      reason: undefined,
      upstreamStatus: undefined,
      upstreamCode: undefined,
    },
    "call finished",
  );
}
const N = 50000,
  res = { old: [], new: [] };
for (let r = 0; r < 11; r++)
  for (const name of r % 2 ? ["old", "new"] : ["new", "old"]) {
    const log = variants[name];
    const c0 = process.cpuUsage();
    for (let i = 0; i < N; i++) one(log, i);
    const c = process.cpuUsage(c0);
    if (r >= 2) res[name].push((c.user + c.system) / N);
  }
const med = (xs) => xs.sort((a, b) => a - b)[xs.length >> 1];
console.log("µs per call: old", med(res.old).toFixed(2), "new", med(res.new).toFixed(2));
