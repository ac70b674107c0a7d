import { type Metadata, type ServiceError, status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChatInvokeRequest } from "../../generated/dify/app/v1/chat.js";
import { bearer, details, healthCheck, unary } from "../helpers/grpc.js";
import { eventually } from "../helpers/processes.js";
import { type Stack, startStack, TOKEN } from "../helpers/stack.js";

const MAX_MESSAGE = 64 * 1024;

let s: Stack;
beforeAll(async () => {
  s = await startStack({ server: { maxReceiveMessageBytes: MAX_MESSAGE } });
});
afterAll(async () => {
  await s?.stop();
});

/** A chat request whose protobuf encoding is exactly `bytes` long. */
function requestOfSize(bytes: number): ChatInvokeRequest {
  const base = { appId: s.appId("chat"), query: "size", conversationId: "", files: [], user: "" };
  let pad = bytes;
  for (;;) {
    const req = { ...base, inputs: { pad: "x".repeat(pad) } };
    const size = ChatInvokeRequest.encode(req).finish().length;
    if (size === bytes) return req;
    pad += bytes - size;
  }
}

const chat = (req: ChatInvokeRequest, md: Metadata = s.md()) =>
  unary(s.c.chat.chatInvoke, s.c.chat, req, md).then(
    (res) => ({ res, err: undefined }),
    (err: ServiceError) => ({ res: undefined, err }),
  );

describe("server.maxReceiveMessageBytes", () => {
  it("serves a request of exactly the limit", async () => {
    const { res, err } = await chat(requestOfSize(MAX_MESSAGE));
    expect(err).toBeUndefined();
    expect(res?.answer).not.toBe("");
  });

  it("refuses one byte more with grpc-js' RESOURCE_EXHAUSTED, before any upstream request, and stays SERVING", async () => {
    await s.sim.reset();
    const { err } = await chat(requestOfSize(MAX_MESSAGE + 1));
    expect(err?.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(err?.details).toMatch(/larger than max/);
    expect(await s.sim.runs()).toEqual([]);
    expect(await healthCheck(s.gw.address)).toBe("SERVING");
  });
});

describe("oversized metadata (server.maxMetadataBytes, default 8 KiB)", () => {
  const withHeaders = (count: number, bytes: number) => {
    const md = bearer(TOKEN);
    for (let i = 0; i < count; i++) md.set(`x-padding-${i}`, "p".repeat(bytes));
    return md;
  };

  it("serves metadata under the limit", async () => {
    const { err } = await chat(requestOfSize(100), withHeaders(1, 7_000));
    expect(err).toBeUndefined();
  });

  it("refuses metadata over the limit with RESOURCE_EXHAUSTED METADATA_TOO_LARGE, before any upstream request, with one log line each", async () => {
    await s.sim.reset();
    const logged = s.gw.proc.lines.length;
    for (const bytes of [9_000, 60_000]) {
      const { err } = await chat(requestOfSize(100), withHeaders(1, bytes));
      expect(err?.code).toBe(status.RESOURCE_EXHAUSTED);
      const info = details(err!).errorInfo;
      expect(info?.reason).toBe("METADATA_TOO_LARGE");
      expect(info?.metadata.limit).toBe("8192");
      expect(Number(info?.metadata.metadataBytes)).toBeGreaterThan(bytes);
    }
    expect(await s.sim.runs()).toEqual([]);
    // The log line is written after the status is sent, and reaches us through a pipe: wait for both lines,
    // then check no third one comes (counting at once failed when the second was still on its way).
    const rejected = () => s.gw.proc.lines.slice(logged).filter((l) => l.includes('"call rejected: metadata too large"'));
    await eventually(async () => expect(rejected()).toHaveLength(2));
    await new Promise((r) => setTimeout(r, 200));
    expect(rejected()).toHaveLength(2);
    expect(s.gw.proc.lines.slice(logged).join("\n")).not.toContain(TOKEN);
  });

  it("ends what Node's HTTP/2 layer refuses itself with a status too, and keeps serving", async () => {
    // One header over 64 KiB: nghttp2's HPACK decoder resets the stream (COMPRESSION_ERROR), which grpc-js reports as INTERNAL.
    expect((await chat(requestOfSize(100), withHeaders(1, 1_000_000))).err?.code).toBe(status.INTERNAL);
    // More than Node's 128 header pairs: ENHANCE_YOUR_CALM, which grpc-js reports as RESOURCE_EXHAUSTED.
    expect((await chat(requestOfSize(100), withHeaders(200, 1))).err?.code).toBe(status.RESOURCE_EXHAUSTED);
    // 1.2 MB in 20 headers: the HTTP/2 session is closed (INTERNAL_ERROR).
    expect((await chat(requestOfSize(100), withHeaders(20, 60_000))).err?.code).toBe(status.INTERNAL);

    expect(await healthCheck(s.gw.address)).toBe("SERVING");
    expect(s.gw.proc.child.exitCode).toBeNull();
    const { err } = await chat(requestOfSize(100));
    expect(err).toBeUndefined();
  });
});
