import { describe, expect, it } from "vitest";
import { spanRoute } from "../../src/dify/client.js";

describe("spanRoute", () => {
  it("names a request by its route: ids, tokens and the query left out", () => {
    expect(spanRoute("/chat-messages")).toBe("/chat-messages");
    expect(spanRoute("/chat-messages/5f2c/stop")).toBe("/chat-messages/{task_id}/stop");
    expect(spanRoute("/completion-messages/5f2c/stop")).toBe("/completion-messages/{task_id}/stop");
    expect(spanRoute("/workflows/run")).toBe("/workflows/run");
    expect(spanRoute("/workflows/tasks/5f2c/stop")).toBe("/workflows/tasks/{task_id}/stop");
    expect(spanRoute("/workflows/run/wr-1")).toBe("/workflows/run/{workflow_run_id}");
    expect(spanRoute("/workflows/wf-9/run")).toBe("/workflows/{workflow_id}/run");
    expect(spanRoute("/workflow/wr-1/events?user=alice&include_state_snapshot=true")).toBe("/workflow/{workflow_run_id}/events");
    expect(spanRoute("/form/human_input/secret-form-token")).toBe("/form/human_input/{form_token}");
    expect(spanRoute("/info")).toBe("/info");
    expect(spanRoute("/files/upload")).toBe("/files/upload");
  });
});
