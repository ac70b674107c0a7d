import { setFlagsFromString } from "node:v8";

/*
 * Start-up allocates tens of MiB that all survive (modules, protobuf descriptors, zod schemas), and V8 answers a
 * high survival rate by doubling the young generation, up to 2 x 16 MiB semi-spaces, which then stay committed:
 * an idle gateway held 15.5 MiB of physical new space with 0.3 MiB in use (v8.getHeapSpaceStatistics()).
 * So the young generation may not grow while the gateway starts, and may again once it serves: under load V8
 * sizes it as it always does, and only the idle footprint changes (idle RSS ~97 -> ~81 MiB, measured
 * interleaved; docs/PERFORMANCE.md, "Issue 18, second pass"). The flag is read each time V8 considers growing
 * the space, so setting it at run time takes effect at once. Imported first by main.ts (see scripts/bundle.mjs).
 */

/** V8's default growth factor of the young generation (`node --v8-options`: --semi-space-growth-factor). */
const V8_DEFAULT_GROWTH_FACTOR = 2;

setFlagsFromString("--semi-space-growth-factor=1");

/** The gateway serves: from now on the young generation grows with the load, as V8 decides. */
export function startupDone(): void {
  setFlagsFromString(`--semi-space-growth-factor=${V8_DEFAULT_GROWTH_FACTOR}`);
}
