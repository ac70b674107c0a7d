import { readFileSync } from "node:fs";
import { type ServiceError, status } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { checkRequest } from "../../src/core/invoke.js";
import { DifyHttpError, DifyStreamError, DifyUnreachableError } from "../../src/dify/errors.js";
import { GatewayError, tokenExpired, unauthenticated } from "../../src/grpc/gateway-error.js";
import { answerTooLarge, MessageAggregator, WorkflowAggregator } from "../../src/invoke/aggregate.js";
import { WORKFLOW } from "../../src/invoke/interfaces.js";
import { validateChat, validateCommon, validateWorkflowId } from "../../src/invoke/request.js";
import { RunTracker } from "../../src/invoke/termination.js";
import { workspaceConcurrencyLimit } from "../../src/limits/concurrency.js";
import { metadataTooLarge } from "../../src/limits/metadata-size.js";
import { refusalError } from "../../src/limits/refusals.js";
import { noMessage } from "../../src/limits/request-guard.js";
import { handedOff, shuttingDown } from "../../src/middleware/lifecycle.js";
import { uploadIdle, uploadTooLarge, uploadTooSlow } from "../../src/rpc/files.js";
import { checkForm, checkRun, checkSubmit, formNotFound, runNotFound } from "../../src/rpc/run.js";
import { toGatewayError } from "../../src/translate/errors.js";
import { deliverable } from "../../src/transport/response-size.js";
import { app, fakeContext, workspace } from "../core/fakes.js";
import { details } from "../helpers/grpc.js";

/*
 * One row per row of README.md's "### Errors" table, each producing its error through the code that
 * produces it in the gateway, and checking what the caller receives: code, ErrorInfo, extra details.
 */

interface Expected {
  code: status;
  reason: string;
  domain?: string;
  badRequestField?: string;
  retryDelayMs?: number;
  quota?: boolean;
  /** Dify answered: ErrorInfo.metadata carries its HTTP status and code. */
  upstreamAnswer?: boolean;
}
interface Row {
  /** The start of the README row's Situation cell. */
  readme: string;
  cases: { make: () => GatewayError | undefined; expect: Expected | "OK" }[];
}

const limited = { ...workspace([], 3, "acme"), requestsPerMinute: 60, requestsPerMinutePerToken: 10, tokensPerDay: 1_000 };
const http = (statusCode: number, code: string, retryAfter?: number) => () =>
  toGatewayError(new DifyHttpError(statusCode, code, "msg", retryAfter));
const dify = (reason: string, code: status, more: Partial<Expected> = {}): Expected => ({
  code,
  reason,
  domain: "dify",
  upstreamAnswer: true,
  ...more,
});
/** A fault on the way to or from Dify, not an answer of Dify's. */
const fault = (reason: string, code: status): Expected => ({ code, reason, domain: "dify" });
const thrown = (fn: () => void) => () => {
  try {
    fn();
  } catch (err) {
    return err as GatewayError;
  }
  throw new Error("expected a throw");
};
const tracked =
  (kind: "chat" | "workflow", ...events: Record<string, unknown>[]) =>
  () => {
    const tracker = new RunTracker(kind);
    for (const ev of events) tracker.observe({ task_id: "t", ...ev } as never);
    const failure = tracker.failure();
    return failure === undefined ? undefined : toGatewayError(failure);
  };
const stream = (fault: DifyStreamError["fault"]) => () => toGatewayError(new DifyStreamError(fault, "m"));
const request = { appId: "a", inputs: {}, files: [], user: "" };
const runContext = () => fakeContext(workspace([app("mine", "workflow")])).context;

const ROWS: Row[] = [
  {
    readme: "Invalid request",
    cases: [
      {
        make: thrown(() => validateCommon({ ...request, appId: "" })),
        expect: { code: status.INVALID_ARGUMENT, reason: "INVALID_REQUEST", badRequestField: "app_id" },
      },
      {
        make: thrown(() => validateChat({ ...request, query: "" })),
        expect: { code: status.INVALID_ARGUMENT, reason: "INVALID_REQUEST", badRequestField: "query" },
      },
      {
        make: thrown(() => validateCommon({ ...request, inputs: { x: Number.NaN } })),
        expect: { code: status.INVALID_ARGUMENT, reason: "INVALID_REQUEST", badRequestField: "inputs.x" },
      },
      {
        make: thrown(() => {
          const call = fakeContext(workspace([app("a", "workflow")]));
          const context = { ...call.context, trace: { ...call.context.trace, sessionId: "s".repeat(201) } };
          checkRequest(WORKFLOW, request, context);
        }),
        expect: { code: status.INVALID_ARGUMENT, reason: "INVALID_REQUEST", badRequestField: "x-trace-session-id" },
      },
    ],
  },
  {
    readme: "`app_id` not in the caller's workspace",
    cases: [
      {
        make: thrown(() =>
          checkRequest(WORKFLOW, { ...request, appId: "other" }, fakeContext(workspace([app("mine", "workflow")])).context),
        ),
        expect: { code: status.NOT_FOUND, reason: "APP_NOT_FOUND" },
      },
    ],
  },
  {
    readme: "Invalid `RunService` request",
    cases: [
      ...(
        [
          ["workflow_run_id", () => checkRun({ appId: "mine", workflowRunId: "run-1" }, runContext())],
          ["workflow_id", () => validateWorkflowId({ ...request, workflowId: "../run" })],
          ["form_token", () => checkForm({ appId: "mine", formToken: "a/b" }, runContext())],
          ["form_token", () => checkForm({ appId: "mine", formToken: "t".repeat(257) }, runContext())],
          ["action", () => checkSubmit({ appId: "mine", formToken: "t", inputs: {}, action: "1x", user: "" }, runContext())],
          ["user", () => checkSubmit({ appId: "mine", formToken: "t", inputs: {}, action: "ok", user: "u".repeat(257) }, runContext())],
        ] as const
      ).map(([field, fn]) => ({
        make: thrown(fn),
        expect: { code: status.INVALID_ARGUMENT, reason: "INVALID_REQUEST", badRequestField: field },
      })),
    ],
  },
  {
    readme: "Workflow run not found",
    cases: [
      {
        make: () => runNotFound("0c0ffee0-0000-4000-8000-000000000001"),
        expect: { code: status.NOT_FOUND, reason: "WORKFLOW_RUN_NOT_FOUND" },
      },
    ],
  },
  {
    readme: "`app_id` of the workspace that the caller's token does not list",
    cases: [
      {
        make: thrown(() => {
          const { context } = fakeContext(workspace([app("mine", "workflow"), app("other", "workflow")]));
          const token = { hash: Buffer.alloc(32), label: "plugin", apps: new Set(["mine"]), expiresAt: undefined };
          checkRequest(WORKFLOW, { ...request, appId: "other" }, { ...context, token });
        }),
        expect: { code: status.NOT_FOUND, reason: "APP_NOT_FOUND" },
      },
    ],
  },
  {
    readme: "Human input form not found",
    cases: [{ make: formNotFound, expect: { code: status.NOT_FOUND, reason: "HUMAN_INPUT_FORM_NOT_FOUND" } }],
  },
  {
    readme: "Dify `invalid_form_data`",
    cases: [{ make: http(400, "invalid_form_data"), expect: dify("INVALID_FORM_DATA", status.INVALID_ARGUMENT) }],
  },
  {
    readme: "Dify 412 `human_input_form_submitted`",
    cases: ["human_input_form_submitted", "human_input_form_expired"].map((code) => ({
      make: http(412, code),
      expect: dify(code.toUpperCase(), status.FAILED_PRECONDITION),
    })),
  },
  {
    readme: "A token past its `expiresAt`",
    cases: [{ make: tokenExpired, expect: { code: status.UNAUTHENTICATED, reason: "TOKEN_EXPIRED" } }],
  },
  {
    readme: "Missing or unknown token",
    cases: [
      {
        make: () => unauthenticated("missing or invalid credentials"),
        expect: { code: status.UNAUTHENTICATED, reason: "UNAUTHENTICATED" },
      },
    ],
  },
  {
    readme: "Dify `invalid_param`",
    cases: [
      { make: http(400, "invalid_param"), expect: dify("INVALID_PARAM", status.INVALID_ARGUMENT) },
      { make: http(400, "bad_request"), expect: dify("BAD_REQUEST", status.INVALID_ARGUMENT) },
      { make: http(415, "unsupported_file_type"), expect: dify("UNSUPPORTED_FILE_TYPE", status.INVALID_ARGUMENT) },
      { make: http(415, ""), expect: dify("HTTP_415", status.INVALID_ARGUMENT) },
      { make: http(400, "no_file_uploaded"), expect: dify("NO_FILE_UPLOADED", status.INVALID_ARGUMENT) },
      { make: http(400, "too_many_files"), expect: dify("TOO_MANY_FILES", status.INVALID_ARGUMENT) },
    ],
  },
  {
    readme: "Dify 413 `file_too_large`",
    cases: [
      { make: http(413, "file_too_large"), expect: dify("FILE_TOO_LARGE", status.RESOURCE_EXHAUSTED) },
      { make: http(413, ""), expect: dify("HTTP_413", status.RESOURCE_EXHAUSTED) },
    ],
  },
  {
    readme: "Upload larger than its kind's limit",
    cases: [
      { make: () => uploadTooLarge("image", 10, "declared"), expect: { code: status.RESOURCE_EXHAUSTED, reason: "UPLOAD_TOO_LARGE" } },
      { make: () => uploadTooLarge("video", 10, "received"), expect: { code: status.RESOURCE_EXHAUSTED, reason: "UPLOAD_TOO_LARGE" } },
    ],
  },
  {
    readme: "Upload bytes not sent within",
    cases: [{ make: () => uploadIdle(30_000), expect: { code: status.DEADLINE_EXCEEDED, reason: "UPLOAD_IDLE_TIMEOUT" } }],
  },
  {
    readme: "Upload not over within",
    cases: [{ make: () => uploadTooSlow(900_000), expect: { code: status.DEADLINE_EXCEEDED, reason: "UPLOAD_TIMEOUT" } }],
  },
  {
    readme: "Dify `app_unavailable`",
    cases: [
      "app_unavailable",
      "not_chat_app",
      "not_workflow_app",
      "provider_not_initialize",
      "provider_quota_exceeded",
      "model_currently_not_support",
      "completion_request_error",
      "conversation_completed",
    ].map((code) => ({ make: http(400, code), expect: dify(code.toUpperCase(), status.FAILED_PRECONDITION) })),
  },
  { readme: "Dify 401 `unauthorized`", cases: [{ make: http(401, "unauthorized"), expect: dify("UNAUTHORIZED", status.INTERNAL) }] },
  { readme: "Dify 403 `forbidden`", cases: [{ make: http(403, "forbidden"), expect: dify("FORBIDDEN", status.PERMISSION_DENIED) }] },
  { readme: "Dify 404 `not_found`", cases: [{ make: http(404, "not_found"), expect: dify("NOT_FOUND", status.NOT_FOUND) }] },
  {
    readme: "Dify 429 `too_many_requests`",
    cases: [
      { make: http(429, "too_many_requests", 3), expect: dify("TOO_MANY_REQUESTS", status.RESOURCE_EXHAUSTED, { retryDelayMs: 3_000 }) },
      { make: http(429, "too_many_requests"), expect: dify("TOO_MANY_REQUESTS", status.RESOURCE_EXHAUSTED, { retryDelayMs: 1_000 }) },
    ],
  },
  {
    readme: "Dify 429 `rate_limit_error`",
    cases: [{ make: http(429, "rate_limit_error"), expect: dify("RATE_LIMIT_ERROR", status.RESOURCE_EXHAUSTED, { quota: true }) }],
  },
  { readme: "Dify 500", cases: [{ make: http(500, "internal_server_error"), expect: dify("INTERNAL_SERVER_ERROR", status.INTERNAL) }] },
  {
    readme: "502 / 503 / 504",
    cases: [
      ...[502, 503, 504].map((s) => ({ make: http(s, ""), expect: dify(`HTTP_${s}`, status.UNAVAILABLE) })),
      {
        make: () => toGatewayError(new DifyUnreachableError("Dify is unreachable: ECONNREFUSED", undefined)),
        expect: fault("UPSTREAM_UNAVAILABLE", status.UNAVAILABLE),
      },
    ],
  },
  {
    readme: "`error` event mid-stream",
    cases: [
      {
        make: tracked("chat", { event: "error", status: 400, code: "provider_quota_exceeded", message: "quota" }),
        expect: dify("PROVIDER_QUOTA_EXCEEDED", status.FAILED_PRECONDITION),
      },
      { make: tracked("chat", { event: "error", status: 503, message: "no code" }), expect: dify("HTTP_503", status.UNAVAILABLE) },
    ],
  },
  {
    readme: "Chatflow whose workflow failed",
    cases: [
      {
        make: tracked(
          "chat",
          { event: "workflow_started" },
          { event: "workflow_finished", data: { status: "failed" } },
          { event: "error", status: 400, code: "invalid_param", message: "Run failed: x" },
        ),
        expect: dify("WORKFLOW_RUN_FAILED", status.INTERNAL),
      },
    ],
  },
  {
    readme: "Workflow run ending `failed`",
    cases: ["failed", "stopped"]
      .map((s) => ({ make: tracked("workflow", { event: "workflow_finished", data: { status: s } }), expect: "OK" as const }))
      .concat([{ make: tracked("workflow", { event: "workflow_paused", data: {} }), expect: "OK" as const }]),
  },
  {
    readme: "Unary chat or workflow run that paused for human input",
    cases: [new WorkflowAggregator(), new MessageAggregator("advanced-chat", true)].map((agg) => ({
      make: () => {
        agg.add({ event: "human_input_required", workflow_run_id: "r", data: { form_token: "tok", node_id: "n" } });
        agg.add({ event: "workflow_paused", workflow_run_id: "r", data: { status: "paused" } });
        // OK with the pause: the aggregator answers, and the answer carries the form.
        expect(agg.extras().pause).toMatchObject({ workflowRunId: "r", forms: [{ formToken: "tok", nodeId: "n" }] });
        return undefined;
      },
      expect: "OK" as const,
    })),
  },
  { readme: "Upstream silent", cases: [{ make: stream("idle_timeout"), expect: fault("UPSTREAM_IDLE_TIMEOUT", status.UNAVAILABLE) }] },
  {
    readme: "Stream closed before its terminal event",
    cases: [{ make: tracked("chat", { event: "message" }), expect: fault("UPSTREAM_STREAM_INCOMPLETE", status.UNAVAILABLE) }],
  },
  { readme: "Malformed SSE", cases: [{ make: stream("malformed"), expect: fault("UPSTREAM_MALFORMED_STREAM", status.INTERNAL) }] },
  {
    readme: "One event larger than `maxEventBytes`",
    cases: [{ make: stream("event_too_large"), expect: fault("UPSTREAM_EVENT_TOO_LARGE", status.RESOURCE_EXHAUSTED) }],
  },
  {
    readme: "Unary answer larger than `upstream.maxAnswerBytes`",
    cases: [{ make: () => answerTooLarge(1_000), expect: { code: status.RESOURCE_EXHAUSTED, reason: "ANSWER_TOO_LARGE" } }],
  },
  {
    readme: "A response over 4 MiB encoded",
    cases: [
      {
        make: thrown(() => deliverable(Buffer.alloc(4 * 1024 * 1024 + 1))),
        expect: { code: status.RESOURCE_EXHAUSTED, reason: "RESPONSE_TOO_LARGE" },
      },
      { make: () => (deliverable(Buffer.alloc(4 * 1024 * 1024)), undefined), expect: "OK" },
    ],
  },
  {
    readme: "Dify's `code` is not a code token",
    cases: [
      { make: http(400, "app-sk-SECRET"), expect: dify("HTTP_400", status.FAILED_PRECONDITION) },
      { make: http(503, "Not A Code"), expect: dify("HTTP_503", status.UNAVAILABLE) },
    ],
  },
  {
    readme: "The caller's workspace already has its limit",
    cases: [
      {
        make: () => workspaceConcurrencyLimit("acme", 3),
        expect: { code: status.RESOURCE_EXHAUSTED, reason: "WORKSPACE_CONCURRENCY_LIMIT", retryDelayMs: 1_000, quota: true },
      },
    ],
  },
  {
    readme: "The caller's workspace is over its request rate",
    cases: [
      {
        make: () => refusalError({ refused: "workspace_rate", retryAfterMs: 2_500 }, limited, "token:0123456789abcdef"),
        expect: { code: status.RESOURCE_EXHAUSTED, reason: "WORKSPACE_RATE_LIMIT", retryDelayMs: 2_500, quota: true },
      },
    ],
  },
  {
    readme: "The caller's token is over its request rate",
    cases: [
      {
        make: () => refusalError({ refused: "token_rate", retryAfterMs: 6_000 }, limited, "token:0123456789abcdef"),
        expect: { code: status.RESOURCE_EXHAUSTED, reason: "TOKEN_RATE_LIMIT", retryDelayMs: 6_000, quota: true },
      },
    ],
  },
  {
    readme: "The caller's workspace has used its Dify tokens",
    cases: [
      {
        make: () => refusalError({ refused: "token_budget", retryAfterMs: 3_600_000 }, limited, "token:0123456789abcdef"),
        expect: { code: status.RESOURCE_EXHAUSTED, reason: "WORKSPACE_TOKEN_BUDGET", retryDelayMs: 3_600_000, quota: true },
      },
    ],
  },
  {
    readme: "Redis of the shared limits unreachable",
    cases: [
      {
        make: () => refusalError({ refused: "unavailable", retryAfterMs: 0 }, limited, "token:0123456789abcdef"),
        expect: { code: status.UNAVAILABLE, reason: "LIMITER_UNAVAILABLE", retryDelayMs: 1_000 },
      },
    ],
  },
  {
    readme: "Request message not sent within",
    cases: [{ make: () => noMessage(10_000), expect: { code: status.DEADLINE_EXCEEDED, reason: "REQUEST_MESSAGE_TIMEOUT" } }],
  },
  {
    readme: "Request metadata larger than",
    cases: [{ make: () => metadataTooLarge(9_000, 8_192), expect: { code: status.RESOURCE_EXHAUSTED, reason: "METADATA_TOO_LARGE" } }],
  },
  {
    readme: "Gateway shutting down",
    cases: [{ make: shuttingDown, expect: { code: status.UNAVAILABLE, reason: "SHUTTING_DOWN", retryDelayMs: 1_000 } }],
  },
  {
    readme: "Workflow or Chatflow run handed off",
    cases: [
      {
        make: () => handedOff({ appId: "app-1", workflowRunId: "run-1" }),
        expect: { code: status.UNAVAILABLE, reason: "SHUTTING_DOWN", retryDelayMs: 1_000 },
      },
    ],
  },
];

/** README rows whose status is not the gateway's own; each names the test that covers it. */
const ANSWERED_BY_GRPC_JS: Record<string, string> = {
  "Request message larger than": "grpc-js' own status, without details: test/e2e/request-limits.test.ts",
};

function readmeSituations(): string[] {
  const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
  const section = readme.slice(readme.indexOf("### Errors"), readme.indexOf("### Cancellation"));
  return section
    .split("\n")
    .filter((l) => l.startsWith("| ") && !l.startsWith("| Situation"))
    .map((l) => l.split("|")[1]!.trim());
}

describe("README error table", () => {
  it("has a row here for every row there, and no other", () => {
    const covered = [...ROWS.map((r) => r.readme), ...Object.keys(ANSWERED_BY_GRPC_JS)];
    const situations = readmeSituations();
    expect(situations.length).toBeGreaterThan(15);
    for (const s of situations)
      expect(
        covered.filter((c) => s.startsWith(c)),
        s,
      ).toHaveLength(1);
    expect(covered).toHaveLength(situations.length);
  });

  describe.each(ROWS)("$readme", ({ cases }) => {
    it.each(cases.map((c, i) => ({ ...c, i })))("case $i", ({ make, expect: want }) => {
      const error = make();
      if (want === "OK") return expect(error).toBeUndefined();
      expect(error).toBeInstanceOf(GatewayError);
      const sent = details(error!.toStatus() as unknown as ServiceError);
      expect(error!.code).toBe(want.code);
      expect(sent.status?.code).toBe(want.code);
      expect(sent.status?.details.filter((d) => d.typeUrl.endsWith("google.rpc.ErrorInfo"))).toHaveLength(1);
      expect(sent.errorInfo).toMatchObject({ reason: want.reason, domain: want.domain ?? "dify-grpc-gateway" });
      if (want.upstreamAnswer)
        expect(Object.keys(sent.errorInfo!.metadata)).toEqual(expect.arrayContaining(["upstreamStatus", "upstreamCode"]));
      expect(sent.badRequest?.fieldViolations.map((v) => v.field)).toEqual(want.badRequestField ? [want.badRequestField] : undefined);
      if (want.badRequestField) expect(error!.message.startsWith(want.badRequestField)).toBe(true);
      const delay = sent.retryInfo?.retryDelay;
      expect(delay ? delay.seconds * 1000 + delay.nanos / 1e6 : undefined).toBe(want.retryDelayMs);
      expect(sent.quotaFailure !== undefined).toBe(want.quota ?? false);
    });
  });
});
