import { createRequire } from "node:module";
import { type DestinationStream, type Logger, pino } from "pino";
import { stdoutLog } from "./stdout.js";

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
  return pino(options, destination);
}

/** The process's logger on stdout, and how the process exits once its lines are out (`StdoutLog.exit`). */
export interface ProcessLog {
  readonly log: Logger;
  exit(code: number): void;
  /** Called for each line dropped while stdout's reader lagged (JSON lines only). */
  onDrop(listener: () => void): void;
}

export function processLog(level: string, format: LogFormat): ProcessLog {
  // Pretty lines are written synchronously, for a person at a terminal: nothing waits to be written at exit.
  if (prettyLogs(format)) return { log: createLogger(level, undefined, format), exit: (code) => process.exit(code), onDrop() {} };
  const out = stdoutLog();
  return { log: createLogger(level, out.stream, "json"), exit: out.exit, onDrop: out.onDrop };
}
