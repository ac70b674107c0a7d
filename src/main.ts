#!/usr/bin/env node
// The executable (package.json "bin"): the gateway's command line lives in src/cli.ts, which runs on import.
// First: the young generation's start-up size, before anything allocates (src/young-generation.ts), and no
// pretenuring of short-lived objects (src/pretenuring.ts).
import "./young-generation.js";
import "./pretenuring.js";
import "./cli.js";
