/**
 * CLI: `node dist/simulator/main.js [--host H] [--port P] [--token-delay-ms N] [--ping-interval-ms N] [--connection-close]`.
 * Prints one JSON line `{"url":…,"port":…}` on stdout once listening, and its apps with their keys on
 * stderr (for a person running it alone); exits on SIGTERM/SIGINT.
 */
import { parseArgs } from "node:util";
import { DEMO_APPS } from "./apps.js";
import { startSimulator } from "./server.js";

function nonNegativeInteger(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!Number.isInteger(number) || number < 0) {
    process.stderr.write(`dify simulator: --${name} must be a non-negative integer, got "${value}"\n`);
    process.exit(2);
  }
  return number;
}

const { values } = parseArgs({
  options: {
    host: { type: "string" },
    port: { type: "string" },
    "token-delay-ms": { type: "string" },
    "ping-interval-ms": { type: "string" },
    "connection-close": { type: "boolean" },
  },
  strict: true,
});

const simulator = await startSimulator({
  host: values.host,
  port: nonNegativeInteger("port", values.port),
  tokenDelayMs: nonNegativeInteger("token-delay-ms", values["token-delay-ms"]),
  pingIntervalMs: nonNegativeInteger("ping-interval-ms", values["ping-interval-ms"]),
  connectionClose: values["connection-close"] ?? false,
});
process.stdout.write(`${JSON.stringify({ url: simulator.url, port: simulator.port })}\n`);
// stderr, so that stdout stays the one JSON line that scripts parse.
process.stderr.write(
  [
    `Dify simulator at ${simulator.url} (difyBaseUrl), apps:`,
    ...DEMO_APPS.map((a) => `  ${a.mode.padEnd(14)} ${a.appId}  key ${a.key}  ${a.name}`),
    "",
  ].join("\n"),
);

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.once(signal, () => {
    void simulator.close().then(() => process.exit(0));
  });
}
