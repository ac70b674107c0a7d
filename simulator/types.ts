/** Public types of the Dify App API simulator. */

import type { AppMode } from "../src/config/schema.js";
import type { FormItem } from "./input-form.js";

/** The gateway's single list of Dify app modes (`GET /v1/info` `.mode`); a type-only import, so no gateway code runs here. */
export type { AppMode };

export interface SimulatorApp {
  appId: string;
  /** The app's API key (what clients send as `Authorization: Bearer <key>`). */
  key: string;
  mode: AppMode;
  name: string;
  /** The app's `user_input_form`; when absent, a small one by mode. */
  form?: readonly FormItem[];
  /** Workflow and Chatflow apps with Human Input nodes: the run pauses after its LLM node, `pauses` times in a row. */
  humanInput?: { pauses: number; emailOnly?: boolean };
  /** The LLM node separates its reasoning (`reasoning_format: separated`): `reasoning_chunk` events come first. */
  reasoning?: boolean;
}

export interface SimulatorOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (an ephemeral port). */
  port?: number;
  /** Default DEMO_APPS. */
  apps?: readonly SimulatorApp[];
  /** Delay before each generated delta event; default 0 (as fast as the socket takes it). */
  tokenDelayMs?: number;
  /** Keep-alive `event: ping` period on open streams; default 10000 like Dify; 0 disables them. */
  pingIntervalMs?: number;
  /**
   * End every SSE response with `Connection: close`, as a Dify without a keep-alive proxy may. Default false:
   * connections stay open across responses, as Dify behind its nginx keeps them. `_sim.connection` overrides it per run.
   */
  connectionClose?: boolean;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  /** Resolved from the bearer key; null when the key is missing or unknown. The key itself is never recorded. */
  appId: string | null;
  /** Every request header except `authorization`, names lower-cased. */
  headers: Record<string, string>;
  /** Parsed JSON body; the raw text when it is not JSON; null when empty. */
  body: unknown;
  /** Arrival time, ms since the epoch. */
  at: number;
  /** Streaming runs: data events handed to the socket so far. It stops growing while a slow reader holds the stream back. */
  eventsSent?: number;
}

export interface Simulator {
  /** Base URL including the `/v1` prefix, e.g. `http://127.0.0.1:PORT/v1`. */
  url: string;
  port: number;
  requests(): RecordedRequest[];
  /** Forgets the recorded requests. */
  reset(): void;
  /** Ends open streams and sockets, then stops listening. */
  close(): Promise<void>;
}
