import { type ServiceError, status } from "@grpc/grpc-js";
import { Ajv2020 } from "ajv/dist/2020.js";
import fc from "fast-check";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_APPS } from "../../simulator/index.js";
import { sha256 } from "../../src/auth/registry.js";
import { demoWorkspaceConfig, TOKEN } from "../helpers/demo-workspace.js";
import { bearer, clients, details, unary } from "../helpers/grpc.js";
import { type InProcessGateway, type InProcessSimulator, startInProcessGateway, startInProcessSimulator } from "../helpers/in-process.js";

/*
 * AppService against the simulator: the caller's apps only, Dify's /info and /parameters, and an input schema that
 * agrees with the run endpoint on which inputs it takes (ajv on fast-check-generated inputs).
 */

const OTHER_TOKEN = "tok-other-apps-7a6b5c4d";
const FOREIGN_APP = "f0ee0000-0000-4000-8000-0000000a9905";
const FORM_APP = DEMO_APPS.find((a) => a.form)!;

let sim: InProcessSimulator;
let gw: InProcessGateway;
let c: ReturnType<typeof clients>;
const md = () => bearer(TOKEN);

beforeAll(async () => {
  sim = await startInProcessSimulator();
  const { config, env } = demoWorkspaceConfig(sim.url, {});
  (config.workspaces as Record<string, unknown>[]).push({
    id: "ws-other",
    difyBaseUrl: sim.url,
    tokens: [{ sha256: sha256(OTHER_TOKEN).toString("hex") }],
    apps: [{ appId: FOREIGN_APP, key: { env: "TEST_APP_KEY_0" } }],
  });
  gw = await startInProcessGateway(config, env);
  c = clients(gw.address);
});
afterAll(async () => {
  c?.close();
  await gw?.close();
  await sim?.close();
});

const failure = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error("expected the call to fail");
    },
    (err: ServiceError) => err,
  );

describe("ListApps", () => {
  it("lists the caller's workspace's apps only, with Dify's names and modes", async () => {
    const res = await unary(c.apps.listApps, c.apps, {}, md());
    expect(res.apps).toEqual(DEMO_APPS.map((a) => ({ appId: a.appId, mode: a.mode, name: a.name })));
    const other = await unary(c.apps.listApps, c.apps, {}, bearer(OTHER_TOKEN));
    expect(other.apps.map((a) => a.appId)).toEqual([FOREIGN_APP]);
  });

  it("an app whose /info fails is still listed, with what the config knows", async () => {
    const dead = await startInProcessGateway(
      {
        server: { listen: "127.0.0.1:0" },
        upstream: { connectTimeoutMs: 500 },
        workspaces: [
          {
            id: "ws-dead",
            difyBaseUrl: "http://127.0.0.1:9/v1",
            tokens: [{ sha256: sha256(TOKEN).toString("hex") }],
            apps: [
              { appId: "typed", key: { env: "K" }, mode: "workflow" },
              { appId: "untyped", key: { env: "K" } },
            ],
          },
        ],
      },
      { K: "app-dead-key" },
    );
    const dc = clients(dead.address);
    try {
      const res = await unary(dc.apps.listApps, dc.apps, {}, md());
      expect(res.apps).toEqual([
        { appId: "typed", mode: "workflow", name: "" },
        { appId: "untyped", mode: "", name: "" },
      ]);
    } finally {
      dc.close();
      await dead.close();
    }
  });
});

describe("DescribeApp", () => {
  it("answers Dify's /info and /parameters and the inputs' JSON Schema", async () => {
    const res = await unary(c.apps.describeApp, c.apps, { appId: FORM_APP.appId }, md());
    expect(res.appId).toBe(FORM_APP.appId);
    expect(res.mode).toBe("workflow");
    expect(res.info).toMatchObject({ name: FORM_APP.name, mode: "workflow" });
    expect((res.parameters as { user_input_form: unknown[] }).user_input_form).toHaveLength(7);
    expect(res.inputSchema).toMatchObject({
      $schema: "https://json-schema.org/draft/2020-12/schema",
      type: "object",
      required: ["topic", "tone"],
      properties: {
        topic: { type: "string", maxLength: 64 },
        tone: { type: "string", enum: ["neutral", "friendly", "formal"] },
        verbose: { type: ["boolean", "null"] },
        attachments: { type: ["array", "null"], maxItems: 3 },
      },
    });
  });

  it("another workspace's app, or an unknown one, is the same NOT_FOUND and Dify hears nothing", async () => {
    await sim.reset();
    for (const appId of [FOREIGN_APP, "no-such-app"]) {
      const err = await failure(unary(c.apps.describeApp, c.apps, { appId }, md()));
      expect(err.code).toBe(status.NOT_FOUND);
      expect(details(err).errorInfo?.reason).toBe("APP_NOT_FOUND");
    }
    const err = await failure(unary(c.apps.describeApp, c.apps, { appId: "" }, md()));
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(await sim.requests()).toEqual([]);
  });

  it("the input schema accepts exactly the inputs the run endpoint accepts (ajv, generated inputs)", async () => {
    const res = await unary(c.apps.describeApp, c.apps, { appId: FORM_APP.appId }, md());
    const validate = new Ajv2020({ strict: true, allowUnionTypes: true, allErrors: true }).compile(res.inputSchema as object);
    // Each variable mostly valid, sometimes not (wrong type, null, too long, not an option, a bad file), so both
    // outcomes come up; `extra` is a key the form does not name.
    const mostly = <T, U>(valid: fc.Arbitrary<T>, invalid: fc.Arbitrary<U>) =>
      fc.oneof({ weight: 12, arbitrary: valid }, { weight: 1, arbitrary: invalid });
    const wrongType = fc.oneof(fc.constant(null), fc.integer(), fc.boolean(), fc.constant({}));
    const goodFile = fc.oneof(
      fc.record({ type: fc.constantFrom("image"), transfer_method: fc.constant("local_file"), upload_file_id: fc.uuid() }),
      fc.record({
        type: fc.constantFrom("image"),
        transfer_method: fc.constant("remote_url"),
        url: fc.constantFrom("https://e.test/a.png", "HTTP://x.test/y"),
      }),
    );
    const anyFile = fc.record(
      {
        type: fc.constantFrom("image", "document", "audio", "video", "custom", "spreadsheet"),
        transfer_method: fc.constantFrom("local_file", "remote_url", "tool_file"),
        upload_file_id: fc.oneof(fc.uuid(), fc.constant("not-a-uuid")),
        url: fc.constantFrom("https://example.com/a.png", "ftp://example.com/a"),
      },
      { requiredKeys: [] },
    );
    const docFile = fc.oneof(
      goodFile,
      fc.record({ type: fc.constant("document"), transfer_method: fc.constant("local_file"), upload_file_id: fc.uuid() }),
    );
    const inputs = fc.record(
      {
        topic: mostly(fc.string({ maxLength: 64, unit: "grapheme" }), fc.oneof(wrongType, fc.string({ minLength: 65, maxLength: 70 }))),
        notes: mostly(fc.string({ maxLength: 40 }), fc.oneof(wrongType, fc.string({ minLength: 501, maxLength: 502 }))),
        tone: mostly(fc.constantFrom("neutral", "friendly", "formal"), fc.oneof(wrongType, fc.constantFrom("loud", ""))),
        count: mostly(
          fc.oneof(
            fc.integer(),
            fc.double({ noNaN: true, noDefaultInfinity: true }),
            fc.constantFrom("12", " 3.5 ", "1.5e3", "", "  ", ".5", "1.", "-7", null),
          ),
          fc.constantFrom("1e5", "abc", "1.2.3", "0x10"),
        ),
        verbose: mostly(fc.oneof(fc.boolean(), fc.constant(null)), fc.oneof(fc.integer(), fc.constant("true"))),
        cover: mostly(fc.oneof(goodFile, fc.constant(null)), fc.oneof(anyFile, fc.constant("x"), fc.array(goodFile, { maxLength: 1 }))),
        attachments: mostly(
          fc.oneof(fc.array(docFile, { maxLength: 3 }), fc.constant(null)),
          fc.oneof(
            fc.array(docFile, { minLength: 4, maxLength: 5 }),
            fc.array(anyFile, { minLength: 1, maxLength: 2 }),
            goodFile,
            fc.constant([1]),
          ),
        ),
        extra: fc.string(),
      },
      { requiredKeys: ["topic", "tone"] },
    );
    const withMissing = fc.tuple(inputs, fc.constantFrom(undefined, undefined, undefined, undefined, "topic", "tone")).map(([i, drop]) => {
      const copy: Record<string, unknown> = { ...i };
      if (drop) delete copy[drop];
      return copy;
    });
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(withMissing, async (candidate) => {
        const res = await request(`${sim.url}/workflows/run`, {
          method: "POST",
          headers: { authorization: `Bearer ${FORM_APP.key}`, "content-type": "application/json" },
          body: JSON.stringify({ inputs: candidate, user: "schema-check", response_mode: "blocking" }),
        });
        const body = (await res.body.json()) as { code?: string; message?: string };
        const simAccepts = res.statusCode === 200;
        if (!simAccepts) expect(body.code).toBe("invalid_param");
        if (simAccepts) accepted++;
        expect(validate(candidate), `${JSON.stringify(candidate)} → simulator ${res.statusCode} ${body.message ?? ""}`).toBe(simAccepts);
      }),
      { numRuns: 300 },
    );
    // Both outcomes were exercised.
    expect(accepted).toBeGreaterThan(30);
    expect(accepted).toBeLessThan(270);
  });
});
