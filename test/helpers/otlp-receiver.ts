import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import protobuf from "protobufjs";

/*
 * A collector's OTLP/HTTP endpoint, as small as a test can have it: it stores what the exporters POST and
 * decodes it (protobuf or JSON) into plain objects. The schema below is the part of opentelemetry-proto
 * (v1, Apache-2.0) the tests read, with its field numbers; protobuf skips the fields it leaves out.
 */
const OTLP_SUBSET = `
syntax = "proto3";
package otlp;
message AnyValue { oneof value { string string_value = 1; bool bool_value = 2; int64 int_value = 3; double double_value = 4; bytes bytes_value = 7; } }
message KeyValue { string key = 1; AnyValue value = 2; }
message Resource { repeated KeyValue attributes = 1; }
message Scope { string name = 1; string version = 2; }
message Event { fixed64 time_unix_nano = 1; string name = 2; repeated KeyValue attributes = 3; }
message Status { string message = 2; int32 code = 3; }
message Span {
  bytes trace_id = 1; bytes span_id = 2; string trace_state = 3; bytes parent_span_id = 4; string name = 5; int32 kind = 6;
  fixed64 start_time_unix_nano = 7; fixed64 end_time_unix_nano = 8; repeated KeyValue attributes = 9;
  repeated Event events = 11; Status status = 15;
}
message ScopeSpans { Scope scope = 1; repeated Span spans = 2; }
message ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; }
message ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
message NumberDataPoint { repeated KeyValue attributes = 7; double as_double = 4; sfixed64 as_int = 6; }
message HistogramDataPoint { repeated KeyValue attributes = 9; fixed64 count = 4; double sum = 5; }
message Sum { repeated NumberDataPoint data_points = 1; }
message Histogram { repeated HistogramDataPoint data_points = 1; }
message Metric { string name = 1; string unit = 3; Sum sum = 7; Histogram histogram = 9; }
message ScopeMetrics { Scope scope = 1; repeated Metric metrics = 2; }
message ResourceMetrics { Resource resource = 1; repeated ScopeMetrics scope_metrics = 2; }
message ExportMetricsServiceRequest { repeated ResourceMetrics resource_metrics = 1; }
`;
const root = protobuf.parse(OTLP_SUBSET, { keepCase: false }).root;
const TraceRequest = root.lookupType("otlp.ExportTraceServiceRequest");
const MetricsRequest = root.lookupType("otlp.ExportMetricsServiceRequest");

export type AttributeValue = string | number | boolean;

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  /** "" for a root span. */
  parentSpanId: string;
  /** W3C tracestate, "" when none. */
  traceState: string;
  name: string;
  /** OTLP SpanKind: 2 server, 3 client. */
  kind: number;
  attributes: Record<string, AttributeValue>;
  events: { name: string; attributes: Record<string, AttributeValue> }[];
  status: { code: number; message: string };
  resource: Record<string, AttributeValue>;
}

export interface ReceivedPoint {
  metric: string;
  unit: string;
  attributes: Record<string, AttributeValue>;
  /** A sum's value, or a histogram's sum. */
  value: number;
  /** A histogram's count. */
  count: number | undefined;
}

export interface Export {
  path: string;
  contentType: string;
  body: Buffer;
}

export interface OtlpReceiver {
  /** The base URL, for OTEL_EXPORTER_OTLP_ENDPOINT. */
  url: string;
  /** Every POST, raw, for byte-level checks. */
  exports: Export[];
  spans(): ReceivedSpan[];
  /** Every data point of every export (cumulative metrics repeat: the last one per series is the total). */
  points(): ReceivedPoint[];
  close(): Promise<void>;
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const exports: Export[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const contentType = String(req.headers["content-type"] ?? "");
      exports.push({ path: req.url ?? "", contentType, body: Buffer.concat(chunks) });
      // An empty ExportServiceResponse: full success, in the encoding of the request.
      res.writeHead(200, { "content-type": contentType.includes("json") ? "application/json" : "application/x-protobuf" });
      res.end(contentType.includes("json") ? "{}" : Buffer.alloc(0));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const decoded = (path: string) => exports.filter((e) => e.path === path).map(decode);
  return {
    url: `http://127.0.0.1:${port}`,
    exports,
    spans: () => decoded("/v1/traces").flatMap(spansOf),
    points: () => decoded("/v1/metrics").flatMap(pointsOf),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

type Json = Record<string, unknown>;

/** Both encodings as the protobuf JSON mapping: ids as hex in JSON (OTLP's rule), bytes as base64 from protobuf. */
function decode(e: Export): Json {
  if (e.contentType.includes("json")) return JSON.parse(e.body.toString("utf8")) as Json;
  const type = e.path === "/v1/traces" ? TraceRequest : MetricsRequest;
  return type.toObject(type.decode(e.body), { bytes: String, longs: Number, defaults: false }) as Json;
}

function spansOf(req: Json): ReceivedSpan[] {
  return list(req.resourceSpans).flatMap((rs) => {
    const resource = attributes((rs.resource as Json | undefined)?.attributes);
    return list(rs.scopeSpans).flatMap((ss) =>
      list(ss.spans).map((s) => ({
        traceId: id(s.traceId),
        spanId: id(s.spanId),
        parentSpanId: id(s.parentSpanId),
        traceState: String(s.traceState ?? ""),
        name: String(s.name),
        kind: Number(s.kind ?? 0),
        attributes: attributes(s.attributes),
        events: list(s.events).map((ev) => ({ name: String(ev.name), attributes: attributes(ev.attributes) })),
        status: { code: Number((s.status as Json | undefined)?.code ?? 0), message: String((s.status as Json | undefined)?.message ?? "") },
        resource,
      })),
    );
  });
}

function pointsOf(req: Json): ReceivedPoint[] {
  return list(req.resourceMetrics).flatMap((rm) =>
    list(rm.scopeMetrics).flatMap((sm) =>
      list(sm.metrics).flatMap((m) => {
        const base = { metric: String(m.name), unit: String(m.unit ?? "") };
        const sum = list((m.sum as Json | undefined)?.dataPoints).map((p) => ({
          ...base,
          attributes: attributes(p.attributes),
          value: Number(p.asInt ?? p.asDouble ?? 0),
          count: undefined,
        }));
        const histogram = list((m.histogram as Json | undefined)?.dataPoints).map((p) => ({
          ...base,
          attributes: attributes(p.attributes),
          value: Number(p.sum ?? 0),
          count: Number(p.count ?? 0),
        }));
        return [...sum, ...histogram];
      }),
    ),
  );
}

function list(v: unknown): Json[] {
  return Array.isArray(v) ? (v as Json[]) : [];
}

/** Hex in OTLP/JSON, base64 from the protobuf decoder. */
function id(v: unknown): string {
  if (typeof v !== "string" || v === "") return "";
  return /^[0-9a-f]+$/i.test(v) && (v.length === 16 || v.length === 32) ? v.toLowerCase() : Buffer.from(v, "base64").toString("hex");
}

function attributes(v: unknown): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  for (const kv of list(v)) {
    const value = (kv.value ?? {}) as Json;
    const raw = value.stringValue ?? value.boolValue ?? value.intValue ?? value.doubleValue;
    if (raw !== undefined) out[String(kv.key)] = typeof raw === "string" && "intValue" in value ? Number(raw) : (raw as AttributeValue);
  }
  return out;
}
