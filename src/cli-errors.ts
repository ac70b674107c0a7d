import { createServer } from "node:net";
import { closest, distance } from "fastest-levenshtein";

/** An operator's mistake: one line saying what to fix, never a stack trace, and the exit code to end with. */
export class OperatorError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
    readonly showUsage = false,
  ) {
    super(message);
  }
}

/**
 * node:util parseArgs errors, reworded: `error: unknown option '--conifg' (did you mean --config?)`.
 * Anything else parseArgs throws is passed through unchanged.
 */
export function argumentError(err: unknown, known: string[]): unknown {
  const code = (err as { code?: string }).code;
  const message = (err as Error).message ?? "";
  if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
    const option = /'(-[^']*)'/.exec(message)?.[1] ?? message;
    const name = option.replace(/^-+/, "").split("=")[0] ?? "";
    const guess = name === "" ? undefined : closest(name, known);
    // Two edits catch transpositions and a dropped or doubled letter; farther guesses mislead.
    const hint = guess !== undefined && distance(name, guess) <= 2 ? ` (did you mean --${guess}?)` : "";
    return new OperatorError(`unknown option '${option}'${hint}`, 2, true);
  }
  if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE" || code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL")
    return new OperatorError(message.split("\n")[0] ?? message, 2, true);
  return err;
}

/** `host:port` → its parts, for a listen address as the config spells it. */
function splitListen(listen: string): { host: string; port: number } {
  const i = listen.lastIndexOf(":");
  return { host: listen.slice(0, i).replace(/^\[|\]$/g, ""), port: Number(listen.slice(i + 1)) };
}

/**
 * Fails with one line naming `setting` when something already listens on `listen`. Checked before the
 * gRPC bind because grpc-js logs its own multi-line error for a busy port before rejecting; a port taken
 * between this check and the bind still fails start-up, with the error of the bind.
 */
export async function ensurePortFree(listen: string, setting: string): Promise<void> {
  const { host, port } = splitListen(listen);
  if (port === 0) return;
  await new Promise<void>((resolve, reject) => {
    const probe = createServer();
    probe.once("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "EADDRINUSE")
        reject(new OperatorError(`${listen} is already in use: stop what listens there, or pick another port with ${setting}`));
      else if (err.code === "EADDRNOTAVAIL") reject(new OperatorError(`${listen} is not an address of this machine: fix ${setting}`));
      else if (err.code === "ENOTFOUND" || err.code === "EAI_AGAIN")
        reject(new OperatorError(`${listen}: the host name does not resolve: fix ${setting} (an address such as 0.0.0.0 or 127.0.0.1)`));
      else if (err.code === "EACCES")
        reject(new OperatorError(`${listen}: not allowed to listen there (ports below 1024 need privileges): fix ${setting}`));
      else resolve(); // let the real bind report anything else
    });
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve()));
  });
}
