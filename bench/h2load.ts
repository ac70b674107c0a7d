/**
 * h2load (Debian nghttp2-client) drives the unary load: a grpc-js load generator saturates before the server
 * does. h2load counts HTTP 200 as success and ignores grpc-status, so `grpcStatus` checks one call with nghttp
 * first, and callers cross-check the simulator's request count.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { run } from "./procs.js";
import { percentile } from "./stats.js";

export interface Target {
  url: string;
  headers: string[];
  bodyFile: string;
  /** HTTP/1.1 instead of h2 (a direct call to Dify). */
  h1?: boolean;
}

export function grpcTarget(dir: string, name: string, address: string, path: string, frame: Buffer, token: string): Target {
  const bodyFile = join(dir, `${name}.body`);
  writeFileSync(bodyFile, frame);
  return {
    url: `http://${address}${path}`,
    headers: ["content-type: application/grpc", "te: trailers", `authorization: Bearer ${token}`],
    bodyFile,
  };
}

export interface LoadResult {
  requests: number;
  succeeded: number;
  rps: number;
  p50Us: number;
  p99Us: number;
}

/** `calls` requests over one connection with `concurrency` streams in flight (clients per host: -c). */
export async function h2load(t: Target, calls: number, concurrency: number, connections = 1, logDir?: string): Promise<LoadResult> {
  const log = logDir ? join(logDir, "h2load-requests.tsv") : undefined;
  const args = ["-n", String(calls), "-c", String(connections), "-m", String(Math.ceil(concurrency / connections)), "-d", t.bodyFile];
  for (const h of t.headers) args.push("-H", h);
  if (t.h1) args.push("--h1");
  if (log) args.push("--log-file", log);
  const out = await run("h2load", [...args, t.url]);
  const counts = /requests: (\d+) total, \d+ started, \d+ done, (\d+) succeeded/.exec(out);
  const finished = /finished in [\d.]+m?s, ([\d.]+) req\/s/.exec(out);
  if (!counts || !finished) throw new Error(`cannot read h2load's output:\n${out}`);
  // Per-request log: start (µs since epoch), HTTP status, µs to the end of the response.
  const durations = log
    ? readFileSync(log, "utf8")
        .trim()
        .split("\n")
        .map((l) => Number(l.split("\t")[2]))
    : [];
  return {
    requests: Number(counts[1]),
    succeeded: Number(counts[2]),
    rps: Number(finished[1]),
    p50Us: percentile(durations, 50),
    p99Us: percentile(durations, 99),
  };
}

/** The grpc-status of one call, as nghttp shows the trailers. */
export async function grpcStatus(t: Target): Promise<string> {
  const args = ["-v", "-d", t.bodyFile];
  for (const h of t.headers) args.push("-H", h);
  const out = await run("nghttp", [...args, t.url], 30_000);
  return /grpc-status: (\d+)/.exec(out)?.[1] ?? `none (nghttp output:\n${out})`;
}
