import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import type { ServiceDefinition } from "@grpc/grpc-js";
import { DEFAULT_INPUTS_LIMITS, decodeStruct, type InputsLimits, InputsRejected } from "./inputs.js";
import type { InvokeRequest } from "./request.js";

/** `inputs` is field 2 of all six request messages (dify/app/v1/*.proto). */
const INPUTS_FIELD = 2;

/**
 * The service with requests decoded by the generated decoder except `inputs`, which `decodeStruct`
 * reads (see there why). Inputs the gateway refuses do not fail the decode, which grpc-js would
 * answer with a bare INTERNAL: they travel on in `inputsRejected`, and validation names the field.
 */
export function withInputsDecoder(service: ServiceDefinition, limits: () => InputsLimits = () => DEFAULT_INPUTS_LIMITS): ServiceDefinition {
  return Object.fromEntries(
    Object.entries(service).map(([name, method]) => [
      name,
      {
        ...method,
        requestDeserialize: (bytes: Buffer) => decodeRequest(bytes, (rest) => method.requestDeserialize(rest) as InvokeRequest, limits()),
      },
    ]),
  );
}

export function decodeRequest(
  bytes: Uint8Array,
  decodeGenerated: (rest: Buffer) => InvokeRequest,
  limits: InputsLimits = DEFAULT_INPUTS_LIMITS,
): InvokeRequest {
  const reader = new BinaryReader(bytes);
  const rest: Uint8Array[] = [];
  const inputs: Uint8Array[] = [];
  while (reader.pos < reader.len) {
    const start = reader.pos;
    const [field, wire] = reader.tag();
    if (field === INPUTS_FIELD && wire === WireType.LengthDelimited) inputs.push(reader.bytes());
    else {
      reader.skip(wire, field);
      rest.push(bytes.subarray(start, reader.pos));
    }
  }
  const request = decodeGenerated(Buffer.concat(rest));
  // A message field sent twice merges; for a map that is the entries of both, in order.
  if (inputs.length > 0) {
    try {
      request.inputs = decodeStruct(Buffer.concat(inputs), limits);
    } catch (err) {
      if (!(err instanceof InputsRejected)) throw err;
      request.inputs = undefined;
      request.inputsRejected = err;
    }
  }
  return request;
}
