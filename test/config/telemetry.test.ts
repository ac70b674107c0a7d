import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../../src/config/load.js";
import { summarize } from "../../src/config/summary.js";

const doc = (telemetry?: Record<string, unknown>) => ({
  ...(telemetry ? { telemetry } : {}),
  workspaces: [
    {
      id: "acme",
      difyBaseUrl: "https://dify.example.com/v1",
      tokens: [{ sha256: "a".repeat(64) }],
      apps: [{ appId: "a", key: { env: "K" } }],
    },
  ],
});
const parse = (telemetry?: Record<string, unknown>, env: NodeJS.ProcessEnv = {}) =>
  parseConfig(doc(telemetry), "gw.yaml", { K: "key", ...env });

function problems(telemetry: Record<string, unknown> | undefined, env: NodeJS.ProcessEnv): string[] {
  try {
    parse(telemetry, env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return [...(err as ConfigError).problems];
  }
  throw new Error("expected the config to be rejected");
}

describe("telemetry config", () => {
  it("is off without an endpoint, whatever other OTEL_* variables say", () => {
    expect(parse().telemetry.enabled).toBe(false);
    expect(parse(undefined, { OTEL_SERVICE_NAME: "x", OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" }).telemetry.enabled).toBe(false);
    expect(summarize(parse(), "gw.yaml")).toContain("telemetry: off");
  });

  it("turns on with OTEL_EXPORTER_OTLP_ENDPOINT, with the standard variables' defaults", () => {
    const t = parse(undefined, { OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318/" }).telemetry;
    expect(t).toMatchObject({
      enabled: true,
      endpoint: "http://collector:4318",
      protocol: "http/protobuf",
      sampler: "parentbased_always_on",
      metricExportIntervalMs: 60_000,
      resource: { "service.name": "dify-grpc-gateway" },
    });
  });

  it("reads the protocol, service name, resource attributes, sampler and export interval from OTEL_*", () => {
    const t = parse(undefined, {
      OTEL_EXPORTER_OTLP_ENDPOINT: "https://collector:4318",
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
      OTEL_SERVICE_NAME: "gw-eu",
      OTEL_RESOURCE_ATTRIBUTES: "deployment.environment.name=prod,team=plat%20form",
      OTEL_TRACES_SAMPLER: "parentbased_traceidratio",
      OTEL_TRACES_SAMPLER_ARG: "0.25",
      OTEL_METRIC_EXPORT_INTERVAL: "15000",
    }).telemetry;
    expect(t).toMatchObject({
      protocol: "http/json",
      resource: { "service.name": "gw-eu", "deployment.environment.name": "prod", team: "plat form" },
      sampler: "parentbased_traceidratio",
      samplerRatio: 0.25,
      metricExportIntervalMs: 15_000,
    });
  });

  it("lets the config file win over the variables, and turn telemetry off or on", () => {
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: "http://from-env:4318", OTEL_EXPORTER_OTLP_PROTOCOL: "http/json" };
    expect(parse({ enabled: false }, env).telemetry.enabled).toBe(false);
    expect(parse({ endpoint: "http://from-file:4318", protocol: "http/protobuf" }, env).telemetry).toMatchObject({
      endpoint: "http://from-file:4318",
      protocol: "http/protobuf",
    });
    expect(parse(undefined, { ...env, OTEL_SDK_DISABLED: "true" }).telemetry.enabled).toBe(false);
    expect(parse({ enabled: true }).telemetry).toMatchObject({ enabled: true, endpoint: "http://localhost:4318" });
  });

  it("exports traces and metrics unless OTEL_TRACES_EXPORTER or OTEL_METRICS_EXPORTER (or the field) says none", () => {
    const on = { OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" };
    expect(parse(undefined, on).telemetry).toMatchObject({ traces: true, metrics: true });
    expect(parse(undefined, { ...on, OTEL_METRICS_EXPORTER: "none" }).telemetry).toMatchObject({
      enabled: true,
      traces: true,
      metrics: false,
    });
    expect(parse(undefined, { ...on, OTEL_TRACES_EXPORTER: "NONE" }).telemetry).toMatchObject({
      enabled: true,
      traces: false,
      metrics: true,
    });
    expect(parse({ tracesExporter: "otlp" }, { ...on, OTEL_TRACES_EXPORTER: "none" }).telemetry.traces).toBe(true);
    // Nothing left to export: off, so nothing is loaded.
    expect(parse({ metricsExporter: "none" }, { ...on, OTEL_TRACES_EXPORTER: "none" }).telemetry.enabled).toBe(false);
    expect(problems(undefined, { ...on, OTEL_METRICS_EXPORTER: "prometheus" })).toEqual(["OTEL_METRICS_EXPORTER: must be otlp or none"]);
    expect(problems({ tracesExporter: "console" }, {})[0]).toMatch(/^telemetry\.tracesExporter: /);
  });

  it("names the field or variable of a bad value", () => {
    const on = { OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" };
    expect(problems({ protocol: "grpc" }, {})[0]).toMatch(/^telemetry\.protocol: /);
    expect(problems({ endpoint: "collector:4318" }, {})[0]).toMatch(/^telemetry\.endpoint: /);
    expect(problems(undefined, { ...on, OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" })).toEqual([
      "OTEL_EXPORTER_OTLP_PROTOCOL: must be http/protobuf or http/json (OTLP over gRPC is not supported)",
    ]);
    expect(problems(undefined, { OTEL_EXPORTER_OTLP_ENDPOINT: "collector:4318" })[0]).toMatch(/^OTEL_EXPORTER_OTLP_ENDPOINT: /);
    expect(problems(undefined, { ...on, OTEL_TRACES_SAMPLER: "sometimes" })[0]).toMatch(/^OTEL_TRACES_SAMPLER: must be one of /);
    expect(problems(undefined, { ...on, OTEL_TRACES_SAMPLER_ARG: "2" })[0]).toMatch(/^OTEL_TRACES_SAMPLER_ARG: /);
    expect(problems(undefined, { ...on, OTEL_METRIC_EXPORT_INTERVAL: "soon" })[0]).toMatch(/^OTEL_METRIC_EXPORT_INTERVAL: /);
    expect(problems(undefined, { ...on, OTEL_RESOURCE_ATTRIBUTES: "=x" })[0]).toMatch(/^OTEL_RESOURCE_ATTRIBUTES: /);
  });

  it("check-config shows where it exports, and no collector credential", () => {
    const text = summarize(parse({ endpoint: "https://collector.example:4318/otlp?token=s3cret" }), "gw.yaml");
    expect(text).toContain("telemetry: OTLP http/protobuf to https://collector.example:4318/otlp, sampler parentbased_always_on");
    expect(text).not.toContain("s3cret");
  });
});
