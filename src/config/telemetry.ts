import { type ConfigFile, TELEMETRY_EXPORTERS, TELEMETRY_PROTOCOLS } from "./schema.js";

export type TelemetryProtocol = (typeof TELEMETRY_PROTOCOLS)[number];

/** The OTEL_TRACES_SAMPLER values of the OpenTelemetry spec ("SDK environment variables"). */
export const SAMPLERS = [
  "always_on",
  "always_off",
  "traceidratio",
  "parentbased_always_on",
  "parentbased_always_off",
  "parentbased_traceidratio",
] as const;
export type SamplerName = (typeof SAMPLERS)[number];

/** OpenTelemetry export, resolved from the config's `telemetry` section and the standard OTEL_* variables. */
export interface TelemetryConfig {
  readonly enabled: boolean;
  /** The OTLP/HTTP base URL, without the /v1/<signal> suffix. */
  readonly endpoint: string;
  readonly protocol: TelemetryProtocol;
  readonly resource: Readonly<Record<string, string>>;
  readonly sampler: SamplerName;
  /** For the ratio samplers, 0..1. */
  readonly samplerRatio: number;
  readonly metricExportIntervalMs: number;
  /** Spans are made and exported (OTEL_TRACES_EXPORTER is not "none"). */
  readonly traces: boolean;
  /** OTLP metrics are recorded and exported (OTEL_METRICS_EXPORTER is not "none"); Prometheus is not affected. */
  readonly metrics: boolean;
}

/** What the OTLP exporters use when nothing is set (OTLP spec: "localhost:4318" for OTLP/HTTP). */
const DEFAULT_ENDPOINT = "http://localhost:4318";
const DEFAULT_SERVICE_NAME = "dify-grpc-gateway";
const DEFAULT_EXPORT_INTERVAL_MS = 60_000;

/**
 * The config field wins over its variable. Variables are checked only when telemetry is on, so a stray
 * OTEL_* meant for another process does not stop a gateway that does not export; a bad one names itself.
 */
export function resolveTelemetry(section: ConfigFile["telemetry"], env: NodeJS.ProcessEnv, problems: string[]): TelemetryConfig {
  const fromEnv = nonEmpty(env.OTEL_EXPORTER_OTLP_ENDPOINT);
  const endpoint = section.endpoint ?? fromEnv;
  const sdkDisabled = nonEmpty(env.OTEL_SDK_DISABLED)?.toLowerCase() === "true";
  const enabled = section.enabled ?? (endpoint !== undefined && !sdkDisabled);
  const off: TelemetryConfig = {
    enabled: false,
    endpoint: DEFAULT_ENDPOINT,
    protocol: "http/protobuf",
    resource: {},
    sampler: "parentbased_always_on",
    samplerRatio: 1,
    metricExportIntervalMs: DEFAULT_EXPORT_INTERVAL_MS,
    traces: false,
    metrics: false,
  };
  if (!enabled) return off;

  const problem = (field: string, message: string) => problems.push(`${field}: ${message}`);
  if (section.endpoint === undefined && fromEnv !== undefined && !isHttpUrl(fromEnv))
    problem("OTEL_EXPORTER_OTLP_ENDPOINT", "must be an http:// or https:// URL, e.g. http://otel-collector:4318");

  const protocolEnv = nonEmpty(env.OTEL_EXPORTER_OTLP_PROTOCOL);
  let protocol: TelemetryProtocol = section.protocol ?? "http/protobuf";
  if (section.protocol === undefined && protocolEnv !== undefined) {
    if ((TELEMETRY_PROTOCOLS as readonly string[]).includes(protocolEnv)) protocol = protocolEnv as TelemetryProtocol;
    else problem("OTEL_EXPORTER_OTLP_PROTOCOL", `must be ${TELEMETRY_PROTOCOLS.join(" or ")} (OTLP over gRPC is not supported)`);
  }

  const resource = parseResourceAttributes(env.OTEL_RESOURCE_ATTRIBUTES, problem);
  const serviceName = section.serviceName ?? nonEmpty(env.OTEL_SERVICE_NAME) ?? resource["service.name"] ?? DEFAULT_SERVICE_NAME;

  const samplerEnv = nonEmpty(env.OTEL_TRACES_SAMPLER)?.toLowerCase();
  let sampler: SamplerName = "parentbased_always_on";
  if (samplerEnv !== undefined) {
    if ((SAMPLERS as readonly string[]).includes(samplerEnv)) sampler = samplerEnv as SamplerName;
    else problem("OTEL_TRACES_SAMPLER", `must be one of ${SAMPLERS.join(", ")}`);
  }
  const ratioEnv = nonEmpty(env.OTEL_TRACES_SAMPLER_ARG);
  const samplerRatio = ratioEnv === undefined ? 1 : Number(ratioEnv);
  if (!(samplerRatio >= 0 && samplerRatio <= 1)) problem("OTEL_TRACES_SAMPLER_ARG", "must be a number from 0 to 1");

  const intervalEnv = nonEmpty(env.OTEL_METRIC_EXPORT_INTERVAL);
  const interval = section.metricExportIntervalMs ?? (intervalEnv === undefined ? DEFAULT_EXPORT_INTERVAL_MS : Number(intervalEnv));
  if (!(Number.isInteger(interval) && interval > 0))
    problem("OTEL_METRIC_EXPORT_INTERVAL", "must be a positive whole number of milliseconds");

  const traces = exporter(section.tracesExporter, env.OTEL_TRACES_EXPORTER, "OTEL_TRACES_EXPORTER", problem);
  const metrics = exporter(section.metricsExporter, env.OTEL_METRICS_EXPORTER, "OTEL_METRICS_EXPORTER", problem);
  // Both "none": nothing to export, so nothing is loaded and no call pays for telemetry.
  if (!traces && !metrics) return off;

  return {
    enabled: true,
    endpoint: (endpoint ?? DEFAULT_ENDPOINT).replace(/\/+$/, ""),
    protocol,
    resource: { ...resource, "service.name": serviceName },
    sampler,
    samplerRatio,
    metricExportIntervalMs: interval,
    traces,
    metrics,
  };
}

/** True unless the field, else the variable, says "none" (the spec's default is otlp). */
function exporter(
  field: (typeof TELEMETRY_EXPORTERS)[number] | undefined,
  variable: string | undefined,
  name: string,
  problem: (field: string, message: string) => void,
): boolean {
  if (field !== undefined) return field === "otlp";
  const value = nonEmpty(variable)?.toLowerCase();
  if (value === undefined) return true;
  if ((TELEMETRY_EXPORTERS as readonly string[]).includes(value)) return value === "otlp";
  problem(name, `must be ${TELEMETRY_EXPORTERS.join(" or ")}`);
  return true;
}

/** `key1=value1,key2=value2`, values percent-encoded (OpenTelemetry "Resource SDK", OTEL_RESOURCE_ATTRIBUTES). */
function parseResourceAttributes(value: string | undefined, problem: (field: string, message: string) => void): Record<string, string> {
  const attributes: Record<string, string> = {};
  if (nonEmpty(value) === undefined) return attributes;
  for (const pair of value!.split(",")) {
    const at = pair.indexOf("=");
    const key = at > 0 ? pair.slice(0, at).trim() : "";
    try {
      if (key === "") throw new Error("no key");
      attributes[key] = decodeURIComponent(pair.slice(at + 1).trim());
    } catch {
      problem("OTEL_RESOURCE_ATTRIBUTES", "must be key=value pairs separated by commas, values percent-encoded");
      return {};
    }
  }
  return attributes;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value.trim();
}

function isHttpUrl(value: string): boolean {
  return URL.canParse(value) && /^https?:$/.test(new URL(value).protocol);
}
