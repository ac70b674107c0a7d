import { readFileSync } from "node:fs";
import { join } from "node:path";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import { type Server, type ServerDuplexStream, type ServiceDefinition, status, type UntypedServiceImplementation } from "@grpc/grpc-js";
import { ReflectionService } from "@grpc/reflection";
import { GatewayError } from "../grpc/gateway-error.js";
import { withRequestLimit } from "../grpc/request-limit.js";
import { GENERATED_DIR } from "../paths.js";

/** Descriptor sets written by `npm run proto` (`buf build`). */
const DESCRIPTOR_SETS = ["dify_app_v1.binpb", "grpc_health_v1.binpb"];

/**
 * Reflection streams open at once, per process. Each holds at most one HTTP/2 frame of decoded requests,
 * grpc-js's 16 buffered requests and 16 buffered answers (the largest, a file with its dependencies, is
 * ~25 KB), so well under 1 MiB; 32 streams keep reflection under ~32 MiB. Clients (buf curl, grpcurl) use one.
 */
export const MAX_REFLECTION_STREAMS = 32;

/**
 * Largest reflection request: a symbol or file name and a host. The stock service echoes a symbol it does not know
 * into its answer, so with the server-wide 4 MiB limit (and gzip, a few KB on the wire each) 16 queued answers of
 * a stream were 64 MiB, and 8 streams exhausted a 384 MB heap. At 8 KiB a stream holds at most ~0.5 MiB.
 */
export const MAX_REFLECTION_REQUEST_BYTES = 8 * 1024;

/**
 * Serves reflection v1 and v1alpha with @grpc/reflection, from the exact FileDescriptorProto bytes
 * `buf build` produced: descriptors rebuilt by proto-loader lose details that Go clients
 * (buf curl, grpcurl) need for google.protobuf.Struct. @grpc/reflection reads only
 * `fileDescriptorProtos` from the package definition it is given.
 */
export function addReflection(server: Server, services: readonly string[]): void {
  const fileDescriptorProtos = DESCRIPTOR_SETS.flatMap((name) => splitDescriptorSet(readFileSync(join(GENERATED_DIR, name))));
  const pkg = { descriptors: { fileDescriptorProtos } } as unknown as ConstructorParameters<typeof ReflectionService>[0];
  const streams = { open: 0 };
  new ReflectionService(pkg, { services: [...services] }).addToServer({
    addService: (definition: ServiceDefinition, implementation: UntypedServiceImplementation) =>
      server.addService(withRequestLimit(definition, MAX_REFLECTION_REQUEST_BYTES), {
        ServerReflectionInfo: withBackpressure(implementation.ServerReflectionInfo as Handler, streams),
      }),
  });
}

type Handler = (call: ServerDuplexStream<unknown, unknown>) => void;

/**
 * The stock handler writes one answer per request and ignores write()'s return value: a client that sends
 * 20,000 requests and never reads made the gateway queue ~440 MiB of answers. Here the call stops reading
 * requests while its answers are not draining (grpc-js then stops reading the HTTP/2 stream, and flow
 * control holds the client), and resumes on 'drain'. Streams beyond MAX_REFLECTION_STREAMS are refused.
 */
export function withBackpressure(stock: Handler, streams: { open: number }): Handler {
  return (call) => {
    if (streams.open >= MAX_REFLECTION_STREAMS) {
      const busy = new GatewayError(
        status.RESOURCE_EXHAUSTED,
        `reflection: more than ${MAX_REFLECTION_STREAMS} streams open; retry later`,
        {
          reason: "REFLECTION_STREAMS_EXHAUSTED",
          retryDelayMs: 1000,
        },
      );
      call.emit("error", busy.toStatus());
      return;
    }
    streams.open++;
    let counted = true;
    const release = () => {
      if (counted) streams.open--;
      counted = false;
    };
    // Whichever comes first: grpc-js emits "cancelled" on a reset, "finish" and "close" on a normal end.
    call.once("close", release);
    call.once("finish", release);
    call.once("cancelled", release);
    const write = call.write.bind(call) as (msg: unknown) => boolean;
    call.write = ((msg: unknown) => {
      const flowing = write(msg);
      if (!flowing && !call.isPaused()) {
        call.pause();
        call.once("drain", () => call.resume());
      }
      return flowing;
    }) as typeof call.write;
    stock(call);
  };
}

/** The raw bytes of each `file` (field 1) of a google.protobuf.FileDescriptorSet, not re-encoded. */
export function splitDescriptorSet(set: Uint8Array): Buffer[] {
  const reader = new BinaryReader(set);
  const files: Buffer[] = [];
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field === 1 && wireType === WireType.LengthDelimited) files.push(Buffer.from(reader.bytes()));
    else reader.skip(wireType);
  }
  return files;
}
