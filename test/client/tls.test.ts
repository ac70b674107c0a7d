import { credentials } from "@grpc/grpc-js";
import { afterAll, beforeAll, expect, it } from "vitest";
import { AppInvokeError, createAppClient, type DifyDict, status } from "../../clients/typescript/src/index.js";
import { CLIENT_TOKEN, type ClientStack, selfSignedCertificate, startClientStack } from "./stack.js";

let s: ClientStack;
let tls: ReturnType<typeof selfSignedCertificate>;
beforeAll(async () => {
  tls = selfSignedCertificate();
  s = await startClientStack({ tls: { certFile: tls.certFile, keyFile: tls.keyFile } });
});
afterAll(async () => {
  await s?.stop();
  tls?.cleanup();
});

async function completionError(options: Parameters<typeof createAppClient>[0]): Promise<AppInvokeError> {
  const client = createAppClient(options);
  try {
    const err = await client.app.completion.invoke({ appId: s.appId("completion"), timeoutMs: 5000, responseMode: "blocking" }).then(
      () => expect.unreachable("the call succeeded"),
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AppInvokeError);
    return err as AppInvokeError;
  } finally {
    client.close();
  }
}

it("trusting the gateway's certificate works in both modes, as TLS options or as credentials", async () => {
  for (const option of [{ rootCerts: tls.cert }, credentials.createSsl(tls.cert)]) {
    const client = createAppClient({ address: s.address, token: CLIENT_TOKEN, tls: option });
    try {
      const res = await client.app.completion.invoke({
        appId: s.appId("completion"),
        inputs: { query: "over TLS" },
        responseMode: "blocking",
      });
      expect(String(res.answer).startsWith("Echo from Demo Text Generator: over TLS")).toBe(true);
      const events: DifyDict[] = [];
      for await (const e of client.app.chat.invoke({ appId: s.appId("chat"), query: "over TLS", responseMode: "streaming" }))
        events.push(e);
      expect(events.at(-1)?.event).toBe("message_end");
    } finally {
      client.close();
    }
  }
});

it("tls: true trusts the system roots only, which did not sign this certificate", async () => {
  const err = await completionError({ address: s.address, token: CLIENT_TOKEN, tls: true });
  expect(err.code).toBe(status.UNAVAILABLE);
  expect(err.reason).toBeUndefined(); // Refused by the client: the gateway never answered.
});

it("plaintext to a TLS gateway fails", async () => {
  const err = await completionError({ address: s.address, token: CLIENT_TOKEN });
  expect(err.code).toBe(status.UNAVAILABLE);
});
