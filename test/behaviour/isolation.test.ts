import { credentials, Metadata, type ServiceError, status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AppMode, DEMO_APPS } from "../../simulator/index.js";
import { sha256 } from "../../src/auth/registry.js";
import { TestCa } from "../helpers/certs.js";
import { bearer, clients, collect, details, healthCheck, unary } from "../helpers/grpc.js";
import { type InProcessGateway, type InProcessSimulator, startInProcessGateway, startInProcessSimulator } from "../helpers/in-process.js";

/*
 * Three workspaces on one gateway. alpha and beta share a Dify; gamma has its own.
 * alpha and beta both configure SHARED, each with a different app's key.
 */
const demo = (mode: AppMode) => DEMO_APPS.find((a) => a.mode === mode)!;
const SHARED = demo("advanced-chat").appId;
const UNKNOWN = "f0000000-0000-4000-8000-00000000dead";
const GAMMA_SPIFFE = "spiffe://test.local/ns/plugins/sa/gamma";

interface Caller {
  ws: string;
  token: string;
  /** app_id → the demo app whose key the workspace configures for it. */
  apps: Record<string, AppMode>;
}
const CALLERS: Caller[] = [
  {
    ws: "alpha",
    token: "tok-alpha-6f1d0c9b8a7e6d5c",
    apps: { [demo("chat").appId]: "chat", [demo("workflow").appId]: "workflow", [SHARED]: "advanced-chat" },
  },
  { ws: "beta", token: "tok-beta-2b3c4d5e6f7a8b9c", apps: { [demo("completion").appId]: "completion", [SHARED]: "chat" } },
  { ws: "gamma", token: "tok-gamma-9e8d7c6b5a4f3e2d", apps: { [demo("agent-chat").appId]: "agent-chat", [demo("agent").appId]: "agent" } },
];
const ALL_APP_IDS = [...new Set(CALLERS.flatMap((c) => Object.keys(c.apps))), UNKNOWN];

// One demo app per mode (later apps, such as the form workflow and the Human Input apps, share a mode).
const env: NodeJS.ProcessEnv = Object.fromEntries(
  DEMO_APPS.filter((a) => demo(a.mode) === a).map((a) => [`KEY_${a.mode.replace("-", "_").toUpperCase()}`, a.key]),
);
const keyRef = (mode: AppMode) => ({ env: `KEY_${mode.replace("-", "_").toUpperCase()}` });

function configDoc(sims: { shared: string; gamma: string }, extra: { auth?: unknown; server?: Record<string, unknown> }) {
  return {
    server: { listen: "127.0.0.1:0", ...extra.server },
    auth: extra.auth,
    log: { level: "debug" },
    workspaces: CALLERS.map((c) => ({
      id: c.ws,
      difyBaseUrl: c.ws === "gamma" ? sims.gamma : sims.shared,
      defaultUser: `${c.ws}-user`,
      tokens: [{ sha256: sha256(c.token).toString("hex") }],
      spiffeIds: c.ws === "gamma" ? [GAMMA_SPIFFE] : [],
      apps: Object.entries(c.apps).map(([appId, mode]) => ({ appId, key: keyRef(mode) })),
    })),
  };
}

let simShared: InProcessSimulator;
let simGamma: InProcessSimulator;
let gw: InProcessGateway;
let c: ReturnType<typeof clients>;

beforeAll(async () => {
  [simShared, simGamma] = await Promise.all([startInProcessSimulator(), startInProcessSimulator()]);
  gw = await startInProcessGateway(configDoc({ shared: simShared.url, gamma: simGamma.url }, { auth: { xfcc: { enabled: true } } }), env);
  c = clients(gw.address);
});
afterAll(async () => {
  c?.close();
  await gw?.close();
  await Promise.all([simShared?.close(), simGamma?.close()]);
});

const expectFailure = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error("expected the call to fail");
    },
    (err: ServiceError) => err,
  );

/** The unary RPC of the interface that fits an app of this mode. */
function invoke(client: ReturnType<typeof clients>, appId: string, mode: AppMode | undefined, md: Metadata) {
  if (mode === "workflow")
    return unary(client.workflow.workflowInvoke, client.workflow, { appId, inputs: { topic: "isolation" }, files: [], user: "" }, md);
  if (mode === "completion")
    return unary(client.completion.completionInvoke, client.completion, { appId, inputs: { query: "isolation" }, files: [], user: "" }, md);
  return unary(client.chat.chatInvoke, client.chat, { appId, query: "isolation", inputs: {}, files: [], user: "", conversationId: "" }, md);
}

const RUN_ID = "0c0ffee0-0000-4000-8000-000000000001";

/** Each RunService RPC for `appId`, with a well-formed run id or form token. */
function runServiceCalls(appId: string): ((md: Metadata) => Promise<unknown>)[] {
  const r = c.run;
  return [
    (md) =>
      collect(r.watchRun({ appId, workflowRunId: RUN_ID, user: "", includeStateSnapshot: false, continueOnPause: false }, md)).then((s) => {
        if (s.error) throw s.error;
        return s;
      }),
    (md) => unary(r.getWorkflowRun, r, { appId, workflowRunId: RUN_ID }, md),
    (md) => unary(r.getHumanInputForm, r, { appId, formToken: "tok_0123" }, md),
    (md) => unary(r.submitHumanInputForm, r, { appId, formToken: "tok_0123", inputs: { comment: "x" }, action: "approve", user: "" }, md),
  ];
}

const notFoundShape = (err: ServiceError, appId: string) => ({
  code: err.code,
  details: err.details.replace(appId, "<app>"),
  errorInfo: { ...details(err).errorInfo, metadata: { ...details(err).errorInfo?.metadata, appId: "<app>" } },
});

describe("every caller × every app", () => {
  for (const caller of CALLERS) {
    for (const appId of ALL_APP_IDS) {
      const own = caller.apps[appId];
      if (own) {
        it(`${caller.ws} reaches its own ${own} app ${appId.slice(-4)} with its own key on its own Dify`, async () => {
          const sim = caller.ws === "gamma" ? simGamma : simShared;
          await sim.reset();
          await invoke(c, appId, own, bearer(caller.token));
          const runs = await sim.runs();
          expect(runs).toHaveLength(1);
          // The simulator resolves the app from the key it received: this proves which key was sent.
          expect(runs[0]!.appId).toBe(demo(own).appId);
          expect((runs[0]!.body as { user: string }).user).toBe(`${caller.ws}-user`);
        });
      } else {
        it(`${caller.ws} gets NOT_FOUND for ${appId === UNKNOWN ? "an unknown" : "a foreign"} app ${appId.slice(-4)}, as if it existed nowhere, with no upstream request`, async () => {
          await Promise.all([simShared.reset(), simGamma.reset()]);
          const unknown = await expectFailure(invoke(c, UNKNOWN, "chat", bearer(caller.token)));
          for (const mode of ["chat", "workflow", "completion"] as const) {
            const err = await expectFailure(invoke(c, appId, mode, bearer(caller.token)));
            expect(err.code).toBe(status.NOT_FOUND);
            expect(details(err).errorInfo?.reason).toBe("APP_NOT_FOUND");
            expect(notFoundShape(err, appId)).toEqual(notFoundShape(unknown, UNKNOWN));
          }
          const stream = await collect(
            c.chat.chatInvokeStream({ appId, query: "q", inputs: {}, files: [], user: "", conversationId: "" }, bearer(caller.token)),
          );
          expect(stream.messages).toHaveLength(0);
          expect(stream.error?.code).toBe(status.NOT_FOUND);
          // RunService: the same NOT_FOUND for every RPC, and not one request of any kind reaches a Dify.
          for (const call of runServiceCalls(appId)) {
            const err = await expectFailure(call(bearer(caller.token)));
            expect(details(err).errorInfo?.reason).toBe("APP_NOT_FOUND");
            expect(notFoundShape(err, appId)).toEqual(notFoundShape(unknown, UNKNOWN));
          }
          expect([...(await simShared.requests()), ...(await simGamma.requests())]).toEqual([]);
        });
      }
    }
  }

  it("a secret pasted into app_id (the caller's token, an app key, a UUID-shaped token) is not echoed in the status or the log", async () => {
    const token = "tok-delta-5a6b7c8d9e0f1a2b";
    const uuidToken = "0badc0de-0000-4000-8000-00000000beef";
    const g = await startInProcessGateway(
      {
        workspaces: [
          {
            id: "delta",
            difyBaseUrl: simShared.url,
            tokens: [{ sha256: sha256(token).toString("hex") }, { sha256: sha256(uuidToken).toString("hex") }],
            apps: [{ appId: demo("chat").appId, key: keyRef("chat") }],
          },
        ],
      },
      env,
    );
    const k = clients(g.address);
    const secrets = [token, uuidToken, env.KEY_CHAT as string];
    for (const secret of secrets) {
      const err = await expectFailure(invoke(k, secret, "chat", bearer(token)));
      expect(err.code).toBe(status.NOT_FOUND);
      expect(err.details).toBe('app "(not shown: neither an app of this workspace nor a UUID)" not found');
      expect(JSON.stringify(details(err))).not.toContain(secret);
    }
    // A UUID that is no secret is shown, as the id the caller asked for.
    const err = await expectFailure(invoke(k, UNKNOWN, "chat", bearer(token)));
    expect(err.details).toBe(`app "${UNKNOWN}" not found`);
    k.close();
    const logged = JSON.stringify(g.logs());
    await g.close();
    for (const secret of secrets) expect(logged).not.toContain(secret);
    expect(logged).toContain(UNKNOWN);
  });

  it("the two workspaces sharing an app_id each reach their own app", async () => {
    await simShared.reset();
    const a = (await invoke(c, SHARED, undefined, bearer(CALLERS[0]!.token))) as { mode: string };
    const b = (await invoke(c, SHARED, undefined, bearer(CALLERS[1]!.token))) as { mode: string };
    expect([a.mode, b.mode]).toEqual(["advanced-chat", "chat"]);
  });
});

describe("authentication", () => {
  const chatApp = demo("chat").appId;
  const cases: [string, Metadata][] = [
    ["no credentials", new Metadata()],
    ["a token without the Bearer scheme", md({ authorization: CALLERS[0]!.token })],
    ["Basic credentials", md({ authorization: `Basic ${Buffer.from(`x:${CALLERS[0]!.token}`).toString("base64")}` })],
    ["an empty Bearer", md({ authorization: "Bearer " })],
    ["a wrong token", bearer("tok-alpha-6f1d0c9b8a7e6d5d")],
    ["the token's hash instead of the token", bearer(sha256(CALLERS[0]!.token).toString("hex"))],
  ];
  let rejection: string | undefined;
  for (const [name, metadata] of cases) {
    it(`${name} → UNAUTHENTICATED, with the one message that says nothing about the token`, async () => {
      await simShared.reset();
      const err = await expectFailure(invoke(c, chatApp, "chat", metadata));
      expect(err.code).toBe(status.UNAUTHENTICATED);
      rejection ??= err.details;
      expect(err.details).toBe(rejection);
      // Like every status: google.rpc details with an ErrorInfo, and nothing more that could tell tokens apart.
      const sent = details(err);
      expect(sent.errorInfo).toEqual({ reason: "UNAUTHENTICATED", domain: "dify-grpc-gateway", metadata: {} });
      expect(sent.status?.details).toHaveLength(1);
      expect(await simShared.runs()).toEqual([]);
    });
  }

  it("a client-sent workspace claim changes nothing", async () => {
    const claims = md({ "x-workspace-id": "beta", "x-dify-workspace": "beta", "x-tenant-id": "beta" });
    claims.set("authorization", `Bearer ${CALLERS[0]!.token}`);
    const err = await expectFailure(invoke(c, demo("completion").appId, "completion", claims));
    expect(err.code).toBe(status.NOT_FOUND);
  });

  it("health needs no credentials", async () => {
    expect(await healthCheck(gw.address)).toBe("SERVING");
    expect(await healthCheck(gw.address, "dify.app.v1.ChatService")).toBe("SERVING");
  });
});

describe("x-forwarded-client-cert, trusted (auth.xfcc.enabled)", () => {
  const gammaApp = demo("agent-chat").appId;
  const xfcc = (uri: string) => md({ "x-forwarded-client-cert": `By=spiffe://test.local/ns/gw/sa/gateway;Hash=ab12;URI=${uri}` });

  it("maps the SPIFFE ID to its workspace", async () => {
    const res = (await invoke(c, gammaApp, "agent-chat", xfcc(GAMMA_SPIFFE))) as { mode: string };
    expect(res.mode).toBe("agent-chat");
  });

  it("still confines the mesh caller to its workspace", async () => {
    const err = await expectFailure(invoke(c, demo("chat").appId, "chat", xfcc(GAMMA_SPIFFE)));
    expect(err.code).toBe(status.NOT_FOUND);
  });

  it("trusts only the element our sidecar appended last", async () => {
    const forged = md({
      "x-forwarded-client-cert": `URI=${GAMMA_SPIFFE},By=spiffe://test.local/ns/gw/sa/gateway;URI=spiffe://test.local/ns/other/sa/x`,
    });
    expect((await expectFailure(invoke(c, gammaApp, "agent-chat", forged))).code).toBe(status.UNAUTHENTICATED);
  });

  it("rejects a token and a mesh identity of different workspaces", async () => {
    const both = xfcc(GAMMA_SPIFFE);
    both.set("authorization", `Bearer ${CALLERS[0]!.token}`);
    expect((await expectFailure(invoke(c, demo("chat").appId, "chat", both))).code).toBe(status.UNAUTHENTICATED);
  });
});

describe("mTLS with the XFCC header off", () => {
  const ca = new TestCa();
  const server = ca.server();
  const gammaCert = ca.client("gamma", GAMMA_SPIFFE);
  const strangerCert = ca.client("stranger", "spiffe://test.local/ns/other/sa/stranger");
  let tlsGw: InProcessGateway;
  const tlsClients = (client: { cert: Buffer; key: Buffer } | undefined) =>
    clients(tlsGw.address, credentials.createSsl(ca.ca.cert, client?.key ?? null, client?.cert ?? null));

  beforeAll(async () => {
    const doc = configDoc(
      { shared: simShared.url, gamma: simGamma.url },
      { server: { tls: { certFile: server.certFile, keyFile: server.keyFile, clientCaFile: ca.ca.certFile } } },
    );
    tlsGw = await startInProcessGateway(doc, env);
  });
  afterAll(async () => {
    await tlsGw?.close();
  });

  it("maps the client certificate's SPIFFE ID to its workspace", async () => {
    const tc = tlsClients(gammaCert);
    const res = (await invoke(tc, demo("agent-chat").appId, "agent-chat", new Metadata())) as { mode: string };
    tc.close();
    expect(res.mode).toBe("agent-chat");
  });

  it("ignores an x-forwarded-client-cert header", async () => {
    const tc = tlsClients(strangerCert);
    const err = await expectFailure(
      invoke(tc, demo("agent-chat").appId, "agent-chat", md({ "x-forwarded-client-cert": `URI=${GAMMA_SPIFFE}` })),
    );
    const viaToken = await invoke(tc, demo("chat").appId, "chat", bearer(CALLERS[0]!.token));
    tc.close();
    expect(err.code).toBe(status.UNAUTHENTICATED);
    expect(viaToken).toBeDefined();
  });

  it("refuses a connection without a client certificate", async () => {
    const tc = tlsClients(undefined);
    const err = await expectFailure(invoke(tc, demo("chat").appId, "chat", bearer(CALLERS[0]!.token)));
    tc.close();
    expect(err.code).toBe(status.UNAVAILABLE);
  });
});

function md(entries: Record<string, string>): Metadata {
  const m = new Metadata();
  for (const [k, v] of Object.entries(entries)) m.set(k, v);
  return m;
}
