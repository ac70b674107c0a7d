import * as undici from "undici";
import { describe, expect, it } from "vitest";
import { Agent, buildConnector, errors, request } from "../../src/dify/undici.js";

// src/dify/undici.ts requires undici's files directly (not a public API): these must stay the objects undici's index
// exports, or an upgrade that moved them would change what the gateway runs.
describe("the undici parts the gateway requires", () => {
  it("are undici's own exports", () => {
    expect(Agent).toBe(undici.Agent);
    expect(errors).toBe(undici.errors);
    expect(buildConnector).toBe(undici.buildConnector);
  });

  it("request splits the URL into origin and path, as undici's request does", async () => {
    const mock = new undici.MockAgent();
    mock.disableNetConnect();
    mock
      .get("http://dify.test:8080")
      .intercept({ path: "/v1/chat-messages?user=a", method: "POST", body: "{}" })
      .reply(200, "ok", { headers: { "content-type": "text/plain" } });
    const res = await request("http://dify.test:8080/v1/chat-messages?user=a", { method: "POST", body: "{}", dispatcher: mock });
    expect(res.statusCode).toBe(200);
    expect(await res.body.text()).toBe("ok");
    await mock.close();
  });
});
