// Preloaded into the gateway by slow-readers.mjs (node --require): appends process.memoryUsage() to a file every second.
const fs = require("node:fs");
const out = process.env.MEM_PROBE_FILE;
if (out) {
  const t = setInterval(() => {
    const m = process.memoryUsage();
    fs.appendFileSync(
      out,
      `${JSON.stringify({ t: Date.now(), rss: m.rss, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers })}\n`,
    );
  }, 1000);
  t.unref();
}
