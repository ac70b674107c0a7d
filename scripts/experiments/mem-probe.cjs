// Preloaded into the gateway by slow-readers.mjs and keep-probe.mjs (node --require): appends process.memoryUsage()
// to a file every second, with the garbage collector's work so far (pause time and count, scavenges and full GCs).
const fs = require("node:fs");
const { PerformanceObserver, constants } = require("node:perf_hooks");
const v8 = require("node:v8");
const out = process.env.MEM_PROBE_FILE;
if (out) {
  const gc = { ms: 0, scavenges: 0, majors: 0 };
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gc.ms += e.duration;
      if (e.detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR) gc.scavenges++;
      else if (e.detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) gc.majors++;
    }
  }).observe({ entryTypes: ["gc"] });
  const t = setInterval(() => {
    const m = process.memoryUsage();
    // Where the heap's memory is: the young generation's physical size, and the old generation's used and physical.
    const spaces = Object.fromEntries(v8.getHeapSpaceStatistics().map((s) => [s.space_name, s]));
    const space = {
      newPhys: spaces.new_space?.physical_space_size ?? 0,
      oldUsed: spaces.old_space?.space_used_size ?? 0,
      oldPhys: spaces.old_space?.physical_space_size ?? 0,
    };
    const hs = v8.getHeapStatistics();
    const malloced = hs.malloced_memory;
    const heapPhys = hs.total_physical_size;
    fs.appendFileSync(
      out,
      `${JSON.stringify({ t: Date.now(), rss: m.rss, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers, gcMs: gc.ms, scavenges: gc.scavenges, majors: gc.majors, ...space, malloced, heapPhys })}\n`,
    );
  }, 1000);
  t.unref();
}
