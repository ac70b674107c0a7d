import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AppClient, AppInvokeError, createAppClient, type DifyDict, status } from "../../clients/typescript/src/index.js";
import { DEMO_APPS } from "../../simulator/index.js";
import { CLIENT_TOKEN, type ClientStack, startClientStack } from "./stack.js";

/* The TypeScript client's human-input calls, pause and reasoning, against the built gateway and simulator. */

let s: ClientStack;
let client: AppClient;
beforeAll(async () => {
  s = await startClientStack();
  client = createAppClient({ address: s.address, token: CLIENT_TOKEN });
});
afterAll(async () => {
  client?.close();
  await s?.stop();
});

const app = (name: string) => DEMO_APPS.find((a) => a.name === name)!.appId;

interface Pause {
  workflow_run_id: string;
  forms: { form_token: string; node_id: string; actions: { id: string; title: string }[] }[];
}

describe("human input through the TypeScript client", () => {
  it("a paused unary answer carries pause; the form is fetched, refused once, then answered and resumed", async () => {
    const appId = app("Demo Approval Workflow");
    const res = await client.app.workflow.invoke({ appId, inputs: { query: "draft" }, user: "ts", responseMode: "blocking" });
    expect((res.data as DifyDict).status).toBe("paused");
    const pause = res.pause as unknown as Pause;
    expect(pause.workflow_run_id).toBe(res.workflow_run_id);
    const formToken = pause.forms[0]!.form_token;
    expect(pause.forms[0]!.actions.map((a) => a.id)).toEqual(["approve", "reject"]);

    const form = await client.app.workflow.getForm({ appId, formToken });
    expect(form.form_content).toBe("Please review the draft answer before it is sent.\n\nReviewer comment: {{#$output.comment#}}");

    const refused = await client.app.workflow.submitForm({ appId, formToken, action: "approve", inputs: {}, user: "ts" }).catch((e) => e);
    expect(refused).toBeInstanceOf(AppInvokeError);
    expect((refused as AppInvokeError).code).toBe(status.INVALID_ARGUMENT);

    const events: DifyDict[] = [];
    for await (const e of client.app.workflow.resume({
      appId,
      formToken,
      action: "approve",
      inputs: { comment: "ok" },
      user: "ts",
      workflowRunId: pause.workflow_run_id,
    }))
      events.push(e);
    // The resumed part, or, if the run was over before the stream attached, its workflow_finished only.
    expect(events.at(-1)?.event).toBe("workflow_finished");
    const run = await client.app.workflow.getRun({ appId, workflowRunId: pause.workflow_run_id });
    expect(run).toMatchObject({ status: "succeeded", outputs: { text: "Approve: ok" } });
  });

  it("watchRun by another user is NOT_FOUND", async () => {
    const appId = app("Demo Approval Workflow");
    const res = await client.app.workflow.invoke({ appId, inputs: {}, user: "owner", responseMode: "blocking" });
    const stream = client.app.workflow.watchRun({ appId, workflowRunId: String(res.workflow_run_id), user: "someone-else" });
    const err = await stream.next().catch((e) => e);
    expect(err).toBeInstanceOf(AppInvokeError);
    expect((err as AppInvokeError).code).toBe(status.NOT_FOUND);
  });

  it("a Chatflow's separated reasoning comes joined in reasoning", async () => {
    const res = await client.app.chat.invoke({ appId: app("Demo Reasoning Chatflow"), query: "Why?", responseMode: "blocking" });
    expect(res.reasoning).toContain("Why?");
    expect(res.answer).not.toContain("Let me think");
  });
});
