import { connect as tcpConnect } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { credentials } from "@grpc/grpc-js";
import { afterAll, beforeAll, expect, it } from "vitest";
import { DEMO_APPS } from "../../simulator/index.js";
import { sha256 } from "../../src/auth/registry.js";
import { selfSignedCertificate } from "../client/stack.js";
import { bearer, clients, unary } from "../helpers/grpc.js";
import { type GatewayProcess, type SimulatorProcess, startGatewayProcess, startSimulatorProcess } from "../helpers/processes.js";

/*
 * The preface timer with TLS: the HTTP/2 session appears only after the handshake, on a TLS socket, and
 * must still clear the timer of its TCP socket; sockets silent before or after the handshake are closed.
 */
const TOKEN = "tok-tls-preface-3e9a1c";
const PREFACE_TIMEOUT_MS = 1_000;
const completion = DEMO_APPS.find((a) => a.mode === "completion")!;
let tls: ReturnType<typeof selfSignedCertificate>;
let sim: SimulatorProcess;
let gw: GatewayProcess;
beforeAll(async () => {
  tls = selfSignedCertificate();
  sim = await startSimulatorProcess();
  gw = await startGatewayProcess(
    {
      server: { listen: "127.0.0.1:0", prefaceTimeoutMs: PREFACE_TIMEOUT_MS, tls: { certFile: tls.certFile, keyFile: tls.keyFile } },
      log: { level: "debug" },
      workspaces: [
        {
          id: "acme",
          difyBaseUrl: sim.url,
          tokens: [{ sha256: sha256(TOKEN).toString("hex") }],
          apps: [{ appId: completion.appId, key: { env: "K" }, mode: "completion" }],
        },
      ],
    },
    { K: completion.key },
  );
});
afterAll(async () => {
  await gw?.proc.stop();
  await sim?.proc.stop();
  tls?.cleanup();
});

const closedWithin = (s: { once(ev: "close", f: () => void): unknown }, ms: number) =>
  Promise.race([new Promise<boolean>((r) => s.once("close", () => r(true))), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);

it("a TLS connection that speaks HTTP/2 outlives the preface timeout; silent ones, before or after the handshake, do not", async () => {
  const c = clients(gw.address, credentials.createSsl(tls.cert));
  const req = { appId: completion.appId, inputs: { query: "x" }, files: [], user: "" };
  try {
    expect((await unary(c.completion.completionInvoke, c.completion, req, bearer(TOKEN))).answer).toBeTruthy();
    await new Promise((r) => setTimeout(r, PREFACE_TIMEOUT_MS * 2.5));
    expect((await unary(c.completion.completionInvoke, c.completion, req, bearer(TOKEN))).answer).toBeTruthy();
    // The first connection was not cut: no preface-timeout line at all so far.
    expect(gw.proc.lines.some((l) => l.includes("no HTTP/2 preface in time"))).toBe(false);
  } finally {
    c.close();
  }

  const [host, port] = gw.address.split(":");
  const silentTcp = tcpConnect(Number(port), host!);
  silentTcp.on("error", () => {});
  silentTcp.resume();
  const handshakeOnly = tlsConnect({ host, port: Number(port), ca: tls.cert, ALPNProtocols: ["h2"], servername: "127.0.0.1" });
  handshakeOnly.on("error", () => {});
  handshakeOnly.resume();
  await new Promise<void>((r) => handshakeOnly.once("secureConnect", () => r()));
  const [a, b] = await Promise.all([
    closedWithin(silentTcp, PREFACE_TIMEOUT_MS + 5_000),
    closedWithin(handshakeOnly, PREFACE_TIMEOUT_MS + 5_000),
  ]);
  expect({ silentTcp: a, handshakeOnly: b }).toEqual({ silentTcp: true, handshakeOnly: true });
});
