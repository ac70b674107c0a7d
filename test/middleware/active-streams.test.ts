import { describe, expect, it } from "vitest";
import { GatewayMetrics } from "../../src/metrics/metrics.js";
import { activeStreams } from "../../src/middleware/active-streams.js";
import { fakeContext, workspace } from "../core/fakes.js";
import { fakeNext, run, STREAM, UNARY } from "./fake-next.js";

async function gauge(metrics: GatewayMetrics, method: string): Promise<number | undefined> {
  return (await metrics.activeStreams.get()).values.find((v) => v.labels.grpc_method === method)?.value;
}

describe("active streams middleware", () => {
  it("counts a stream while its handler runs, under its method, and not after (also when it fails)", async () => {
    const metrics = new GatewayMetrics();
    const seen: (number | undefined)[] = [];
    const during = () => void gauge(metrics, STREAM.path.slice(1)).then((v) => seen.push(v));
    await run(activeStreams(metrics), STREAM, fakeNext({ messages: [1], during }).next, fakeContext(workspace([])).context);
    await run(activeStreams(metrics), STREAM, fakeNext({ error: new Error("x"), during }).next, fakeContext(workspace([])).context);
    expect(seen).toEqual([1, 1]);
    expect(await gauge(metrics, STREAM.path.slice(1))).toBe(0);
  });

  it("leaves unary calls out", async () => {
    const metrics = new GatewayMetrics();
    const out = await run(activeStreams(metrics), UNARY, fakeNext({ result: "r" }).next, fakeContext(workspace([])).context);
    expect(out.result).toBe("r");
    expect(await gauge(metrics, UNARY.path.slice(1))).toBeUndefined();
  });
});
