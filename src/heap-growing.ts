import { setFlagsFromString } from "node:v8";

/*
 * After each major collection V8 lets the old generation grow by a factor it picks from how fast it collects
 * (up to 4x); with 10,000 open streams it picked about 3x, judging by the rate of major collections. A stream's
 * events die young, but the objects that wait for its next event (pending promises, iterator results, the chunk)
 * are promoted when that wait outlives two scavenges, as it does at 1 event/s, so the old generation is mostly
 * such garbage awaiting the next major collection: at 10,000 streams, 565-613 MiB used of which ~330 MiB live.
 * With the factor fixed at 1.5x: 52-53 KiB per stream against 73-77 (keep-probe.mjs, interleaved), major
 * collections 0.08 -> 0.23-0.31/s, CPU per event within the noise (docs/PERFORMANCE.md, "Heap growing factor").
 * 1.2x cut it to 48 KiB but cost +35-46 % CPU per event. V8 reads the flag whenever it sets the next limit, so
 * setting it here, before the gateway serves, is enough. Imported by main.ts, after pretenuring.ts.
 */
setFlagsFromString("--heap-growing-percent=50");
