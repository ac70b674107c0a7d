import { createRequire } from "node:module";
import { type DestinationStream, type Logger, pino } from "pino";

/**
 * Paths that could carry a credential. Secrets are also wrapped in `Secret`,
 * which serializes as "[redacted]"; this is the second line of defence.
 */
const REDACT = [
  "authorization",
  "*.authorization",
  "headers.authorization",
  "*.headers.authorization",
  "metadata.authorization",
  "key",
  "*.key",
  "apiKey",
  "*.apiKey",
  "token",
  "*.token",
];

export type LogFormat = "auto" | "json" | "pretty";

/**
 * JSON lines go to stdout in batches: a write once this many bytes are waiting (pino's SonicBoom `minLength`), not
 * one asynchronous write (a libuv threadpool job) per line; ~10 µs of CPU per line less under load
 * (docs/PERFORMANCE.md, "Unary CPU, eighth pass"). What SIGKILL or an OOM kill can take: the lines waiting, fewer
 * than this many bytes (and, as without batching, lines queued behind a write in progress).
 */
export const LOG_BATCH_BYTES = 4096;
/**
 * ...and at least this often (sonic-boom's `periodicFlush`), so a quiet gateway's lines appear within this time.
 * Exit (normal, `process.exit` after a drain or a fatal error, an uncaught exception) writes what waits
 * synchronously: pino registers its destinations for that.
 */
export const LOG_FLUSH_MS = 250;

/** stdout for JSON lines: batched, flushed every LOG_FLUSH_MS and on exit. */
export function stdoutLines(fd = 1): DestinationStream {
  return pino.destination({ dest: fd, minLength: LOG_BATCH_BYTES, sync: false, periodicFlush: LOG_FLUSH_MS });
}

/** `auto` is pretty for a person at a terminal, JSON lines for anything that collects logs. */
export function prettyLogs(format: LogFormat, isTTY = process.stdout.isTTY === true): boolean {
  return format === "pretty" || (format === "auto" && isTTY);
}

export function createLogger(level: string, destination?: DestinationStream, format: LogFormat = "json"): Logger {
  const options = {
    level,
    base: { service: "dify-grpc-gateway" },
    redact: { paths: REDACT, censor: "[redacted]" },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (prettyLogs(format)) {
    // In-process and synchronous (no transport worker thread): a terminal is read by a person, and
    // lines must not be lost when the process exits. Redaction happens before the prettifier.
    // Required here, from node_modules, as `yaml` is (src/config/load.ts): a gateway logging JSON lines, as in
    // production, never evaluates pino-pretty (~0.9 MiB of idle heap; docs/PERFORMANCE.md, "Idle RSS, fourth pass").
    const { PinoPretty } = createRequire(import.meta.url)("pino-pretty") as typeof import("pino-pretty");
    const pretty = PinoPretty({
      destination: destination ?? 1,
      colorize: destination === undefined && process.stdout.isTTY === true,
      sync: true,
      ignore: "pid,hostname,service",
      translateTime: "SYS:HH:MM:ss.l",
    });
    return pino(options, pretty);
  }
  return pino(options, destination ?? stdoutLines());
}
