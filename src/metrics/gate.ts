import { type Metadata, status } from "@grpc/grpc-js";
import type { Gate, GateCall, GateFactory } from "../grpc/gates.js";
import { endedWith, STREAM_ID_HEADER } from "../net/listener.js";
import type { GatewayMetrics } from "./metrics.js";

/*
 * Byte counts for the A66 histograms. grpc-js interceptors only see decoded requests and not-yet-encoded
 * responses, so the wire sizes travel in the one mechanism here: the request decoder remembers each
 * request's size (keyed by the request object grpc-js hands on), and the adapter sends responses already
 * encoded, so the bytes counted are the bytes sent and nothing is encoded twice.
 */
const requestSizes = new WeakMap<object, number>();

/** A request decoder that remembers the wire size of what it decodes, for the metrics gate. */
export function sizeRecording<T>(deserialize: (bytes: Buffer) => T): (bytes: Buffer) => T {
  return (bytes) => {
    const request = deserialize(bytes);
    if (typeof request === "object" && request !== null) requestSizes.set(request, bytes.length);
    return request;
  };
}

/** The serializer of a method whose handler sends responses already encoded (see above). */
export const preEncoded = (encoded: Buffer): Buffer => encoded;

/** gRFC A66 server metrics for every call, including the ones auth rejects and the ones the client abandons. */
export function metricsGate(metrics: GatewayMetrics): GateFactory {
  return (method) => new CallMetrics(metrics, method.path.slice(1));
}

class CallMetrics implements Gate {
  private readonly started = performance.now();
  private sent = 0;
  private received = 0;
  private recorded = false;
  private streamId: string | undefined;

  constructor(
    private readonly metrics: GatewayMetrics,
    private readonly grpcMethod: string,
  ) {
    metrics.callStarted.inc({ grpc_method: grpcMethod });
    metrics.a66?.started(grpcMethod);
  }

  onMetadata(metadata: Metadata): undefined {
    this.streamId = metadata.get(STREAM_ID_HEADER)[0]?.toString();
    return undefined;
  }

  onMessage(message: unknown): void {
    this.received += (typeof message === "object" && message !== null && requestSizes.get(message)) || 0;
  }

  // grpc-js calls this after every call, answered or not. A status grpc-js sent by itself (a request that did not
  // decode: INTERNAL) passes no gate, but is on the stream; a call with none was abandoned.
  onCancel(call: GateCall): void {
    this.record(endedWith(this.streamId, call.getDeadline()));
  }

  onSendMessage(message: unknown): void {
    if (Buffer.isBuffer(message)) this.sent += message.length;
  }

  onSendStatus(st: { code: status }): void {
    this.record(st.code);
  }

  private record(code: status): void {
    if (this.recorded) return;
    this.recorded = true;
    const { metrics, grpcMethod, sent, received } = this;
    const labels = { grpc_method: grpcMethod, grpc_status: status[code] ?? String(code) };
    const seconds = (performance.now() - this.started) / 1000;
    metrics.callDuration.observe(labels, seconds);
    metrics.sentBytes.observe(labels, sent);
    metrics.receivedBytes.observe(labels, received);
    metrics.a66?.finished(grpcMethod, labels.grpc_status, seconds, sent, received);
  }
}
