import {
  status as grpcStatus,
  type Server,
  type ServerUnaryCall,
  type ServerWritableStream,
  type ServiceDefinition,
  type UntypedServiceImplementation,
} from "@grpc/grpc-js";
import { HealthImplementation, type ServingStatus } from "grpc-health-check";
import { GatewayError, invalidArgument } from "../grpc/gateway-error.js";
import { withRequestLimit } from "../grpc/request-limit.js";

export type { ServingStatus };

/**
 * Longest `service` name Check and Watch accept. Ours are short ("", "liveness", "dify.app.v1.ChatService"),
 * and a name is held for as long as its Watch stays open: 200 bytes × any number of open Watches stays small.
 */
export const MAX_SERVICE_NAME_BYTES = 200;
/** A HealthCheckRequest is its service name: larger ones are refused undecoded (`withRequestLimit`). */
export const MAX_HEALTH_REQUEST_BYTES = 1024;

interface CheckRequest {
  service: string;
}
type Respond = (err: object | null, res?: { status: string }) => void;
type Handler = (call: never, callback?: never) => void;

/**
 * grpc.health.v1.Health from grpc-health-check, behind a thin guard. Why a guard: the stock `watch` adds
 * every requested name to a map it never shrinks (a Watch per new 4 MB name exhausted a 384 MB heap),
 * and its `check` echoes the name into `grpc-message` (a ≥100 KB name made the status unsendable, so
 * the call never answered). The guard answers names that are too long or unknown itself, without state
 * that outlives the call, and hands only known names to the stock service.
 *
 * The names are fixed when the service is built: setStatus changes a status, it does not add a name.
 */
export class HealthService {
  readonly #stock: HealthImplementation;
  readonly #names: ReadonlySet<string>;

  constructor(initial: Record<string, ServingStatus>) {
    this.#stock = new HealthImplementation(initial);
    this.#names = new Set(Object.keys(initial));
  }

  setStatus(service: string, status: ServingStatus): void {
    if (!this.#names.has(service))
      throw new Error(`health: ${JSON.stringify(service)} is not one of the names this service was built with`);
    this.#stock.setStatus(service, status);
  }

  addToServer(server: Server): void {
    this.#stock.addToServer({
      addService: (definition, implementation) =>
        server.addService(
          // A larger request decodes to a name one byte over the limit, which #guard refuses as the field's INVALID_ARGUMENT.
          withRequestLimit(definition as ServiceDefinition, MAX_HEALTH_REQUEST_BYTES, () => ({
            service: "?".repeat(MAX_SERVICE_NAME_BYTES + 1),
          })),
          this.#guard(implementation as UntypedServiceImplementation),
        ),
    });
  }

  #guard(stock: UntypedServiceImplementation): UntypedServiceImplementation {
    const check = stock.check as Handler;
    const watch = stock.watch as Handler;
    return {
      ...stock,
      check: (call: ServerUnaryCall<CheckRequest, unknown>, callback: Respond) => {
        const refusal = this.#refusal(call.request.service);
        if (refusal) callback(refusal.toStatus());
        else check(call as never, callback as never);
      },
      watch: (call: ServerWritableStream<CheckRequest, unknown>) => {
        const name = call.request.service;
        const refusal = this.#refusal(name);
        if (refusal instanceof TooLong) call.emit("error", refusal.toStatus());
        // The health spec: an unknown service is SERVICE_UNKNOWN, and the stream stays open. Our names never
        // change, so nothing will follow; the open call is all this Watch holds, and it goes when the call does.
        else if (refusal) call.write({ status: "SERVICE_UNKNOWN" });
        else watch(call as never);
      },
    };
  }

  #refusal(name: string): GatewayError | undefined {
    // Length first (UTF-8 bytes ≥ UTF-16 units), so that a huge name is refused without being measured.
    if (name.length > MAX_SERVICE_NAME_BYTES || Buffer.byteLength(name) > MAX_SERVICE_NAME_BYTES) return new TooLong();
    if (!this.#names.has(name)) {
      // Not echoed: the caller knows what it asked for, and a name in grpc-message can be made unsendable.
      return new GatewayError(grpcStatus.NOT_FOUND, "service: no health status for this name", {
        reason: "HEALTH_SERVICE_UNKNOWN",
        metadata: { field: "service" },
      });
    }
    return undefined;
  }
}

class TooLong extends GatewayError {
  constructor() {
    const refused = invalidArgument("service", `longer than ${MAX_SERVICE_NAME_BYTES} bytes`);
    super(refused.code, refused.message, refused.details);
  }
}
