import { pino } from "pino";

/**
 * Log bytes held for stdout while its reader is slower than the log (a stalled log shipper): about 10,000 lines.
 * Past it, lines are dropped and counted (`dify_gateway_log_lines_dropped_total`), and the gateway goes on serving.
 */
export const LOG_BUFFER_BYTES = 4 * 1024 * 1024;

/** At exit, how long the buffered lines get to reach stdout; part of the shutdown's grace + 2 s. */
export const LOG_FLUSH_MS = 250;

export interface StdoutLog {
  /** pino's destination: asynchronous writes, so a log reader that stops reading never blocks the event loop. */
  readonly stream: ReturnType<typeof pino.destination>;
  /** Called for each line dropped because `maxBytes` were already waiting. */
  onDrop(listener: () => void): void;
  /**
   * Exits the process with `code` once the buffered lines are written, or stdout is found broken, or after `ms`.
   * pino's own exit hook writes what is left synchronously and, on sonic-boom 4, retries a broken pipe (EPIPE)
   * every 100 ms forever and blocks on a full one: a gateway whose log reader had gone never exited on SIGTERM.
   * Past `ms` the lines left are given up instead.
   */
  exit(code: number, ms?: number): void;
}

/** JSON log lines to `dest` (stdout by default), bounded by `maxBytes` while the reader lags. */
export function stdoutLog(
  dest: number | string = 1,
  maxBytes = LOG_BUFFER_BYTES,
  exitProcess: (code: number) => void = (code) => process.exit(code),
): StdoutLog {
  const stream = pino.destination({ dest, sync: false, maxLength: maxBytes });
  // Set on EPIPE (the reader closed its end): pino has then made the stream's writes and flushes no-ops.
  let broken = false;
  let exiting = false;
  stream.on("error", () => {
    broken = true;
  });
  return {
    stream,
    onDrop: (listener) => void stream.on("drop", listener),
    exit(code, ms = LOG_FLUSH_MS) {
      if (exiting) return;
      exiting = true;
      // Exits from the event itself: a line logged after the stream closed would throw (sonic-boom: "destroyed").
      const now = () => exitProcess(code);
      if (broken) return void now();
      stream.once("close", now);
      stream.once("error", now);
      setTimeout(() => {
        // The exit hook would block on what is left; a log reader that far behind loses it.
        stream.flushSync = () => {};
        now();
      }, ms);
      stream.end();
    },
  };
}
