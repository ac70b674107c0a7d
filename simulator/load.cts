/**
 * `require()`-able entry to the simulator for the gateway's demo (src/demo/demo.ts). The gateway's bundle runs
 * as a vm.Script with a V8 code cache, where `import()` has no module loader (ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING);
 * a CommonJS file loaded by Node's own loader has one. Compiled to dist/simulator/load.cjs.
 */
import type * as Simulator from "./index.js";

module.exports = { load: (): Promise<typeof Simulator> => import("./index.js") };
