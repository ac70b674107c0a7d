import { BinaryReader, BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { status as grpcStatus, type Server, type ServerUnaryCall, type ServerWritableStream, type ServiceDefinition } from "@grpc/grpc-js";

/**
 * grpc.health.v1.Health (Check, Watch, List), hand-written instead of grpc-health-check:
 * that package parses health.proto with @grpc/proto-loader at import, ~120 ms of a ~880 ms
 * cold start (proto-loader 78 ms + grpc-health-check 42 ms, measured); these three messages
 * are one string and one enum, encoded here with the wire helpers the generated code loads anyway.
 * Same behaviour as grpc-health-check 2.x; test/server/health.test.ts checks it with that package's client.
 */
export type ServingStatus = "UNKNOWN" | "SERVING" | "NOT_SERVING" | "SERVICE_UNKNOWN";

const STATUS_NUMBERS: Record<ServingStatus, number> = { UNKNOWN: 0, SERVING: 1, NOT_SERVING: 2, SERVICE_UNKNOWN: 3 };
/** grpc-health-check refuses to List more than this many services. */
const LIST_LIMIT = 100;

interface CheckRequest {
  service: string;
}

/** HealthCheckRequest { string service = 1 }; HealthListRequest is empty and decodes the same. */
function decodeRequest(bytes: Buffer): CheckRequest {
  const reader = new BinaryReader(bytes);
  let service = "";
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field === 1 && wireType === WireType.LengthDelimited) service = reader.string();
    else reader.skip(wireType);
  }
  return { service };
}

/** HealthCheckResponse { ServingStatus status = 1 }. */
function writeStatus(writer: BinaryWriter, status: ServingStatus): BinaryWriter {
  const n = STATUS_NUMBERS[status];
  return n === 0 ? writer : writer.uint32(8).int32(n);
}

const encodeCheckResponse = (res: { status: ServingStatus }): Buffer => Buffer.from(writeStatus(new BinaryWriter(), res.status).finish());

/** HealthListResponse { map<string, HealthCheckResponse> statuses = 1 }. */
function encodeListResponse(res: { statuses: Record<string, { status: ServingStatus }> }): Buffer {
  const writer = new BinaryWriter();
  for (const [name, { status }] of Object.entries(res.statuses)) {
    writer.uint32(10).fork();
    writer.uint32(10).string(name);
    writeStatus(writer.uint32(18).fork(), status).join();
    writer.join();
  }
  return Buffer.from(writer.finish());
}

function method(name: string, responseStream: boolean, encode: (res: never) => Buffer) {
  return {
    path: `/grpc.health.v1.Health/${name}`,
    requestStream: false,
    responseStream,
    requestSerialize: (_: unknown) => Buffer.alloc(0),
    requestDeserialize: decodeRequest,
    responseSerialize: encode,
    responseDeserialize: () => ({}),
  };
}

export const HEALTH_SERVICE_DEFINITION = {
  Check: method("Check", false, encodeCheckResponse),
  Watch: method("Watch", true, encodeCheckResponse),
  List: method("List", false, encodeListResponse),
} as unknown as ServiceDefinition;

type Watcher = (status: ServingStatus) => void;

export class HealthService {
  readonly #statuses = new Map<string, ServingStatus>();
  readonly #watchers = new Map<string, Set<Watcher>>();

  constructor(initial: Record<string, ServingStatus> = {}) {
    for (const [name, status] of Object.entries(initial)) this.#statuses.set(name, status);
  }

  setStatus(service: string, status: ServingStatus): void {
    this.#statuses.set(service, status);
    for (const watcher of this.#watchers.get(service) ?? []) watcher(status);
  }

  addToServer(server: Server): void {
    server.addService(HEALTH_SERVICE_DEFINITION, {
      Check: (call: ServerUnaryCall<CheckRequest, unknown>, callback: (err: object | null, res?: { status: ServingStatus }) => void) => {
        const status = this.#statuses.get(call.request.service);
        if (status) callback(null, { status });
        else callback({ code: grpcStatus.NOT_FOUND, details: `Health status unknown for service ${call.request.service}` });
      },
      Watch: (call: ServerWritableStream<CheckRequest, { status: ServingStatus }>) => {
        const name = call.request.service;
        const watcher: Watcher = (status) => call.write({ status });
        let watchers = this.#watchers.get(name);
        if (!watchers) this.#watchers.set(name, (watchers = new Set()));
        watchers.add(watcher);
        call.on("cancelled", () => watchers.delete(watcher));
        call.write({ status: this.#statuses.get(name) ?? "SERVICE_UNKNOWN" });
      },
      List: (_call: unknown, callback: (err: object | null, res?: { statuses: Record<string, { status: ServingStatus }> }) => void) => {
        if (this.#statuses.size > LIST_LIMIT) {
          callback({ code: grpcStatus.RESOURCE_EXHAUSTED, details: "Too many services to list." });
          return;
        }
        const statuses: Record<string, { status: ServingStatus }> = {};
        for (const [name, status] of this.#statuses) statuses[name] = { status };
        callback(null, { statuses });
      },
    });
  }
}
