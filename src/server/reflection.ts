import { EventEmitter } from "node:events";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import { status, type Server, type ServerDuplexStream, type ServiceDefinition, type UntypedServiceImplementation } from "@grpc/grpc-js";
import { GENERATED_DIR } from "../paths.js";

/** Descriptor sets written by `npm run proto` (`buf build`). */
const DESCRIPTOR_SETS = ["dify_app_v1.binpb", "grpc_health_v1.binpb"];
const VERSIONS = ["v1", "v1alpha"] as const;
const pathOf = (version: string) => `/grpc.reflection.${version}.ServerReflection/ServerReflectionInfo`;

type Handler = (stream: ServerDuplexStream<unknown, unknown>) => void;
interface Loaded {
  definition: ServiceDefinition;
  handler: Handler;
}

/**
 * Serves reflection v1 and v1alpha from the exact FileDescriptorProto bytes
 * `buf build` produced. Descriptors rebuilt by proto-loader lose details that
 * Go clients (buf curl, grpcurl) need for google.protobuf.Struct.
 *
 * @grpc/reflection loads at the first reflection call, not at start: importing it and
 * building its index (proto-loader parses reflection.proto twice, protobufjs decodes every
 * descriptor) cost ~200 ms of a ~880 ms cold start (measured with --cpu-prof). Until then the
 * server knows the two methods by path only, with bytes in and out.
 */
export function addReflection(server: Server, services: readonly string[]): void {
  // Read now, so that missing descriptor sets still stop the start.
  const fileDescriptorProtos = DESCRIPTOR_SETS.flatMap((name) => splitDescriptorSet(readFileSync(join(GENERATED_DIR, name))));
  let loading: Promise<Map<string, Loaded>> | undefined;
  const load = () => (loading ??= loadReflection(fileDescriptorProtos, services));
  for (const version of VERSIONS) {
    const definition = rawBidi(pathOf(version));
    const implementation: UntypedServiceImplementation = {
      ServerReflectionInfo: (call: ServerDuplexStream<Buffer, Buffer>) => relay(call, load().then((all) => all.get(pathOf(version)))),
    };
    server.addService(definition, implementation);
  }
}

async function loadReflection(fileDescriptorProtos: Buffer[], services: readonly string[]): Promise<Map<string, Loaded>> {
  // require, not import(): the bundle runs as a vm.Script (src/main.ts), where import() needs an experimental loader hook.
  const { ReflectionService } = createRequire(import.meta.url)("@grpc/reflection") as typeof import("@grpc/reflection");
  // @grpc/reflection reads only `fileDescriptorProtos` from the package definition it is given.
  const pkg = { descriptors: { fileDescriptorProtos } } as unknown as ConstructorParameters<typeof ReflectionService>[0];
  const loaded = new Map<string, Loaded>();
  // addToServer accepts anything with addService: this records each version's definition and handler.
  new ReflectionService(pkg, { services: [...services] }).addToServer({
    addService(definition: ServiceDefinition, implementation: UntypedServiceImplementation) {
      const method = Object.values(definition)[0];
      const handler = Object.values(implementation)[0];
      if (method && handler) loaded.set(method.path, { definition, handler: handler as Handler });
    },
  });
  return loaded;
}

/**
 * Feeds the call's raw messages, decoded, to @grpc/reflection's handler once it has loaded, and
 * encodes what it writes. That handler uses only on("data"), on("end"), write() and end().
 */
function relay(call: ServerDuplexStream<Buffer, Buffer>, ready: Promise<Loaded | undefined>): void {
  const inbox: (Buffer | null)[] = [];
  let deliver = (item: Buffer | null) => void inbox.push(item);
  call.on("data", (b: Buffer) => deliver(b));
  call.on("end", () => deliver(null));
  ready
    .then((loaded) => {
      const method = loaded && Object.values(loaded.definition)[0];
      if (!loaded || !method) throw new Error("reflection service missing");
      const inner = Object.assign(new EventEmitter(), {
        write: (msg: unknown) => call.write(method.responseSerialize(msg)),
        end: () => call.end(),
      });
      deliver = (item) => {
        if (item === null) inner.emit("end");
        else inner.emit("data", method.requestDeserialize(item));
      };
      loaded.handler(inner as unknown as ServerDuplexStream<unknown, unknown>);
      for (const item of inbox.splice(0)) deliver(item);
    })
    // One path for a failed load and a failed relay: either way the call ends INTERNAL, saying why.
    .catch((err: unknown) => call.emit("error", { code: status.INTERNAL, details: `server reflection failed: ${String(err)}` }));
}

/** A bidi-streaming method that hands the handler raw bytes. */
function rawBidi(path: string): ServiceDefinition {
  const same = (b: Buffer) => b;
  return {
    ServerReflectionInfo: {
      path,
      requestStream: true,
      responseStream: true,
      requestSerialize: same,
      requestDeserialize: same,
      responseSerialize: same,
      responseDeserialize: same,
    },
  } as ServiceDefinition;
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
