#!/usr/bin/env node
// The executable (package.json "bin"): the gateway's command line lives in src/cli.ts, which runs on import.
import "./cli.js";
