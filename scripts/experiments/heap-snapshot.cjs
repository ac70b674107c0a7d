// Preloaded into the gateway by keep-probe.mjs (node --require): on SIGUSR2 writes a heap snapshot into
// $SNAP_DIR and an empty `<file>.done` next to it once complete. (Node's --heapsnapshot-signal left 0-byte files
// here: the gateway was stopped before the write ended, and a reader cannot tell when it has.)
process.on("SIGUSR2", () => {
  const file = require("node:v8").writeHeapSnapshot(
    require("node:path").join(process.env.SNAP_DIR ?? ".", `gateway-${Date.now()}.heapsnapshot`),
  );
  require("node:fs").writeFileSync(`${file}.done`, "");
});
