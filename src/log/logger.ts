import { pino, type DestinationStream, type Logger } from "pino";

/**
 * Paths that could carry a credential. Secrets are also wrapped in `Secret`,
 * which serializes as "[redacted]"; this is the second line of defence.
 */
const REDACT = [
  "authorization",
  "*.authorization",
  "headers.authorization",
  "*.headers.authorization",
  "metadata.authorization",
  "key",
  "*.key",
  "apiKey",
  "*.apiKey",
  "token",
  "*.token",
];

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: "dify-grpc-gateway" },
      redact: { paths: REDACT, censor: "[redacted]" },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}
