import type { MockAgent } from "undici";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Secret } from "../../src/config/secret.js";
import { DifyClient } from "../../src/dify/client.js";
import { APP_KEY, DIFY_ORIGIN, mockDify } from "../core/fakes.js";

/*
 * Dify's JSON answers carry what an app was configured with (its name, description, opening statement, form
 * labels): one that quotes the app key, plainly or \u-escaped, must not pass it on to the caller.
 */

let agent: MockAgent;
beforeEach(() => {
  agent = mockDify();
});
afterEach(async () => {
  await agent.close();
});

const target = { baseUrl: `${DIFY_ORIGIN}/v1`, key: new Secret(APP_KEY) };

describe("DifyClient JSON answers", () => {
  it("have the app key redacted wherever it appears, keys and escaped strings included", async () => {
    const escaped = APP_KEY.replace(/^a/, "\\u0061");
    agent
      .get(DIFY_ORIGIN)
      .intercept({ path: "/v1/info", method: "GET" })
      .reply(200, `{"name":"app for Bearer ${APP_KEY}","description":"${escaped}","tags":[{"${escaped}":1}],"mode":"chat"}`, {
        headers: { "content-type": "application/json" },
      });
    const client = new DifyClient({ connectTimeoutMs: 1_000, dispatcher: agent });
    const info = await client.getJson(target, "/info", new AbortController().signal);
    expect(info).toEqual({ name: "app for Bearer [redacted]", description: "[redacted]", tags: [{ "[redacted]": 1 }], mode: "chat" });
    expect(JSON.stringify(info)).not.toContain(APP_KEY);
  });
});
