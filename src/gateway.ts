// The gateway, which src/main.ts loads (scripts/bundle.mjs bundles it): its command line lives in src/cli.ts,
// which runs on import. First: the young generation's start-up size, before anything allocates (src/young-generation.ts), no
// pretenuring of short-lived objects (src/pretenuring.ts), and the old generation's growth (src/heap-growing.ts).
import "./young-generation.js";
import "./pretenuring.js";
import "./heap-growing.js";
import "./cli.js";
