import { Writable } from "node:stream";
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
