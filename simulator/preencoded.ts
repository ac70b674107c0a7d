/**
 * `_sim.producer: "preencoded"`: a producer cheap enough that one simulator process can feed thousands of
 * streams at 50 events/s each, so the bench's slow-reader case measures the gateway and not the simulator's
 * CPU. Every delta of a run is the same frame, encoded once; runs of the same pace share one timer, and each
 * tick writes one frame to every run whose socket is not backed up. A run whose reader is behind skips the
 * tick (it owes nothing later): the producer never buffers, and it is paced by its timer, not by the machine,
 * until the gateway stops reading.
 */
import type { ServerResponse } from "node:http";
import { answerEvent, messageEndEvent } from "./events.js";
import type { Run } from "./run.js";
import { dataFrame, writeSseHead } from "./sse.js";

interface Ticker {
  timer: NodeJS.Timeout;
  runs: Set<() => void>;
}

const tickers = new Map<number, Ticker>();

/** Calls `onTick` every `ms` from a timer shared with every other run of that pace; returns the unsubscribe. */
function everyTick(ms: number, onTick: () => void): () => void {
  let ticker = tickers.get(ms);
  if (!ticker) {
    const runs = new Set<() => void>();
    ticker = { runs, timer: setInterval(() => runs.forEach((tick) => tick()), ms) };
    tickers.set(ms, ticker);
  }
  ticker.runs.add(onTick);
  const t = ticker;
  return () => {
    t.runs.delete(onTick);
    if (t.runs.size === 0 && tickers.get(ms) === t) {
      clearInterval(t.timer);
      tickers.delete(ms);
    }
  };
}

export function streamPreencoded(
  res: ServerResponse,
  run: Run,
  options: { signal: AbortSignal; connectionClose: boolean; onEvent?: (() => void) | undefined },
): Promise<void> {
  const events = run.directives.events ?? 0;
  const answer = "w".repeat(run.directives.answerBytes ?? 2);
  const delta = Buffer.from(dataFrame(answerEvent(run, "message", answer)));
  writeSseHead(res, options.connectionClose);
  return new Promise<void>((resolve) => {
    let sent = 0;
    const finish = () => {
      stop();
      options.signal.removeEventListener("abort", finish);
      resolve();
    };
    const tick = () => {
      if (res.destroyed || res.writableEnded) return finish();
      if (sent < events && !run.control.stopped) {
        if (res.writableNeedDrain) return;
        res.write(delta);
        sent++;
        options.onEvent?.();
        if (sent < events) return;
      }
      res.end(dataFrame(messageEndEvent(run, sent)));
      options.onEvent?.();
      finish();
    };
    const stop = everyTick(Math.max(1, run.delayMs), tick);
    options.signal.addEventListener("abort", finish, { once: true });
  });
}
