import { createRequire } from "node:module";
import { type DestinationStream, type Logger, pino } from "pino";
import { stdoutLog } from "./stdout.js";

/**
 * Keys that could carry a credential. Secrets are also wrapped in `Secret`, which serializes as "[redacted]";
 * this is the second line of defence. pino's `redact` takes them at the top level; `censorNested` one level
 * below, in any key, including keys a later log line adds.
 */
const SECRET_KEYS = ["authorization", "key", "apiKey", "token"] as const;
const HEADER_KEYS = ["authorization"] as const;
const REDACT = [...SECRET_KEYS, "headers.authorization", "metadata.authorization"];
const CENSOR = "[redacted]";

/*
 * Hand-written instead of pino's wildcard paths (`*.token`, ...): a wildcard makes pino hand every top-level value of
 * every line, strings and numbers included, to its wildcard redactor, which clones and stringifies each. Under the
 * bench's unary load that redactor made 19.5 % of all the bytes the gateway allocated; with this, one call's logging
 * takes 3.8 µs instead of 13.3 on Node 22 (docs/PERFORMANCE.md, "Unary CPU, ninth pass"). This checks only objects,
 * only their own keys, and copies nothing unless a key is there; a property test holds it to the wildcards' output.
 */
function censorNested<T extends Record<string, unknown>>(obj: T): T {
  let out: Record<string, unknown> | undefined;
  for (const key in obj) {
    const value = obj[key];
    if (typeof value !== "object" || value === null) continue;
    const censored = censorOne(value);
    if (censored !== value) (out ??= { ...obj })[key] = censored;
  }
  return (out ?? obj) as T;
}

function censorOne(value: object): object {
  const headers = (value as { headers?: unknown }).headers;
  const inHeaders = typeof headers === "object" && headers !== null && holdsSecret(headers, HEADER_KEYS);
  if (!inHeaders && !holdsSecret(value, SECRET_KEYS)) return value;
  // A copy with the same prototype and every own property, enumerable or not: an Error stays an Error to pino's
  // serializer (message and stack are not enumerable), and a frozen object can still be copied. Accessors are read
  // into values: Node 22's `stack` is an own accessor that answers "" on any object but the error it belongs to.
  const props = Object.getOwnPropertyDescriptors(value) as Record<string, PropertyDescriptor>;
  const censored = (v: unknown, enumerable = true): PropertyDescriptor => ({ value: v, enumerable, writable: true, configurable: true });
  for (const [key, prop] of Object.entries(props)) if (prop.get) props[key] = censored(Reflect.get(value, key), prop.enumerable);
  for (const key of SECRET_KEYS) if (props[key] && (value as Record<string, unknown>)[key] !== undefined) props[key] = censored(CENSOR);
  if (inHeaders) props.headers = censored({ ...(headers as object), authorization: CENSOR });
  return Object.create(Object.getPrototypeOf(value), props) as object;
}

function holdsSecret(value: object, keys: readonly string[]): boolean {
  for (const key of keys) if (Object.hasOwn(value, key) && (value as Record<string, unknown>)[key] !== undefined) return true;
  return false;
}

export type LogFormat = "auto" | "json" | "pretty";

/** `auto` is pretty for a person at a terminal, JSON lines for anything that collects logs. */
export function prettyLogs(format: LogFormat, isTTY = process.stdout.isTTY === true): boolean {
  return format === "pretty" || (format === "auto" && isTTY);
}

export function createLogger(level: string, destination?: DestinationStream, format: LogFormat = "json"): Logger {
  const options = {
    level,
    base: { service: "dify-grpc-gateway" },
    redact: { paths: REDACT, censor: CENSOR },
    formatters: { log: censorNested },
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
    return censoringChildren(pino(options, pretty));
  }
  return censoringChildren(pino(options, destination));
}

/**
 * pino applies `formatters.bindings` to the root's bindings only, so a child's are censored here; children are
 * made with `Object.create(parent)`, so every descendant inherits this `child`.
 */
function censoringChildren(root: Logger): Logger {
  const child = root.child;
  root.child = function (this: Logger, bindings, options) {
    return child.call(this, censorNested(bindings), options);
  } as Logger["child"];
  return root;
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
