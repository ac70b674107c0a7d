import { Writable } from "node:stream";
import fc from "fast-check";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { createLogger, prettyLogs } from "../../src/log/logger.js";

function sink(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return { stream, text: () => chunks.join("") };
}

describe("log format", () => {
  it("auto is pretty on a terminal and JSON otherwise; json and pretty are what they say", () => {
    expect(prettyLogs("auto", true)).toBe(true);
    expect(prettyLogs("auto", false)).toBe(false);
    expect(prettyLogs("json", true)).toBe(false);
    expect(prettyLogs("pretty", false)).toBe(true);
  });

  it("pretty lines name the level in words, and still redact credentials", () => {
    const out = sink();
    const log = createLogger("info", out.stream, "pretty");
    log.warn({ authorization: "Bearer s3cret-token-value", workspace: "acme" }, "key rejected by Dify");
    const text = out.text();
    expect(text).toMatch(/WARN.*key rejected by Dify/);
    expect(text).toContain("acme");
    expect(text).not.toContain("s3cret-token-value");
    expect(() => JSON.parse(text)).toThrow();
  });

  it("json lines stay JSON, with numeric levels for collectors", () => {
    const out = sink();
    createLogger("info", out.stream, "json").info({ token: "tok-should-not-appear" }, "hello");
    const line = JSON.parse(out.text()) as Record<string, unknown>;
    expect(line).toMatchObject({ level: 30, msg: "hello", token: "[redacted]" });
  });
});

describe("redaction one level below the top", () => {
  const SECRET = "s3cret-Value-9f8e";
  const lineOf = (log: (l: ReturnType<typeof createLogger>) => void) => {
    const out = sink();
    log(createLogger("info", out.stream, "json"));
    return out.text();
  };

  it("censors credential keys inside any logged object, and in a child's bindings, leaving the rest", () => {
    const text = lineOf((l) =>
      l
        .child({ upstream: { key: SECRET, base: "http://dify" } })
        .warn(
          { request: { token: SECRET, apiKey: SECRET, authorization: SECRET, headers: { authorization: SECRET, accept: "json" }, n: 1 } },
          "upstream refused",
        ),
    );
    expect(text).not.toContain(SECRET);
    const line = JSON.parse(text) as Record<string, Record<string, unknown>>;
    expect(line.upstream).toEqual({ key: "[redacted]", base: "http://dify" });
    expect(line.request).toEqual({
      token: "[redacted]",
      apiKey: "[redacted]",
      authorization: "[redacted]",
      headers: { authorization: "[redacted]", accept: "json" },
      n: 1,
    });
  });

  it("an Error carrying a credential keeps its type, message and stack; the caller's objects are not changed", () => {
    const err = Object.assign(new TypeError("boom"), { token: SECRET });
    const frozen = Object.freeze({ key: SECRET });
    const text = lineOf((l) => l.error({ err, frozen }, "failed"));
    expect(text).not.toContain(SECRET);
    const line = JSON.parse(text) as { err: Record<string, unknown>; frozen: unknown };
    expect(line.err).toMatchObject({ type: "TypeError", message: "boom", token: "[redacted]" });
    expect(line.err.stack).toContain("TypeError: boom");
    expect(line.frozen).toEqual({ key: "[redacted]" });
    expect(err.token).toBe(SECRET);
    expect(frozen.key).toBe(SECRET);
  });

  it("writes what pino's wildcard paths wrote, for any logged object (property)", () => {
    const WILDCARDS = ["*.authorization", "*.headers.authorization", "*.key", "*.apiKey", "*.token"];
    const TOP = ["authorization", "headers.authorization", "metadata.authorization", "key", "apiKey", "token"];
    const key = fc.oneof(fc.constantFrom("authorization", "key", "apiKey", "token", "headers", "metadata", "msgx"), fc.string());
    const leaf = fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.constant(null));
    const value = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: "small" },
        leaf,
        fc.dictionary(key, tie("node"), { maxKeys: 4, noNullPrototype: true }),
        fc.array(tie("node"), { maxLength: 3 }),
      ),
    })).node;
    fc.assert(
      fc.property(
        fc.dictionary(key, value, { maxKeys: 5, noNullPrototype: true }),
        fc.dictionary(key, value, { maxKeys: 3, noNullPrototype: true }),
        (obj, bindings) => {
          const now = () => lineOf((l) => l.child(bindings).info(obj, "m"));
          const before = () => {
            const out = sink();
            pino(
              {
                base: { service: "dify-grpc-gateway" },
                redact: { paths: [...TOP, ...WILDCARDS], censor: "[redacted]" },
                timestamp: pino.stdTimeFunctions.isoTime,
              },
              out.stream,
            )
              .child(bindings)
              .info(obj, "m");
            return out.text();
          };
          const strip = (t: string) => ({ ...(JSON.parse(t) as object), time: 0 });
          expect(strip(now())).toEqual(strip(before()));
        },
      ),
      { numRuns: 2000 },
    );
  });
});
