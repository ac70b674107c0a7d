/**
 * Checks of what callers pass, made before any call starts: plugin code is often plain JavaScript, and a wrong
 * argument must be a TypeError naming it, never a call sent with `"undefined"` in it, nor a throw inside grpc-js's
 * callbacks (which no try/catch of the caller's can catch: it ends the process).
 */

/** `params` of a call: an object. */
export function paramsObject(params: unknown, what: string): void {
  if (typeof params !== "object" || params === null) throw new TypeError(`${what} takes a params object, not ${describe(params)}`);
}

/** A required string parameter: a non-empty string. */
export function requiredString(value: unknown, name: string): string {
  if (typeof value !== "string" || value === "") throw new TypeError(`${name} must be a non-empty string, not ${describe(value)}`);
  return value;
}

/** An optional string parameter: a string when given (undefined and null mean not given). */
export function optionalString(value: unknown, name: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw new TypeError(`${name} must be a string, not ${describe(value)}`);
  return value;
}

/** `signal`: an AbortSignal (or one from another realm, with its methods) when given. */
export function optionalSignal(value: unknown): AbortSignal | undefined {
  if (value === undefined || value === null) return undefined;
  const s = value as Partial<AbortSignal>;
  if (typeof s.aborted !== "boolean" || typeof s.addEventListener !== "function" || typeof s.removeEventListener !== "function") {
    throw new TypeError(`signal must be an AbortSignal (e.g. controller.signal), not ${describe(value)}`);
  }
  return value as AbortSignal;
}

/** A time limit in ms: a finite number, 0 or more, when given. */
export function optionalTimeoutMs(value: unknown, name: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw new TypeError(`${name} must be a finite number of milliseconds, 0 or more, not ${describe(value)}`);
  }
  return value;
}

/** An absolute deadline: a valid Date when given. */
export function optionalDeadline(value: unknown): Date | undefined {
  if (value === undefined || value === null) return undefined;
  if (!(value instanceof Date) || !Number.isFinite(value.getTime()))
    throw new TypeError(`deadline must be a valid Date, not ${describe(value)}`);
  return value;
}

export function describe(value: unknown): string {
  if (value === undefined) return "undefined";
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint" || value === null) return String(value);
  if (typeof value === "function") return "a function";
  if (Array.isArray(value)) return "an array";
  if (value instanceof Date) return "an invalid Date";
  const name = (value as object).constructor?.name;
  return name && name !== "Object" ? `a ${name}` : typeof value === "symbol" ? "a symbol" : "an object";
}
