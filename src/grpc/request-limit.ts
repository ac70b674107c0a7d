import type { ServiceDefinition } from "@grpc/grpc-js";

/**
 * `definition` whose methods do not decode a request message larger than `maxBytes`. For services whose requests
 * are small by nature (health, reflection): the server-wide limit (`server.maxReceiveMessageBytes`) is made for
 * Invoke requests, and a call holds its decoded message until the client ends its side. Such a message becomes
 * `tooLarge()` when given (a small stand-in the handler refuses with the field's own error), else the call ends
 * with grpc-js's INTERNAL for a message that does not decode. Nothing of it is kept either way.
 */
export function withRequestLimit(definition: ServiceDefinition, maxBytes: number, tooLarge?: () => unknown): ServiceDefinition {
  return Object.fromEntries(
    Object.entries(definition).map(([name, method]) => [
      name,
      {
        ...method,
        requestDeserialize: (bytes: Buffer) => {
          if (bytes.length > maxBytes) {
            if (tooLarge) return tooLarge();
            throw new RangeError(`a request of ${bytes.length} bytes; this service takes at most ${maxBytes}`);
          }
          return method.requestDeserialize(bytes);
        },
      },
    ]),
  );
}
