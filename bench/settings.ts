/** How much each case does: the full run (≥ 5 rounds, enough calls for 100 Hz CPU ticks) or the seconds-long smoke. */
export interface Settings {
  rounds: number;
  unary: { warmupCalls: number; calls: number; concurrency: number; connections: number };
  latency: { concurrencies: number[]; calls: (concurrency: number) => number };
  streaming: { events: number[] };
  slowReaders: {
    streams: number;
    events: number;
    produceDelayMs: number;
    readIntervalMs: number;
    durationMs: number;
    t1Ms: number;
    t2Ms: number;
    /** Deltas of this many bytes from Dify's pre-encoded producer (simulator/README.md). */
    answerBytes: number;
  };
  /** Streams whose readers keep up: each point is STREAMS at one event per DELAY_MS. */
  memory: { points: { streams: number; delayMs: number }[]; settleMs: number; windowMs: number };
  coldStartRounds: number;
}

export const FULL: Settings = {
  rounds: 5,
  // 4,000 calls at ~300 µs is ~120 ticks of CPU per process and round: ±1 tick is < 1 %.
  unary: { warmupCalls: 2_000, calls: 4_000, concurrency: 64, connections: 4 },
  latency: { concurrencies: [1, 16, 64], calls: (c) => (c === 1 ? 1_000 : 2_000) },
  streaming: { events: [1_000, 10_000] },
  // Dify produces 50 events/s per stream (20 ms apart); readers take one every 200 ms: 10x slower.
  // Pre-encoded 1 KiB deltas; 100,000 events is never reached.
  slowReaders: {
    streams: 1_000,
    events: 100_000,
    produceDelayMs: 20,
    readIntervalMs: 200,
    // Loopback's autotuned socket buffers take ~700 KB per connection before Dify's writes block (seen with
    // `ss`: ~560 KB in the simulator's send queue, ~130 KB in the gateway's receive queue); at the ~20 KB/s a
    // stream's Dify can write meanwhile that is ~35 s. The window starts after it.
    durationMs: 90_000,
    t1Ms: 60_000,
    t2Ms: 85_000,
    answerBytes: 1024,
  },
  // 10 events/s per stream at 100 and 1,000 streams; 1 event/s at 10,000 (an agent waiting on its tools).
  memory: {
    points: [
      { streams: 100, delayMs: 100 },
      { streams: 1_000, delayMs: 100 },
      { streams: 10_000, delayMs: 1_000 },
    ],
    settleMs: 5_000,
    windowMs: 15_000,
  },
  coldStartRounds: 5,
};

export const SMOKE: Settings = {
  rounds: 1,
  unary: { warmupCalls: 20, calls: 100, concurrency: 8, connections: 1 },
  latency: { concurrencies: [1], calls: () => 30 },
  streaming: { events: [100] },
  slowReaders: {
    streams: 20,
    events: 1_000,
    produceDelayMs: 20,
    readIntervalMs: 200,
    durationMs: 3_000,
    t1Ms: 1_500,
    t2Ms: 2_500,
    answerBytes: 1024,
  },
  memory: { points: [{ streams: 20, delayMs: 100 }], settleMs: 500, windowMs: 1_500 },
  coldStartRounds: 1,
};
