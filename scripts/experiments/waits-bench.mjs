// AbortableWaits against untilAborted per wait (issue 18): time per wait and GC events, interleaved; needs dist/ (npm run build).
import { AbortableWaits, untilAborted } from "../../dist/src/util/until-aborted.js";

const N = 300_000;
const signal = new AbortController().signal;
async function a() {
  for (let i = 0; i < N; i++) await untilAborted(Promise.resolve(i), signal);
}
async function b() {
  const w = new AbortableWaits(signal);
  for (let i = 0; i < N; i++) await w.wait(Promise.resolve(i));
  w.dispose();
}
const { PerformanceObserver } = await import("node:perf_hooks");
let scav = 0;
new PerformanceObserver((l) => (scav += l.getEntries().length)).observe({ entryTypes: ["gc"] });
const res = { a: [], b: [] };
for (let r = 0; r < 6; r++)
  for (const [k, f] of [
    ["a", a],
    ["b", b],
  ]) {
    const s0 = scav;
    const t = performance.now();
    await f();
    await new Promise((r) => setTimeout(r, 20));
    res[k].push([(((performance.now() - t - 20) * 1000) / N).toFixed(3), scav - s0]);
  }
console.log(JSON.stringify(res));
