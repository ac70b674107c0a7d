import {
  type Deadline,
  Metadata,
  type ServerInterceptingCall,
  type ServerInterceptingCallInterface,
  type ServerInterceptor,
  type ServerMethodDefinition,
} from "@grpc/grpc-js";
import type { GatewayError } from "./gateway-error.js";

/**
 * One concern of the transport (metrics, limits, auth) for one call: a "gate". The gates of a call run in their
 * list's order, the first one outermost (nearest the client), exactly as that many grpc-js interceptors would:
 * - `onMetadata`, `onMessage`, `onHalfClose`, `onCancel`: first gate to last, then the handler;
 * - `onSendMessage`, `onSendStatus`: last gate to first, then the client.
 * A gate that returns an error from `onMetadata` ends the call with it: the gates after it and the handler never
 * see the call, while the gates before it see that status in `onSendStatus` and, like every gate, `onCancel`
 * (grpc-js reports the end of every call there, answered or not). Hooks a gate leaves out cost nothing.
 */
export interface Gate {
  onMetadata?(metadata: Metadata, call: GateCall): GatewayError | undefined;
  onMessage?(message: unknown, call: GateCall): void;
  onHalfClose?(call: GateCall): void;
  onCancel?(call: GateCall): void;
  onSendMessage?(message: unknown, call: GateCall): void;
  onSendStatus?(status: PartialStatusObject, call: GateCall): void;
}

/**
 * Makes a call's gate, once per call. A gate without per-call state can be one object for every call (hooks get
 * the call); `undefined` leaves this call out of the concern altogether.
 */
export type GateFactory = (method: ServerMethodDefinition<unknown, unknown>, call: GateCall) => Gate | undefined;

type Next = ServerInterceptingCallInterface;
type InterceptingServerListener = Parameters<Next["start"]>[0];
type PartialStatusObject = Parameters<Next["sendStatus"]>[0];
type AuthContext = ReturnType<Next["getAuthContext"]>;

/** What a gate sees of its call. */
export interface GateCall {
  readonly path: string;
  getPeer(): string;
  getDeadline(): Deadline;
  getAuthContext(): AuthContext;
  /**
   * Ends the call from `gate`: the error's status and its google.rpc details (`grpc-status-details-bin`), like every
   * status a handler sends, seen by the gates before `gate` (not by `gate` itself nor the ones after it).
   */
  reject(gate: Gate, error: GatewayError): void;
}

/**
 * One grpc-js interceptor for all the gates, so a call carries one call object (and its gates) instead of one
 * `ServerInterceptingCall`, listener, responder and their closures per concern, for the call's whole life.
 */
export function gated(factories: readonly GateFactory[]): ServerInterceptor {
  return (method, next) => {
    const call = new GatedCall(next, method.path);
    const gates = call.gates;
    for (const factory of factories) {
      const gate = factory(method, call);
      if (gate) gates.push(gate);
    }
    // grpc-js uses only the ServerInterceptingCallInterface of what an interceptor returns (the next interceptor
    // wraps it, or the handler starts it); the declared class is the library's own implementation of it.
    return call as unknown as ServerInterceptingCall;
  };
}

/**
 * Both sides of one call: the call the handler (or the next interceptor) talks to, and the listener of the call
 * underneath. It does what ServerInterceptingCall does for a responder and listener whose hooks all complete
 * synchronously, as the gates' do.
 */
class GatedCall implements ServerInterceptingCallInterface, InterceptingServerListener, GateCall {
  readonly gates: Gate[] = [];
  private listener: InterceptingServerListener | undefined;
  /** How many gates saw the metadata (and so see messages and half-close); all of them, then the handler too. */
  private reached = 0;
  private cancelled = false;
  private sentMetadata = false;

  constructor(
    private readonly next: ServerInterceptingCallInterface,
    readonly path: string,
  ) {}

  // The call underneath's events, first gate to last, then the handler.

  start(listener: InterceptingServerListener): void {
    this.listener = listener;
    this.next.start(this);
  }

  onReceiveMetadata(metadata: Metadata): void {
    if (this.cancelled) return;
    const gates = this.gates;
    for (let i = 0; i < gates.length; i++) {
      const gate = gates[i] as Gate;
      this.reached = i + 1;
      const error = gate.onMetadata?.(metadata, this);
      if (error) {
        this.rejectFrom(i, error);
        return;
      }
    }
    this.reached = gates.length + 1;
    this.listener?.onReceiveMetadata(metadata);
  }

  onReceiveMessage(message: unknown): void {
    if (this.cancelled) return;
    const gates = this.gates;
    const n = Math.min(this.reached, gates.length);
    for (let i = 0; i < n; i++) (gates[i] as Gate).onMessage?.(message, this);
    if (this.reached > gates.length) this.listener?.onReceiveMessage(message);
  }

  onReceiveHalfClose(): void {
    if (this.cancelled) return;
    const gates = this.gates;
    const n = Math.min(this.reached, gates.length);
    for (let i = 0; i < n; i++) (gates[i] as Gate).onHalfClose?.(this);
    if (this.reached > gates.length) this.listener?.onReceiveHalfClose();
  }

  onCancel(): void {
    this.cancelled = true;
    for (const gate of this.gates) gate.onCancel?.(this);
    this.listener?.onCancel();
  }

  // What the handler sends, last gate to first, then the call underneath.

  sendMetadata(metadata: Metadata): void {
    this.sentMetadata = true;
    this.next.sendMetadata(metadata);
  }

  sendMessage(message: unknown, callback: () => void): void {
    // As ServerInterceptingCall: response headers go first, through the same path.
    if (!this.sentMetadata) this.sendMetadata(new Metadata());
    const gates = this.gates;
    for (let i = gates.length - 1; i >= 0; i--) (gates[i] as Gate).onSendMessage?.(message, this);
    this.next.sendMessage(message, callback);
  }

  sendStatus(status: PartialStatusObject): void {
    this.statusFrom(this.gates.length, status);
  }

  reject(gate: Gate, error: GatewayError): void {
    const i = this.gates.indexOf(gate);
    if (i >= 0) this.rejectFrom(i, error);
  }

  private rejectFrom(i: number, error: GatewayError): void {
    this.statusFrom(i, error.toStatus());
  }

  /** `status` through the gates before the `end`th, last to first, then to the call underneath. */
  private statusFrom(end: number, status: PartialStatusObject): void {
    const gates = this.gates;
    for (let i = end - 1; i >= 0; i--) (gates[i] as Gate).onSendStatus?.(status, this);
    this.next.sendStatus(status);
  }

  startRead(): void {
    this.next.startRead();
  }

  getPeer(): string {
    return this.next.getPeer();
  }

  getDeadline(): Deadline {
    return this.next.getDeadline();
  }

  getHost(): string {
    return this.next.getHost();
  }

  getAuthContext(): AuthContext {
    return this.next.getAuthContext();
  }

  getConnectionInfo(): ReturnType<Next["getConnectionInfo"]> {
    return this.next.getConnectionInfo();
  }

  getMetricsRecorder(): ReturnType<Next["getMetricsRecorder"]> {
    return this.next.getMetricsRecorder();
  }
}
