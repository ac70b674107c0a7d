#!/usr/bin/env node
// The executable (package.json "bin"). It catches SIGHUP first (src/sighup.ts), then loads the gateway
// (src/gateway.ts, bundled as dist/src/gateway.js). A static import would leave the signal's default, which ends the
// process, in force until the bundle and its dependencies had loaded: ~0.4 s in which a config reload loop over
// pods killed any that was starting.
import "./sighup.js";

await import("./gateway.js");
