import { DiagLogLevel, diag } from "@opentelemetry/api";
import { loggingErrorHandler } from "@opentelemetry/core";
import { OTLPExporterError } from "@opentelemetry/otlp-exporter-base";
import { afterEach, describe, expect, it } from "vitest";
import { diagnosticLine } from "../../src/telemetry/otel.js";

/*
 * The SDK reports a failed export as the exporter's error serialised whole, collector answer included: a collector
 * that echoes the request's Authorization header would put the collector's credentials into the gateway's log.
 */

const SECRET = "OTLPSECRET-abcdef123456";

/** What the SDK hands its diagnostic logger for an export error, through its own global error handler. */
function sdkMessage(err: unknown): string {
  let seen = "";
  diag.setLogger({ error: (m) => (seen = m), warn: () => {}, info: () => {}, debug: () => {}, verbose: () => {} }, DiagLogLevel.ERROR);
  loggingErrorHandler()(err as Error);
  return seen;
}
afterEach(() => diag.disable());

describe("OpenTelemetry diagnostics in the gateway's log", () => {
  it("keep an export error's name, message and code, never the collector's answer or the stack", () => {
    const raw = sdkMessage(new OTLPExporterError("Unauthorized", 401, `unauthorized: you sent Bearer ${SECRET}\n${"x".repeat(10_000)}`));
    expect(raw).toContain(SECRET);
    const line = diagnosticLine(raw);
    expect(line).toBe("OTLPExporterError (code 401)");
  });

  it("leave out the reason phrase of an HTTP failure: the collector chooses it, and may echo its credentials in it", () => {
    expect(diagnosticLine(sdkMessage(new OTLPExporterError(`Bad request auth=Bearer ${SECRET}`, 400)))).toBe(
      "OTLPExporterError (code 400)",
    );
  });

  it("show one bounded line of anything else, and nothing of what braces hold", () => {
    expect(diagnosticLine(`export failed (error {"data":"Bearer ${SECRET}"})`)).toBe("export failed (error (details not shown)");
    expect(diagnosticLine(`first line\nBearer ${SECRET}`)).toBe("first line");
    expect(diagnosticLine("y".repeat(1_000))).toHaveLength(301);
  });
});
