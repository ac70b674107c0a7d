import { setFlagsFromString } from "node:v8";

/*
 * V8 pretenures an allocation site (allocates its objects straight into the old generation) once a scavenge finds
 * most of that site's recent objects alive. A relay's parsed Dify events are short-lived, but when many streams
 * start at once, one scavenge can see a burst of them alive: the site is then pretenured for the life of the
 * process, and every later event is old-generation garbage until the next major collection. Measured with 1,000
 * streams x 10 events/s (keep-probe.mjs, fresh gateway per run): with pretenuring, 18 of 30 gateways fell into that
 * regime (old generation +4-6 MiB/s, 121-184 KiB per stream against 75-86 KiB); with the flag off (a CLI flag, a
 * preload or this module), 0 of 9 (docs/PERFORMANCE.md, "Pretenuring"). The flag is read at each scavenge's
 * pretenuring decision, so setting it here, before the gateway serves, is enough. Imported by main.ts, right after
 * young-generation.ts.
 */
setFlagsFromString("--no-allocation-site-pretenuring");
