import { Metadata, type ServiceError, status } from "@grpc/grpc-js";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { DEMO_APPS } from "../../simulator/index.js";
import { sha256 } from "../../src/auth/registry.js";
import { demoAppId, demoWorkspaceConfig, TOKEN } from "../helpers/demo-workspace.js";
import { bearer, chunk, clients, details, header, unary, upload } from "../helpers/grpc.js";
import { type InProcessGateway, type InProcessSimulator, startInProcessGateway, startInProcessSimulator } from "../helpers/in-process.js";

/*
 * FileService.UploadFile against the simulator: the multipart Dify receives, the file id a later run takes, and each
 * refusal (header, size, foreign app, idle) with what reached Dify.
 */

const OTHER_TOKEN = "tok-other-workspace-5e4d3c2b";
const FOREIGN_APP = "f0ee0000-0000-4000-8000-00000000f0ee";
const FORM_APP = DEMO_APPS.find((a) => a.form)!.appId;
const MIB = 1024 * 1024;

let sim: InProcessSimulator;
let gw: InProcessGateway;
let c: ReturnType<typeof clients>;
const md = () => bearer(TOKEN);

beforeAll(async () => {
  sim = await startInProcessSimulator();
  const { config, env } = demoWorkspaceConfig(sim.url, { limits: { uploadIdleTimeoutMs: 400, uploadMaxDurationMs: 2_000 } });
  const workspaces = config.workspaces as Record<string, unknown>[];
  workspaces.push({
    id: "ws-other",
    difyBaseUrl: sim.url,
    tokens: [{ sha256: sha256(OTHER_TOKEN).toString("hex") }],
    apps: [{ appId: FOREIGN_APP, key: { env: "TEST_APP_KEY_3" } }],
  });
  gw = await startInProcessGateway(config, env);
  c = clients(gw.address);
});
afterAll(async () => {
  c?.close();
  await gw?.close();
  await sim?.close();
});
beforeEach(() => sim.reset());

const failure = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error("expected the call to fail");
    },
    (err: ServiceError) => err,
  );
const uploads = async () => (await sim.requests()).filter((r) => r.path === "/v1/files/upload");
const settle = () => new Promise((r) => setTimeout(r, 200));

describe("UploadFile", () => {
  it("streams the file to Dify as multipart (file, user) and answers Dify's dict with its typed fields", async () => {
    const content = Buffer.alloc(300 * 1024, 7);
    const { response } = upload(c.files, md(), [
      header({ appId: demoAppId("workflow"), user: "alice", filename: "report.pdf", mimeType: "application/pdf" }),
      chunk(content.subarray(0, 100 * 1024)),
      chunk(content.subarray(100 * 1024)),
    ]);
    const res = await response;
    expect(res).toMatchObject({ name: "report.pdf", size: content.length, extension: "pdf", mimeType: "application/pdf" });
    expect(res.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.raw).toMatchObject({ id: res.id, size: content.length, mime_type: "application/pdf" });
    const [sent] = await uploads();
    expect(sent?.headers["content-type"]).toMatch(/^multipart\/form-data; boundary=/);
    expect(sent?.body).toEqual({
      user: "alice",
      files: [{ field: "file", filename: "report.pdf", mime_type: "application/pdf", size: content.length }],
      complete: true,
      aborted: false,
    });
  });

  it.each([
    ["cover.PNG", "image/png"],
    ["notes.md", "text/markdown"],
    ["report.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"],
    ["backup.tar.gz", "application/gzip"],
    ["voice.mpga", "audio/mpeg"],
    ["blob.unknownext", "application/octet-stream"],
    ["README", "application/octet-stream"],
  ])("an empty mime_type is derived from the extension, as the proto says: %s → %s", async (filename, type) => {
    await upload(c.files, md(), [header({ appId: demoAppId("chat"), filename, mimeType: "" }), chunk(Buffer.from("hi"))]).response;
    expect((await uploads())[0]?.body).toMatchObject({ files: [{ filename, mime_type: type }] });
  });

  it("uses the workspace's default user when the header leaves it empty", async () => {
    await upload(c.files, md(), [header({ appId: demoAppId("chat") }), chunk(Buffer.from("hi"))]).response;
    expect((await uploads())[0]?.body).toMatchObject({ user: "ws-default-user" });
  });

  it("the uploaded file's id is accepted as a file input by a later run", async () => {
    const file = await upload(c.files, md(), [
      header({ appId: FORM_APP, user: "bob", filename: "cover.png", mimeType: "image/png" }),
      chunk(Buffer.from([0x89, 0x50, 0x4e, 0x47])),
    ]).response;
    const res = await unary(
      c.workflow.workflowInvoke,
      c.workflow,
      {
        appId: FORM_APP,
        inputs: { topic: "t", tone: "formal", cover: { type: "image", transfer_method: "local_file", upload_file_id: file.id } },
        files: [],
        user: "bob",
      },
      md(),
    );
    expect(res.data?.status).toBe("succeeded");
  });

  it.each([
    ["no header", [chunk(Buffer.from("x"))], "header"],
    ["nothing at all", [], "header"],
    ["an empty app_id", [header({ appId: "" })], "header.app_id"],
    ["a filename with a slash", [header({ appId: "x", filename: "a/b.txt" })], "header.filename"],
    ["a filename with a line break", [header({ appId: "x", filename: "a\r\nb.txt" })], "header.filename"],
    ["an empty filename", [header({ appId: "x", filename: "" })], "header.filename"],
    ["a mime type that is not one", [header({ appId: "x", mimeType: "text/plain\r\nX-Evil: 1" })], "header.mime_type"],
    ["two headers", [header({ appId: demoAppId("chat") }), header({ appId: demoAppId("chat") })], "header"],
  ])("refuses %s with INVALID_ARGUMENT naming the field", async (_name, messages, field) => {
    const err = await failure(upload(c.files, md(), messages).response);
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(details(err).badRequest?.fieldViolations[0]?.field).toBe(field);
    await settle();
    for (const r of await uploads()) expect(r.body).toMatchObject({ complete: false });
  });

  it("an app of another workspace, or of none, is NOT_FOUND and Dify hears nothing", async () => {
    for (const appId of [FOREIGN_APP, "no-such-app"]) {
      const err = await failure(upload(c.files, md(), [header({ appId }), chunk(Buffer.from("x"))]).response);
      expect(err.code).toBe(status.NOT_FOUND);
      expect(details(err).errorInfo?.reason).toBe("APP_NOT_FOUND");
    }
    await settle();
    expect(await sim.requests()).toEqual([]);
  });

  it("a declared size over the kind's limit is RESOURCE_EXHAUSTED before anything reaches Dify", async () => {
    const err = await failure(
      upload(c.files, md(), [header({ appId: demoAppId("chat"), filename: "big.png", mimeType: "image/png", size: 10 * MIB + 1 })])
        .response,
    );
    expect(err.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(details(err).errorInfo).toMatchObject({ reason: "UPLOAD_TOO_LARGE", metadata: { kind: "image", maxBytes: String(10 * MIB) } });
    await settle();
    expect(await sim.requests()).toEqual([]);
  });

  it("bytes past the limit without a declared size end the call RESOURCE_EXHAUSTED and abort the request to Dify", async () => {
    const piece = Buffer.alloc(MIB, 1);
    function* big() {
      yield header({ appId: demoAppId("chat"), filename: "big.jpg", mimeType: "image/jpeg" });
      for (let i = 0; i < 11; i++) yield chunk(piece);
    }
    const err = await failure(upload(c.files, md(), big()).response);
    expect(err.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(details(err).errorInfo?.reason).toBe("UPLOAD_TOO_LARGE");
    await settle();
    const [sent] = await uploads();
    expect(sent?.body).toMatchObject({ complete: false, aborted: true });
    expect((sent?.body as { files: { size: number }[] } | undefined)?.files[0]?.size).toBeLessThanOrEqual(10 * MIB);
  });

  it("a size that does not match the bytes sent is INVALID_ARGUMENT and no file is made on Dify", async () => {
    const err = await failure(
      upload(c.files, md(), [header({ appId: demoAppId("chat"), size: 10 }), chunk(Buffer.from("only five"))]).response,
    );
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(details(err).badRequest?.fieldViolations[0]?.field).toBe("header.size");
    await settle();
    expect((await uploads())[0]?.body).toMatchObject({ complete: false });
  });

  it("a client that stops sending between chunks ends with DEADLINE_EXCEEDED UPLOAD_IDLE_TIMEOUT and the upload is aborted", async () => {
    async function* stalls() {
      yield header({ appId: demoAppId("chat") });
      yield chunk(Buffer.from("first"));
      await new Promise((r) => setTimeout(r, 5_000));
    }
    const { response, call } = upload(c.files, md(), stalls());
    const err = await failure(response);
    call.cancel();
    expect(err.code).toBe(status.DEADLINE_EXCEEDED);
    expect(details(err).errorInfo?.reason).toBe("UPLOAD_IDLE_TIMEOUT");
    await settle();
    expect((await uploads())[0]?.body).toMatchObject({ complete: false, aborted: true });
  });

  it("empty chunks do not keep an upload alive: UPLOAD_IDLE_TIMEOUT as if nothing came, the upload aborted", async () => {
    let stop = false;
    async function* keepsAlive() {
      yield header({ appId: demoAppId("chat") });
      yield chunk(Buffer.from("first"));
      while (!stop) {
        await new Promise((r) => setTimeout(r, 100));
        yield chunk(Buffer.alloc(0));
      }
    }
    const t0 = performance.now();
    const { response, call } = upload(c.files, md(), keepsAlive());
    const err = await failure(response);
    stop = true;
    call.cancel();
    expect(details(err).errorInfo?.reason).toBe("UPLOAD_IDLE_TIMEOUT");
    expect(performance.now() - t0).toBeLessThan(1_500);
    await settle();
    expect((await uploads())[0]?.body).toMatchObject({ complete: false, aborted: true });
  });

  it("an upload that trickles a byte at a time ends at uploadMaxDurationMs with DEADLINE_EXCEEDED UPLOAD_TIMEOUT", async () => {
    let stop = false;
    async function* trickles() {
      yield header({ appId: demoAppId("chat") });
      while (!stop) {
        await new Promise((r) => setTimeout(r, 150));
        yield chunk(Buffer.from("x"));
      }
    }
    const t0 = performance.now();
    const { response, call } = upload(c.files, md(), trickles());
    const err = await failure(response);
    stop = true;
    call.cancel();
    expect(err.code).toBe(status.DEADLINE_EXCEEDED);
    expect(details(err).errorInfo).toMatchObject({ reason: "UPLOAD_TIMEOUT", metadata: { uploadMaxDurationMs: "2000" } });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(1_900);
    expect(performance.now() - t0).toBeLessThan(3_500);
    await settle();
    expect((await uploads())[0]?.body).toMatchObject({ complete: false, aborted: true });
  });

  it("a caller that leaves mid-upload aborts the request to Dify", async () => {
    let cancel = () => {};
    async function* leaves() {
      yield header({ appId: demoAppId("chat") });
      yield chunk(Buffer.alloc(64 * 1024));
      // Until Dify has the request and the first bytes.
      for (let i = 0; i < 100 && !((await uploads())[0]?.body as { files?: unknown[] } | undefined)?.files?.length; i++)
        await new Promise((r) => setTimeout(r, 20));
      cancel();
      // Not ending the generator: the helper would half-close the call after it.
      await new Promise((r) => setTimeout(r, 2_000));
    }
    const started = upload(c.files, md(), leaves());
    cancel = () => started.call.cancel();
    const err = await failure(started.response);
    expect(err.code).toBe(status.CANCELLED);
    await settle();
    expect((await uploads())[0]?.body).toMatchObject({ complete: false, aborted: true });
    const line = gw.logs().find((l) => l.method === "/dify.app.v1.FileService/UploadFile" && l.grpcCode === "CANCELLED");
    expect(line).toMatchObject({ appId: demoAppId("chat"), workspace: "ws-test" });
  });

  it("Dify's own refusals map per the errors table", async () => {
    // The gateway's document limit raised above Dify's 15 MB: Dify's 413 comes through.
    const gw2 = await startInProcessGateway(
      demoWorkspaceConfig(sim.url, { limits: { uploadKindMaxBytes: { document: 20 * MIB } } }).config,
      demoWorkspaceConfig(sim.url, {}).env,
    );
    const c2 = clients(gw2.address);
    try {
      const piece = Buffer.alloc(MIB);
      const err = await failure(
        upload(c2.files, md(), [header({ appId: demoAppId("chat"), filename: "a.txt" }), ...Array.from({ length: 16 }, () => chunk(piece))])
          .response,
      );
      expect(err.code).toBe(status.RESOURCE_EXHAUSTED);
      expect(details(err).errorInfo).toMatchObject({ reason: "FILE_TOO_LARGE", domain: "dify", metadata: { upstreamStatus: "413" } });
    } finally {
      c2.close();
      await gw2.close();
    }
  });

  it("an unauthenticated upload is refused before any message is read", async () => {
    const err = await failure(upload(c.files, new Metadata(), [header({ appId: demoAppId("chat") })]).response);
    expect(err.code).toBe(status.UNAUTHENTICATED);
  });
});
