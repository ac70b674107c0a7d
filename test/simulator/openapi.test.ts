/**
 * Every simulator response and stream event, validated against Dify's published OpenAPI spec
 * (vendored as test/fixtures/dify-openapi/openapi_service.json, CC BY 4.0; its README gives source and commit). Stream events are validated against the concrete schema their
 * family's discriminator maps `event` to. The spec requires few fields, so each event is also checked against the
 * envelope the real server sends (docs/dify-upstream.md, "Stream events").
 *
 * Where the spec and the real server differ, the simulator follows the server (docs/dify-upstream.md), and so does this test:
 * - `error` events carry no `task_id` (the spec's base schemas list it, though not as required);
 *   worker-level errors carry no `code` either.
 * - `ping` is a bare `event: ping` line without data, not a JSON `{"event":"ping"}` object, so it is never
 *   validated as a schema; the test checks its framing instead.
 * - `user_input_form` items are a `oneOf` of schemas with no required keys, which no item can satisfy (every
 *   object matches all branches); each item is validated against the branch that declares its control key.
 * - HTTP error bodies have no schema in the spec, only examples; they are checked for `{code, message, status}`
 *   and compared with the spec's examples where the message is fixed.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Ajv, type ValidateFunction } from "ajv";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AppMode, DEMO_APPS, type Simulator } from "../../simulator/index.js";
import {
  ALL_MODES,
  appOf,
  bodyFor,
  call,
  dataOf,
  eventNames,
  generateJson,
  type Json,
  parseFrames,
  readStream,
  SLOW_RUN,
  type StreamResult,
  stream,
  streamWithStop,
  UUID_RE,
  withSimulator,
} from "./helpers.js";

const repoRoot = fileURLToPath(new URL("../..", import.meta.url));
const spec = JSON.parse(readFileSync(path.resolve(repoRoot, "test/fixtures/dify-openapi/openapi_service.json"), "utf8")) as {
  components: { schemas: Record<string, { discriminator?: { mapping: Record<string, string> } }> };
  paths: Record<
    string,
    Record<string, { responses: Record<string, { content?: Record<string, { examples?: Record<string, { value: Json }> }> }> }>
  >;
};

const ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false });
const DECIMAL = /^-?\d+(\.\d+)?$/;
ajv.addFormat("uuid", UUID_RE);
ajv.addFormat("decimal", DECIMAL);
ajv.addFormat("url", { validate: (value: string) => URL.canParse(value) });
ajv.addFormat("date-time", { validate: (value: string) => !Number.isNaN(Date.parse(value)) });
ajv.addFormat("int64", { type: "number", validate: (value: number) => Number.isSafeInteger(value) });
for (const format of ["float", "double"]) ajv.addFormat(format, { type: "number", validate: () => true });
for (const format of ["byte", "binary"]) ajv.addFormat(format, true);
const SPEC_ID = "dify-openapi";
ajv.addSchema(spec as object, SPEC_ID);

function validatorFor(ref: string): ValidateFunction {
  const validate = ajv.getSchema(`${SPEC_ID}${ref}`);
  if (!validate) throw new Error(`no schema at ${ref}`);
  return validate;
}

function expectValid(ref: string, value: unknown): void {
  const validate = validatorFor(ref);
  const ok = validate(value);
  expect(ok, `${ref}: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(value).slice(0, 800)}`).toBe(true);
}

type Family = "ChunkChatEvent" | "ChunkCompletionEvent" | "ChunkWorkflowEvent";

function familyOf(mode: AppMode): Family {
  if (mode === "completion") return "ChunkCompletionEvent";
  if (mode === "workflow") return "ChunkWorkflowEvent";
  return "ChunkChatEvent";
}

/** Resolves the family's discriminator by hand: `event` → concrete schema. */
function concreteSchemaRef(family: Family, event: string): string {
  const ref = spec.components.schemas[family]?.discriminator?.mapping[event];
  if (!ref) throw new Error(`${family} has no schema for event "${event}"`);
  return ref;
}

/** The keys Dify's converters put on every event of the mode (contract section 3.2). */
function expectEnvelope(mode: AppMode, event: Json): void {
  const isError = event["event"] === "error";
  const keys =
    mode === "workflow"
      ? ["event", "workflow_run_id", "task_id"]
      : mode === "completion"
        ? ["event", "message_id", "created_at", "task_id"]
        : ["event", "conversation_id", "message_id", "created_at", "task_id"];
  const expected = isError ? keys.filter((k) => k !== "task_id") : keys;
  for (const key of expected) expect(event, `${String(event["event"])} lacks ${key}`).toHaveProperty(key);
  if (isError) {
    expect(event).not.toHaveProperty("task_id");
    expect(typeof event["status"]).toBe("number");
    expect(typeof event["message"]).toBe("string");
  }
  for (const key of ["conversation_id", "message_id", "task_id", "workflow_run_id"]) {
    if (key in event) expect(event[key]).toMatch(UUID_RE);
  }
  if ("created_at" in event) expect(Number.isInteger(event["created_at"])).toBe(true);
}

function expectStreamValid(mode: AppMode, result: StreamResult): void {
  expect(result.status).toBe(200);
  expect(result.events.length).toBeGreaterThan(0);
  for (const frame of result.frames) {
    if (!frame.event) expect(frame.text).toBe("event: ping");
  }
  const family = familyOf(mode);
  for (const event of result.events) {
    expectValid(`#/components/schemas/${family}`, event);
    expectValid(concreteSchemaRef(family, String(event["event"])), event);
    expectEnvelope(mode, event);
  }
}

function expectParametersValid(parameters: Json): void {
  const items = parameters["user_input_form"] as Json[];
  expect(items.length).toBeGreaterThan(0);
  expectValid("#/components/schemas/AppParametersResponse", { ...parameters, user_input_form: [] });
  const branchesRef = "#/components/schemas/AppParametersResponse/properties/user_input_form/items/oneOf";
  const branches = (
    spec.components.schemas["AppParametersResponse"] as { properties: { user_input_form: { items: { oneOf: { properties: Json }[] } } } }
  ).properties.user_input_form.items.oneOf;
  for (const item of items) {
    const control = Object.keys(item)[0] ?? "";
    const index = branches.findIndex((branch) => control in branch.properties);
    expect(index, `no user_input_form branch for "${control}"`).toBeGreaterThanOrEqual(0);
    expectValid(`${branchesRef}/${index}`, item);
  }
}

const ERROR_BODY_SCHEMA = {
  type: "object",
  required: ["code", "message", "status"],
  properties: { code: { type: "string" }, message: { type: "string" }, status: { type: "integer" } },
  additionalProperties: false,
};
const validateErrorBody = ajv.compile(ERROR_BODY_SCHEMA);

/** The spec's example error bodies of an operation, by code. */
function specErrorExamples(pathName: string, method = "post"): Json[] {
  const responses = spec.paths[pathName]?.[method]?.responses ?? {};
  return Object.entries(responses)
    .filter(([status]) => status !== "200")
    .flatMap(([, response]) => Object.values(response.content?.["application/json"]?.examples ?? {}).map((e) => e.value));
}

function expectErrorLike(body: Json, status: number, code: string): void {
  expect(validateErrorBody(body), ajv.errorsText(validateErrorBody.errors)).toBe(true);
  expect(body).toMatchObject({ status, code });
}

let sim: Simulator;
beforeAll(async () => {
  sim = await withSimulator();
});
afterAll(async () => {
  await sim.close();
});

describe("streams validate against the spec", () => {
  it("the validator is not vacuous: it rejects wrong types and formats", () => {
    const ref = concreteSchemaRef("ChunkChatEvent", "message_end");
    expect(validatorFor(ref)({ event: "message_end", created_at: "yesterday" })).toBe(false);
    expect(validatorFor(ref)({ event: "message_end", task_id: "not-a-uuid" })).toBe(false);
    expect(validatorFor(ref)({ event: "message_end", metadata: { usage: { total_price: 0.1 } } })).toBe(false);
    expect(validatorFor("#/components/schemas/ChunkWorkflowEvent")({ event: "not_an_event" })).toBe(false);
  });

  for (const mode of ALL_MODES) {
    it(`${mode}: every event of a normal run`, async () => {
      expectStreamValid(mode, await stream(sim, mode, bodyFor(mode)));
    });
    it(`${mode}: an error event (with and without code)`, async () => {
      const withCode = { fault: "error_event", after: 2, status: 400, code: "completion_request_error", message: "model exploded" };
      expectStreamValid(mode, await stream(sim, mode, bodyFor(mode, { inputs: { query: "q", _sim: withCode } })));
      const workerLevel = { fault: "error_event", after: 0, status: 500, message: "worker died" };
      const result = await stream(sim, mode, bodyFor(mode, { inputs: { query: "q", _sim: workerLevel } }));
      expectStreamValid(mode, result);
      expect(result.events.at(-1)).not.toHaveProperty("code");
    });
    it(`${mode}: a run stopped through the stop API`, async () => {
      const result = await streamWithStop(sim, mode, bodyFor(mode, { inputs: { query: "q", _sim: SLOW_RUN } }), {
        afterDeltas: 2,
        stopUser: "tester",
      });
      expectStreamValid(mode, result);
      expect(result.stopBody).toEqual({ result: "success" });
    });
  }

  for (const mode of ["chat", "completion", "advanced-chat", "agent"] as const) {
    it(`${mode}: message_replace`, async () => {
      const replace = { fault: "message_replace", after: 2, answer: "[moderated]" };
      const result = await stream(sim, mode, bodyFor(mode, { inputs: { query: "q", _sim: replace } }));
      expectStreamValid(mode, result);
      expect(result.events.map((e) => e["event"])).toContain("message_replace");
    });
  }

  for (const mode of ["workflow", "advanced-chat"] as const) {
    for (const fault of ["workflow_failed", "workflow_stopped", "workflow_paused"]) {
      it(`${mode}: ${fault}`, async () => {
        const result = await stream(sim, mode, bodyFor(mode, { inputs: { query: "q", _sim: { fault, after: 3 } } }));
        expectStreamValid(mode, result);
      });
    }
  }
});

describe("blocking responses validate against the spec", () => {
  for (const [mode, schema] of [
    ["chat", "ChatCompletionResponse"],
    ["advanced-chat", "ChatCompletionResponse"],
    ["completion", "CompletionResponse"],
    ["workflow", "WorkflowBlockingResponse"],
  ] as const) {
    it(`${mode} → ${schema}`, async () => {
      const res = await generateJson(sim, mode, bodyFor(mode, { response_mode: "blocking" }));
      expect(res.status).toBe(200);
      expect(res.headers["content-type"]).toBe("application/json; charset=utf-8");
      expectValid(`#/components/schemas/${schema}`, res.body);
    });
  }

  for (const fault of ["workflow_failed", "workflow_stopped", "workflow_paused"]) {
    it(`workflow with ${fault} → WorkflowBlockingResponse, HTTP 200`, async () => {
      const res = await generateJson(sim, "workflow", bodyFor("workflow", { inputs: { _sim: { fault } } }));
      expect(res.status).toBe(200);
      expectValid("#/components/schemas/WorkflowBlockingResponse", res.body);
    });
  }

  it("a paused chatflow answers a ChatCompletionResponse-like body with event workflow_paused", async () => {
    const res = await generateJson(sim, "advanced-chat", bodyFor("advanced-chat", { inputs: { _sim: { fault: "workflow_paused" } } }));
    expect(res.status).toBe(200);
    expect(res.body["event"]).toBe("workflow_paused");
    expectValid("#/components/schemas/ChatCompletionResponse", res.body);
  });

  it("GET /info and /parameters", async () => {
    for (const mode of ALL_MODES) {
      const key = appOf(mode).key;
      const info = (await (await call(sim, "/info", { key })).body.json()) as Json;
      expectValid("#/components/schemas/AppInfoResponse", info);
      expect(info["mode"]).toBe(mode);
      const parameters = (await (await call(sim, "/parameters", { key })).body.json()) as Json;
      expectParametersValid(parameters);
    }
  });
});

/** The form app: a workflow whose start node has a variable of every kind (DescribeApp's input schema is derived from it). */
const FORM_APP = DEMO_APPS.find((a) => a.form)!;

/**
 * The `user_input_form` controls the spec has no branch for (it documents text-input, paragraph and select only,
 * while Dify's start node also offers these). Checked against the shape the gateway's input schema relies on
 * (src/apps/input-schema.ts and docs/dify-upstream.md), written from Dify's VariableEntity rather than the spec.
 */
const FIELD_BASE = { label: { type: "string" }, variable: { type: "string", minLength: 1 }, required: { type: "boolean" } };
const FILE_FIELD = {
  ...FIELD_BASE,
  allowed_file_types: { type: "array", items: { enum: ["image", "document", "audio", "video", "custom"] } },
  allowed_file_extensions: { type: "array", items: { type: "string" } },
  allowed_file_upload_methods: { type: "array", items: { enum: ["local_file", "remote_url"] } },
};
const UNDOCUMENTED_CONTROLS: Record<string, object> = {
  number: { properties: FIELD_BASE, required: ["label", "variable", "required"] },
  checkbox: { properties: { ...FIELD_BASE, default: { type: "boolean" } }, required: ["label", "variable", "required"] },
  file: { properties: FILE_FIELD, required: ["variable", "required", "allowed_file_types", "allowed_file_upload_methods"] },
  "file-list": {
    properties: { ...FILE_FIELD, max_length: { type: "integer", minimum: 1 } },
    required: ["variable", "required", "allowed_file_types", "allowed_file_upload_methods", "max_length"],
  },
};
/** What the input schema reads of the documented controls beyond the spec's (optional) properties. */
const DOCUMENTED_CONTROLS: Record<string, object> = {
  "text-input": { properties: { ...FIELD_BASE, max_length: { type: "integer", minimum: 1 } }, required: ["variable", "required"] },
  paragraph: { properties: { ...FIELD_BASE, max_length: { type: "integer", minimum: 1 } }, required: ["variable", "required"] },
  select: { properties: { ...FIELD_BASE, options: { type: "array", minItems: 1 } }, required: ["variable", "required", "options"] },
};

describe("the form app's /parameters", () => {
  it("validates against the spec, and each control has the shape the input schema relies on", async () => {
    const parameters = (await (await call(sim, "/parameters", { key: FORM_APP.key })).body.json()) as Json;
    expectValid("#/components/schemas/AppParametersResponse", { ...parameters, user_input_form: [] });
    const branchesRef = "#/components/schemas/AppParametersResponse/properties/user_input_form/items/oneOf";
    const branches = (
      spec.components.schemas["AppParametersResponse"] as { properties: { user_input_form: { items: { oneOf: { properties: Json }[] } } } }
    ).properties.user_input_form.items.oneOf;
    const controls: string[] = [];
    for (const item of parameters["user_input_form"] as Json[]) {
      const [control, ...rest] = Object.keys(item);
      expect(rest, "one control per item").toEqual([]);
      controls.push(String(control));
      const index = branches.findIndex((branch) => String(control) in branch.properties);
      if (index >= 0) expectValid(`${branchesRef}/${index}`, item);
      const shape = DOCUMENTED_CONTROLS[String(control)] ?? UNDOCUMENTED_CONTROLS[String(control)];
      expect(shape, `no known shape for "${control}"`).toBeDefined();
      const validate = ajv.compile({ type: "object", ...shape });
      expect(validate(item[String(control)]), `${control}: ${ajv.errorsText(validate.errors)}`).toBe(true);
    }
    // Every kind of control, so that a change to any of them shows here.
    expect(controls.sort()).toEqual(["checkbox", "file", "file-list", "number", "paragraph", "select", "text-input"]);
  });
});

/** POST /files/upload with a multipart body written by hand (undici's FormData always adds a Content-Type); ASCII content only. */
async function uploadRaw(parts: { name: string; filename?: string; contentType?: string; content: string }[]) {
  const boundary = "----openapi-test-boundary";
  let body = "";
  for (const part of parts) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${part.name}"`;
    if (part.filename !== undefined) head += `; filename="${part.filename}"`;
    head += "\r\n";
    if (part.contentType) head += `Content-Type: ${part.contentType}\r\n`;
    body += `${head}\r\n${part.content}\r\n`;
  }
  body += `--${boundary}--\r\n`;
  const res = await call(sim, "/files/upload", {
    key: FORM_APP.key,
    method: "POST",
    headers: { "content-type": `multipart/form-data; boundary=${boundary}` },
    rawBody: body,
  });
  return { status: res.statusCode, body: (await res.body.json()) as Json };
}

describe("POST /files/upload", () => {
  it("the upload answer is a FileUploadResponse (201) with the fields the gateway types", async () => {
    const res = await uploadRaw([
      { name: "user", content: "alice" },
      { name: "file", filename: "photo.png", contentType: "image/png", content: "p".repeat(2048) },
    ]);
    expect(res.status).toBe(201);
    expectValid("#/components/schemas/FileUploadResponse", res.body);
    // The spec requires nothing; the gateway's UploadFileResponse reads these.
    expect(res.body).toMatchObject({ name: "photo.png", size: 2048, extension: "png", mime_type: "image/png" });
    expect(res.body["id"]).toMatch(UUID_RE);
    expect(Number.isInteger(res.body["created_at"])).toBe(true);
  });

  // Not here: 415 unsupported_file_type for a part without a Content-Type. The simulator's multipart parser (busboy)
  // reports such a part as text/plain, per RFC 7578, so the simulator never answers it; Dify (werkzeug) does.
  it("its refusals match the spec's examples", async () => {
    const png = (filename = "a.png") => ({ name: "file", filename, contentType: "image/png", content: "x" });
    const cases = [
      { parts: [{ name: "user", content: "alice" }], status: 400, code: "no_file_uploaded" },
      { parts: [png(), { ...png("b.png"), name: "file2" }], status: 400, code: "too_many_files" },
      { parts: [{ ...png(), content: "p".repeat(10 * 1024 * 1024 + 1) }], status: 413, code: "file_too_large" },
    ];
    for (const c of cases) {
      const res = await uploadRaw(c.parts);
      expect(res.status, c.code).toBe(c.status);
      expectErrorLike(res.body, c.status, c.code);
      expect(specErrorExamples("/files/upload")).toContainEqual(res.body);
    }
  });
});

describe("error bodies match the spec examples", () => {
  it("route mismatches use the documented codes and messages", async () => {
    const cases = [
      { mode: "workflow", path: "/chat-messages", spec: "/chat-messages", code: "not_chat_app" },
      { mode: "chat", path: "/workflows/run", spec: "/workflows/run", code: "not_workflow_app" },
      { mode: "chat", path: "/completion-messages", spec: "/completion-messages", code: "app_unavailable" },
    ] as const;
    for (const c of cases) {
      const res = await call(sim, c.path, { key: appOf(c.mode).key, body: bodyFor("chat") });
      const body = (await res.body.json()) as Json;
      expectErrorLike(body, 400, c.code);
      expect(specErrorExamples(c.spec)).toContainEqual(body);
    }
  });

  it("missing user, unknown conversation and New Agent blocking match their examples", async () => {
    const noUser = await generateJson(sim, "workflow", { inputs: {} });
    expect(specErrorExamples("/workflows/run")).toContainEqual(noUser.body);
    const unknown = await generateJson(sim, "chat", bodyFor("chat", { conversation_id: "6c0f1d4e-2b1a-4c3d-8e9f-0a1b2c3d4e5f" }));
    expectErrorLike(unknown.body, 404, "not_found");
    expect(specErrorExamples("/chat-messages")).toContainEqual(unknown.body);
    const agentBlocking = await generateJson(sim, "agent", bodyFor("agent", { response_mode: "blocking" }));
    expect(specErrorExamples("/chat-messages")).toContainEqual(agentBlocking.body);
  });

  it("agent-chat blocking and 401s are {code, message, status}", async () => {
    const agentChat = await generateJson(sim, "agent-chat", bodyFor("agent-chat", { response_mode: "blocking" }));
    expectErrorLike(agentChat.body, 400, "invalid_param");
    const unauthorized = await generateJson(sim, "chat", bodyFor("chat"), "app-unknown");
    expectErrorLike(unauthorized.body, 401, "unauthorized");
  });
});

describe("Dify 1.16: human input, re-attach, run detail, reasoning", () => {
  const byName = (name: string) => DEMO_APPS.find((a) => a.name === name)!;
  const approval = byName("Demo Approval Workflow");
  const approvalChat = byName("Demo Approval Chatflow");
  const reasoning = byName("Demo Reasoning Chatflow");
  const ok200 = (pathName: string, method: string) =>
    `#/paths/${pathName.replace(/\//g, "~1").replace(/[{}]/g, (c) => encodeURIComponent(c))}/${method}/responses/200/content/application~1json/schema`;

  async function paused(app: typeof approval, sim_: Json | undefined = undefined) {
    const mode = app.mode;
    const body = bodyFor(mode);
    if (sim_) body["inputs"] = { ...(body["inputs"] as Json), _sim: sim_ };
    const result = await stream(sim, mode, body, { key: app.key });
    expectStreamValid(mode, result);
    const required = result.events.find((e) => e["event"] === "human_input_required")!;
    const token = (required["data"] as Json)["form_token"] as string;
    const last = result.events.at(-1) ?? {};
    const runId = String(last["workflow_run_id"] ?? (last["data"] as Json)["workflow_run_id"]);
    return { result, token, runId };
  }

  async function reattach(app: typeof approval, runId: string, query: string, onChunk?: (raw: string) => void): Promise<StreamResult> {
    const res = await call(sim, `/workflow/${runId}/events?${query}`, { key: app.key });
    const { raw, ending } = await readStream(res.body, { onChunk });
    const frames = parseFrames(raw);
    return { status: res.statusCode, headers: res.headers, raw, frames, events: frames.flatMap((f) => (f.event ? [f.event] : [])), ending };
  }

  for (const app of [approval, approvalChat]) {
    it(`${app.mode}: pause, form, submit and re-attach all validate`, async () => {
      const { result, token, runId } = await paused(app);
      expect(eventNames(result.events).slice(-2)).toEqual(["human_input_required", "workflow_paused"]);
      const form = await call(sim, `/form/human_input/${token}`, { key: app.key });
      expect(form.statusCode).toBe(200);
      expectValid(ok200("/form/human_input/{form_token}", "get"), await form.body.json());

      const detail = await call(sim, `/workflows/run/${runId}`, { key: app.key });
      const pausedDetail = (await detail.body.json()) as Json;
      expectValid("#/components/schemas/WorkflowRunDetailResponse", pausedDetail);
      expect(pausedDetail).toMatchObject({ status: "paused", outputs: {} });

      const bad = await call(sim, `/form/human_input/${token}`, { key: app.key, body: { inputs: {}, action: "approve", user: "tester" } });
      expect(bad.statusCode).toBe(400);
      expectErrorLike((await bad.body.json()) as Json, 400, "invalid_form_data");
      // Re-attached while paused, the stream replays up to the pause and waits; the submit resumes the run.
      const submit = { inputs: { comment: "fine" }, action: "approve", user: "tester" };
      let submitted: Promise<Json> | undefined;
      const resumed = await reattach(app, runId, "user=tester&include_state_snapshot=true&continue_on_pause=true", (raw) => {
        if (!submitted && raw.includes('"workflow_paused"'))
          submitted = call(sim, `/form/human_input/${token}`, { key: app.key, body: submit }).then(
            async (r) => (await r.body.json()) as Json,
          );
      });
      expect(await submitted).toEqual({});
      const again = await call(sim, `/form/human_input/${token}`, { key: app.key, body: submit });
      expectErrorLike((await again.body.json()) as Json, 412, "human_input_form_submitted");

      expectStreamValid(app.mode, resumed);
      expect(eventNames(resumed.events)).toContain("human_input_form_filled");
      expect(eventNames(resumed.events).at(-1)).toBe("workflow_finished");
      // The filled-in body replaces the form's output placeholders with what was submitted.
      const filled = dataOf(resumed.events.find((e) => e["event"] === "human_input_form_filled"));
      expect(filled["rendered_content"]).toContain("fine");
      expect(filled["rendered_content"]).not.toContain("{{#$output.");
      const done = (await (await call(sim, `/workflows/run/${runId}`, { key: app.key })).body.json()) as Json;
      expectValid("#/components/schemas/WorkflowRunDetailResponse", done);
      expect(done["status"]).toBe("succeeded");
    });
  }

  for (const app of [approval, approvalChat]) {
    it(`${app.mode}: a form nobody answers expires, and the run resumes along its timeout branch`, async () => {
      const { result, token, runId } = await paused(app, { form_ttl_ms: 300 });
      const required = dataOf(result.events.find((e) => e["event"] === "human_input_required"));
      // Attached before the deadline, with continue_on_pause, the stream carries the expiry as it happens.
      const resumed = await reattach(app, runId, "user=tester&continue_on_pause=true");
      expectStreamValid(app.mode, resumed);
      const names = eventNames(resumed.events);
      expect(names).not.toContain("human_input_form_filled");
      expect(names.at(-1)).toBe("workflow_finished");
      const timeout = resumed.events.find((e) => e["event"] === "human_input_form_timeout");
      expect(dataOf(timeout)).toEqual({
        node_id: required["node_id"],
        node_title: required["node_title"],
        expiration_time: required["expiration_time"],
      });
      const nodeDone = resumed.events.find((e) => e["event"] === "node_finished" && dataOf(e)["node_id"] === required["node_id"]);
      expect(dataOf(nodeDone)["outputs"]).toEqual({ __action_id: "" });

      // The form is closed for reads and submits alike, with the spec's 412.
      const read = await call(sim, `/form/human_input/${token}`, { key: app.key });
      expectErrorLike((await read.body.json()) as Json, 412, "human_input_form_expired");
      const submit = await call(sim, `/form/human_input/${token}`, {
        key: app.key,
        body: { inputs: { comment: "late" }, action: "approve", user: "tester" },
      });
      const refused = (await submit.body.json()) as Json;
      expectErrorLike(refused, 412, "human_input_form_expired");
      expect(String(refused["message"])).toBe(`This form has expired, form_id=${String(required["form_id"])}`);
      const done = (await (await call(sim, `/workflows/run/${runId}`, { key: app.key })).body.json()) as Json;
      expectValid("#/components/schemas/WorkflowRunDetailResponse", done);
      expect(done["status"]).toBe("succeeded");
    });
  }

  it("a form past its deadline answers 412 human_input_form_expired", async () => {
    const { token } = await paused(approval, { form_ttl_ms: 1 });
    const read = await call(sim, `/form/human_input/${token}`, { key: approval.key });
    expectErrorLike((await read.body.json()) as Json, 412, "human_input_form_expired");
  });

  it("re-attach by another user, and an unknown run, are the spec's 404", async () => {
    const { runId } = await paused(approval);
    for (const path of [
      `/workflow/${runId}/events?user=someone-else`,
      "/workflow/00000000-0000-4000-8000-000000000000/events?user=tester",
    ]) {
      const body = (await (await call(sim, path, { key: approval.key })).body.json()) as Json;
      expect(specErrorExamples("/workflow/{workflow_run_id}/events", "get")).toContainEqual(body);
    }
    const detail = (await (
      await call(sim, "/workflows/run/00000000-0000-4000-8000-000000000000", { key: approval.key })
    ).body.json()) as Json;
    expect(specErrorExamples("/workflows/run/{workflow_run_id}", "get")).toContainEqual(detail);
    const form = (await (await call(sim, "/form/human_input/tok_nope", { key: approval.key })).body.json()) as Json;
    expect(specErrorExamples("/form/human_input/{form_token}", "get")).toContainEqual(form);
  });

  it("a reasoning Chatflow's reasoning_chunk events validate", async () => {
    const result = await stream(sim, reasoning.mode, bodyFor(reasoning.mode), { key: reasoning.key });
    expectStreamValid(reasoning.mode, result);
    expect(eventNames(result.events).filter((e) => e === "reasoning_chunk").length).toBeGreaterThan(1);
  });

  it("a pinned workflow version runs through POST /workflows/{workflow_id}/run", async () => {
    const current = await stream(sim, "workflow", bodyFor("workflow"));
    const started = dataOf(current.events[0]);
    const workflowId = started["workflow_id"] as string;
    const res = await call(sim, `/workflows/${workflowId}/run`, {
      key: appOf("workflow").key,
      body: { ...bodyFor("workflow"), response_mode: "blocking" },
    });
    const body = (await res.body.json()) as Json;
    expectValid("#/components/schemas/WorkflowBlockingResponse", body);
    expect((body["data"] as Json)["workflow_id"]).toBe(workflowId);
  });
});

describe("an email-only Human Input form", () => {
  it("has form_token null, and the stream still validates", async () => {
    const app = { appId: "e0000000-0000-4000-8000-000000000001", key: "app-sim-email-only", mode: "workflow" as const, name: "Email Only" };
    const emailSim = await withSimulator({ apps: [{ ...app, humanInput: { pauses: 1, emailOnly: true } }] });
    try {
      const result = await stream(emailSim, "workflow", bodyFor("workflow"), { key: app.key });
      expectStreamValid("workflow", result);
      const required = result.events.find((e) => e["event"] === "human_input_required");
      expect(dataOf(required)["form_token"]).toBeNull();
      expect(eventNames(result.events).at(-1)).toBe("workflow_paused");
    } finally {
      await emailSim.close();
    }
  });
});
