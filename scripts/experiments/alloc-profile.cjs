// Preloaded into the gateway (node --require) by hand: samples every allocation, including objects the collector
// has already freed, from ALLOC_START_MS after start for ALLOC_MS, and writes the profile (a .heapprofile, as
// Chrome DevTools reads it) to ALLOC_OUT. Garbage is what costs a stream memory and CPU here, so the freed
// objects are the point (V8's includeObjectsCollectedByMajorGC / MinorGC).
// ALLOC_SURVIVORS=1 leaves out what scavenges freed: what remains is what outlived the young generation (promoted,
// live or not) or is still in it, which shows what an old generation fills with between major collections.
const { Session } = require("node:inspector");
const { writeFileSync } = require("node:fs");
const start = Number(process.env.ALLOC_START_MS ?? 10_000);
const ms = Number(process.env.ALLOC_MS ?? 5_000);
const session = new Session();
session.connect();
setTimeout(() => {
  session.post(
    "HeapProfiler.startSampling",
    {
      samplingInterval: 4096,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: process.env.ALLOC_SURVIVORS !== "1",
    },
    (err) => {
      if (err) throw err;
      setTimeout(
        () =>
          session.post("HeapProfiler.stopSampling", (err2, res) => {
            if (err2) throw err2;
            writeFileSync(process.env.ALLOC_OUT ?? "gateway.heapprofile", JSON.stringify(res.profile));
          }),
        ms,
      ).unref();
    },
  );
}, start).unref();
