import { readFileSync } from "node:fs";
import { join } from "node:path";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import type { Server } from "@grpc/grpc-js";
import { ReflectionService } from "@grpc/reflection";
import { GENERATED_DIR } from "../paths.js";

/** Descriptor sets written by `npm run proto` (`buf build`). */
const DESCRIPTOR_SETS = ["dify_app_v1.binpb", "grpc_health_v1.binpb"];

/**
 * Serves reflection v1 and v1alpha from the exact FileDescriptorProto bytes
 * `buf build` produced. Descriptors rebuilt by proto-loader lose details that
 * Go clients (buf curl, grpcurl) need for google.protobuf.Struct.
 */
export function addReflection(server: Server, services: readonly string[]): void {
  const fileDescriptorProtos = DESCRIPTOR_SETS.flatMap((name) => splitDescriptorSet(readFileSync(join(GENERATED_DIR, name))));
  // @grpc/reflection reads only `fileDescriptorProtos` from the package definition it is given.
  const pkg = { descriptors: { fileDescriptorProtos } } as unknown as ConstructorParameters<typeof ReflectionService>[0];
  new ReflectionService(pkg, { services: [...services] }).addToServer(server);
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
