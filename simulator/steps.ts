/**
 * A run is an async sequence of Steps. The same sequence feeds the SSE writer (streaming) and the blocking
 * collector, just as Dify's blocking responses are built by consuming the task pipeline's stream.
 */
import { errorEvent, messageReplaceEvent, type SimEvent } from "./events.js";
import type { Run } from "./run.js";

export type Step =
  | { kind: "event"; event: SimEvent }
  /** `event: ping` with no data line. */
  | { kind: "ping" }
  /** Bytes written as they are (malformed frames). */
  | { kind: "raw"; text: string }
  /** Send nothing more, not even pings, and keep the socket until the client leaves. */
  | { kind: "silence" }
  /** Send only pings at this period until the client leaves. */
  | { kind: "pings_forever"; everyMs: number }
  /** Keep the socket open and quiet for a while, then end the response. */
  | { kind: "hold_then_end"; ms: number }
  /** End the response cleanly without a terminal event. */
  | { kind: "end" }
  /** Destroy the socket. */
  | { kind: "reset" };

/** How the delta phase ended, which decides the terminal events a script sends. */
export type PhaseOutcome =
  | { kind: "completed" }
  /** Stop API (or `_sim` workflow_stopped). */
  | { kind: "stopped" }
  | { kind: "failed"; error: string }
  | { kind: "paused" }
  /** Nothing more may be sent: the client left, or a transport fault already ended the stream. */
  | { kind: "abandoned" };

export interface PhaseResult {
  outcome: PhaseOutcome;
  /** The answer as a client should see it (replacements applied). */
  answer: string;
  /** Delta events sent. */
  deltas: number;
}

/**
 * Streams `run.tokens` as delta events built by `deltaEvent`, pausing `run.delayMs` before each, honouring the stop
 * flag, and firing the request's mid-stream fault once `after` deltas are out.
 */
export async function* deltaPhase(run: Run, deltaEvent: (text: string) => SimEvent): AsyncGenerator<Step, PhaseResult> {
  const fault = run.directives.fault;
  const midStream = fault && "after" in fault ? fault : null;
  const faultAt = midStream ? Math.min(midStream.after, run.tokens.length) : -1;
  let answer = "";
  let deltas = 0;
  const result = (outcome: PhaseOutcome): PhaseResult => ({ outcome, answer, deltas });

  for (let index = 0; ; index++) {
    if (midStream && index === faultAt) {
      switch (midStream.kind) {
        case "error_event":
          yield { kind: "event", event: errorEvent(run, midStream) };
          yield { kind: "hold_then_end", ms: midStream.holdMs };
          return result({ kind: "abandoned" });
        case "silent":
          yield { kind: "silence" };
          return result({ kind: "abandoned" });
        case "no_terminal":
          yield { kind: "end" };
          return result({ kind: "abandoned" });
        case "reset":
          yield { kind: "reset" };
          return result({ kind: "abandoned" });
        case "workflow_failed":
          return result({ kind: "failed", error: midStream.error });
        case "workflow_stopped":
          return result({ kind: "stopped" });
        case "workflow_paused":
          return result({ kind: "paused" });
        case "message_replace":
          answer = midStream.answer;
          yield { kind: "event", event: messageReplaceEvent(run, midStream.answer, midStream.reason) };
          break;
        case "malformed_json":
          yield { kind: "raw", text: "data: {not json\n\n" };
          break;
        case "no_data_prefix":
          // A whole event without its `data: ` prefix; a conforming SSE parser ignores it.
          yield { kind: "raw", text: `${JSON.stringify(deltaEvent("[unframed]"))}\n\n` };
          break;
      }
    }
    if (index >= run.tokens.length) return result({ kind: "completed" });
    await run.control.pause(run.delayMs);
    if (run.control.abandoned) return result({ kind: "abandoned" });
    if (run.control.stopped) return result({ kind: "stopped" });
    const token = run.tokens[index] ?? "";
    answer += token;
    deltas++;
    yield { kind: "event", event: deltaEvent(token) };
  }
}

export const PING: Step = { kind: "ping" };

export function eventStep(event: SimEvent): Step {
  return { kind: "event", event };
}
