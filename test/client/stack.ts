import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type AppMode, DEMO_APPS, type RecordedRequest } from "../../simulator/index.js";
import { sha256 } from "../../src/auth/registry.js";
import { type GatewayProcess, type SimulatorProcess, startGatewayProcess, startSimulatorProcess } from "../helpers/processes.js";

export const CLIENT_TOKEN = "client-test-token-7c3e1a";

export interface ClientStack {
  sim: SimulatorProcess;
  gw: GatewayProcess;
  address: string;
  appId(mode: AppMode): string;
  stops(): Promise<RecordedRequest[]>;
  stop(): Promise<void>;
}

/**
 * Like test/helpers/stack.ts, with what the client tests need besides: demo apps left out of the
 * workspace (they exist in Dify, not for the caller) and TLS on the gateway.
 */
export async function startClientStack(
  opts: { simulatorArgs?: string[]; excludeModes?: AppMode[]; tls?: { certFile: string; keyFile: string } } = {},
): Promise<ClientStack> {
  const sim = await startSimulatorProcess(opts.simulatorArgs ?? []);
  const env: NodeJS.ProcessEnv = {};
  const apps = DEMO_APPS.filter((a) => !opts.excludeModes?.includes(a.mode)).map((a, i) => {
    env[`CLIENT_TEST_APP_KEY_${i}`] = a.key;
    return { appId: a.appId, key: { env: `CLIENT_TEST_APP_KEY_${i}` } };
  });
  let gw: GatewayProcess;
  try {
    gw = await startGatewayProcess(
      {
        server: { listen: "127.0.0.1:0", ...(opts.tls ? { tls: opts.tls } : {}) },
        workspaces: [
          {
            id: "ws-client",
            difyBaseUrl: sim.url,
            defaultUser: "ws-default-user",
            tokens: [{ sha256: sha256(CLIENT_TOKEN).toString("hex") }],
            apps,
          },
        ],
      },
      env,
    );
  } catch (err) {
    await sim.proc.stop();
    throw err;
  }
  return {
    sim,
    gw,
    address: gw.address,
    appId(mode) {
      const app = DEMO_APPS.find((a) => a.mode === mode);
      if (!app) throw new Error(`no demo app of mode ${mode}`);
      return app.appId;
    },
    async stops() {
      return (await sim.requests()).filter((r) => r.path.endsWith("/stop"));
    },
    async stop() {
      await gw.proc.stop();
      await sim.proc.stop();
    },
  };
}

/** A throwaway certificate for 127.0.0.1 and its key, made with openssl (scripts/system-deps.sh). */
export function selfSignedCertificate(): { certFile: string; keyFile: string; cert: Buffer; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), "client-tls-"));
  const certFile = join(dir, "cert.pem");
  const keyFile = join(dir, "key.pem");
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      keyFile,
      "-out",
      certFile,
      "-days",
      "1",
      "-subj",
      "/CN=127.0.0.1",
      "-addext",
      "subjectAltName=IP:127.0.0.1",
    ],
    { stdio: "pipe" },
  );
  return { certFile, keyFile, cert: readFileSync(certFile), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
