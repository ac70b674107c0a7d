import {
  type ClientReadableStream,
  credentials,
  makeGenericClientConstructor,
  Server,
  ServerCredentials,
  type ServiceError,
  status,
} from "@grpc/grpc-js";
import { service as healthService } from "grpc-health-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HealthService, MAX_SERVICE_NAME_BYTES } from "../../src/server/health.js";
import { details } from "../helpers/grpc.js";

// The client is built from grpc-health-check's own proto, so these tests check wire compatibility too.
type Res = { status: string };
interface HealthClient {
  check(req: { service: string }, cb: (err: ServiceError | null, res: Res) => void): void;
  list(req: object, cb: (err: ServiceError | null, res: { statuses: Record<string, Res> }) => void): void;
  watch(req: { service: string }): ClientReadableStream<Res>;
  close(): void;
}
const Client = makeGenericClientConstructor(healthService, "Health");

let server: Server;
let client: HealthClient;
const health = new HealthService({ "": "SERVING", "svc.A": "SERVING", "svc.B": "UNKNOWN", liveness: "SERVING" });

beforeAll(async () => {
  server = new Server();
  health.addToServer(server);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  client = new Client(`127.0.0.1:${port}`, credentials.createInsecure()) as unknown as HealthClient;
});

afterAll(() => {
  client.close();
  server.forceShutdown();
});

const check = (service: string) =>
  new Promise<Res>((resolve, reject) => client.check({ service }, (err, res) => (err ? reject(err) : resolve(res))));

describe("grpc.health.v1.Health", () => {
  it("Check answers each service's status, and NOT_FOUND for an unknown one, without echoing the name", async () => {
    expect(await check("")).toEqual({ status: "SERVING" });
    expect(await check("svc.A")).toEqual({ status: "SERVING" });
    const err = (await check("svc.Nope").catch((e: unknown) => e)) as ServiceError;
    expect(err.code).toBe(status.NOT_FOUND);
    expect(err.details).toBe("service: no health status for this name");
    expect(details(err).errorInfo?.reason).toBe("HEALTH_SERVICE_UNKNOWN");
  });

  it("refuses a name over the cap with INVALID_ARGUMENT naming the field, without echoing it", async () => {
    // Exactly at the cap: looked up (and unknown). Over it, in ASCII or in two-byte characters: refused.
    expect(await check("x".repeat(MAX_SERVICE_NAME_BYTES)).catch((e: ServiceError) => e.code)).toBe(status.NOT_FOUND);
    for (const name of ["x".repeat(MAX_SERVICE_NAME_BYTES + 1), "é".repeat(MAX_SERVICE_NAME_BYTES / 2 + 1), "y".repeat(100_000)]) {
      const err = (await check(name).catch((e: unknown) => e)) as ServiceError;
      expect(err.code).toBe(status.INVALID_ARGUMENT);
      expect(err.details).toBe(`service: longer than ${MAX_SERVICE_NAME_BYTES} bytes`);
      expect(details(err).badRequest?.fieldViolations[0]?.field).toBe("service");
      const watched = await new Promise<ServiceError>((resolve) => client.watch({ service: name }).on("error", resolve));
      expect(watched.code).toBe(status.INVALID_ARGUMENT);
      expect(details(watched).badRequest?.fieldViolations[0]?.field).toBe("service");
    }
  });

  it("List answers every service with its status", async () => {
    const res = await new Promise<{ statuses: Record<string, Res> }>((resolve, reject) =>
      client.list({}, (err, r) => (err ? reject(err) : resolve(r))),
    );
    expect(res.statuses).toEqual({
      "": { status: "SERVING" },
      "svc.A": { status: "SERVING" },
      "svc.B": { status: "UNKNOWN" },
      liveness: { status: "SERVING" },
    });
  });

  it("Watch sends the current status, then each change; SERVICE_UNKNOWN for an unknown service, stream left open", async () => {
    const seen: string[] = [];
    const unknown: string[] = [];
    let unknownEnded = false;
    const stream = client.watch({ service: "svc.B" });
    const other = client.watch({ service: "svc.Nope" });
    other.on("data", (m: Res) => unknown.push(m.status));
    other.on("error", () => {});
    other.on("status", () => (unknownEnded = true));
    const first = new Promise<void>((resolve) => stream.once("data", () => resolve()));
    stream.on("data", (m: Res) => seen.push(m.status));
    stream.on("error", () => {});
    await first;
    health.setStatus("svc.B", "SERVING");
    health.setStatus("svc.B", "NOT_SERVING");
    await new Promise<void>((resolve) => {
      const poll = () => (seen.length >= 3 && unknown.length >= 1 ? resolve() : setTimeout(poll, 5));
      poll();
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(unknownEnded).toBe(false);
    stream.cancel();
    other.cancel();
    expect(seen).toEqual(["UNKNOWN", "SERVING", "NOT_SERVING"]);
    expect(unknown).toEqual(["SERVICE_UNKNOWN"]);
  });

  it("setStatus refuses a name the service was not built with (names are fixed, so unknown Watches need no state)", () => {
    expect(() => health.setStatus("svc.New", "SERVING")).toThrow(/not one of the names/);
  });

  it("setStatus changes what Check answers (NOT_SERVING on drain)", async () => {
    health.setStatus("svc.A", "NOT_SERVING");
    expect(await check("svc.A")).toEqual({ status: "NOT_SERVING" });
    expect(await check("liveness")).toEqual({ status: "SERVING" });
  });
});
