import { createReadStream, mkdtempSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type AppClient, AppInvokeError, createAppClient, status } from "../../clients/typescript/src/index.js";
import { DEMO_APPS } from "../../simulator/index.js";
import { CLIENT_TOKEN, type ClientStack, startClientStack } from "./stack.js";

/*
 * client.files and client.apps of the TypeScript client, against real gateway and simulator processes: what reaches
 * Dify, the refusals as AppInvokeError, and that an upload reads its source only as fast as the gateway takes it.
 */

const MIB = 1024 * 1024;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** The New Agent demo app exists in Dify (the simulator) but is left out of the caller's workspace. */
const FOREIGN = "agent" as const;
const FORM_APP = DEMO_APPS.find((a) => a.form)!;

let s: ClientStack;
let client: AppClient;
let dir: string;
beforeAll(async () => {
  s = await startClientStack({ excludeModes: [FOREIGN] });
  client = createAppClient({ address: s.address, token: CLIENT_TOKEN, timeoutMs: 60_000 });
  dir = mkdtempSync(join(tmpdir(), "client-files-"));
});
afterAll(async () => {
  client?.close();
  await s?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => s.sim.reset());

const uploads = async () => (await s.sim.requests()).filter((r) => r.path === "/v1/files/upload");

async function appError(p: Promise<unknown>): Promise<AppInvokeError> {
  const err = await p.then(
    () => expect.unreachable("the call succeeded"),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppInvokeError);
  return err as AppInvokeError;
}

describe("files.upload", () => {
  it("bytes: Dify gets the multipart file and user, the caller Dify's dict with the typed fields", async () => {
    const bytes = Buffer.alloc(200 * 1024 + 3, 9);
    const res = await client.files.upload(bytes, {
      appId: s.appId("workflow"),
      filename: "report.pdf",
      mimeType: "application/pdf",
      user: "alice",
    });
    expect(res).toMatchObject({ name: "report.pdf", size: bytes.length, extension: "pdf", mime_type: "application/pdf" });
    expect(res.id).toMatch(UUID);
    expect(res.created_at).toBeGreaterThan(1_600_000_000);
    const [sent] = await uploads();
    expect(sent?.body).toEqual({
      user: "alice",
      files: [{ field: "file", filename: "report.pdf", mime_type: "application/pdf", size: bytes.length }],
      complete: true,
      aborted: false,
    });
  });

  it("a path takes its base name; a Readable of a file too; other streams need a filename", async () => {
    const path = join(dir, "notes.txt");
    writeFileSync(path, "x".repeat(70_000));
    const fromPath = await client.files.upload(path, { appId: s.appId("chat") });
    expect(fromPath).toMatchObject({ name: "notes.txt", size: 70_000, extension: "txt" });
    const fromReadStream = await client.files.upload(createReadStream(path), { appId: s.appId("chat") });
    expect(fromReadStream).toMatchObject({ name: "notes.txt", size: 70_000 });
    await expect(client.files.upload(Readable.from([Buffer.from("a")]), { appId: s.appId("chat") })).rejects.toThrow(
      /filename is required/,
    );
    const fromIterable = await client.files.upload(Readable.from([Buffer.from("ab"), Buffer.alloc(100_000)]), {
      appId: s.appId("chat"),
      filename: "g.bin",
    });
    expect(fromIterable).toMatchObject({ name: "g.bin", size: 100_002 });
    expect((await uploads()).map((r) => (r.body as { user: string }).user)).toEqual(Array(3).fill("ws-default-user"));
  });

  it("the uploaded id is a file input of a later run", async () => {
    const file = await client.files.upload(new Uint8Array([0x89, 0x50, 0x4e, 0x47]), {
      appId: FORM_APP.appId,
      filename: "cover.png",
      user: "bob",
    });
    const res = await client.app.workflow.invoke({
      appId: FORM_APP.appId,
      inputs: { topic: "t", tone: "formal", cover: { type: "image", transfer_method: "local_file", upload_file_id: file.id } },
      user: "bob",
      responseMode: "blocking",
    });
    expect((res.data as { status: string }).status).toBe("succeeded");
  });

  it("a path over its kind's limit is RESOURCE_EXHAUSTED (its size is declared) and Dify hears nothing", async () => {
    const path = join(dir, "huge.png");
    writeFileSync(path, "");
    truncateSync(path, 10 * MIB + 1); // Sparse: the declared size is what the gateway refuses.
    const err = await appError(client.files.upload(path, { appId: s.appId("chat") }));
    expect(err.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(err.reason).toBe("UPLOAD_TOO_LARGE");
    expect(err.metadata).toEqual({ kind: "image", maxBytes: String(10 * MIB) });
    expect(await uploads()).toEqual([]);
  });

  it("reads a stream only as fast as the gateway takes it: a refusal mid-stream stops the reading", async () => {
    // 64 MiB offered for a document (limit 15 MiB), size undeclared. Without backpressure the client would pull
    // the whole source into grpc-js's buffer before the gateway's refusal arrived.
    let pulled = 0;
    async function* endless() {
      for (let i = 0; i < 1024; i++) {
        pulled += 64 * 1024;
        yield Buffer.alloc(64 * 1024, 1);
      }
    }
    const err = await appError(client.files.upload(endless(), { appId: s.appId("chat"), filename: "big.pdf" }));
    expect(err.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(err.reason).toBe("UPLOAD_TOO_LARGE");
    expect(pulled).toBeGreaterThan(15 * MIB);
    expect(pulled).toBeLessThan(32 * MIB);
  });

  it("a source that fails rejects with its own error, and the file does not become one on Dify", async () => {
    async function* broken() {
      yield Buffer.alloc(100_000, 2);
      throw new Error("disk on fire");
    }
    await expect(client.files.upload(broken(), { appId: s.appId("chat"), filename: "x.txt" })).rejects.toThrow("disk on fire");
    await expect(client.files.upload(Readable.from(["text"]), { appId: s.appId("chat"), filename: "x.txt" })).rejects.toThrow(TypeError);
    await new Promise((r) => setTimeout(r, 300));
    for (const r of await uploads()) expect(r.body).toMatchObject({ complete: false });
  });

  it("an aborted signal cancels the upload with its reason", async () => {
    const controller = new AbortController();
    async function* slow() {
      yield Buffer.alloc(1000);
      controller.abort(new Error("caller gave up"));
      await new Promise((r) => setTimeout(r, 50));
      yield Buffer.alloc(1000);
    }
    await expect(client.files.upload(slow(), { appId: s.appId("chat"), filename: "x.txt", signal: controller.signal })).rejects.toThrow(
      "caller gave up",
    );
  });

  it("another workspace's app, or an unknown one, is NOT_FOUND and Dify hears nothing", async () => {
    for (const appId of [s.appId(FOREIGN), "no-such-app"]) {
      const err = await appError(client.files.upload(Buffer.from("x"), { appId, filename: "a.txt" }));
      expect(err.code).toBe(status.NOT_FOUND);
      expect(err.reason).toBe("APP_NOT_FOUND");
    }
    expect(await uploads()).toEqual([]);
  });
});

describe("apps", () => {
  it("list gives the workspace's apps only, with Dify's names and modes", async () => {
    const apps = await client.apps.list();
    expect(apps).toEqual(DEMO_APPS.filter((a) => a.mode !== FOREIGN).map((a) => ({ appId: a.appId, mode: a.mode, name: a.name })));
  });

  it("describe gives /info, /parameters and the inputs' JSON Schema", async () => {
    const res = await client.apps.describe(FORM_APP.appId);
    expect(res).toMatchObject({ appId: FORM_APP.appId, mode: "workflow", info: { name: FORM_APP.name, mode: "workflow" } });
    expect(res.parameters.user_input_form).toHaveLength(7);
    expect(res.inputSchema).toMatchObject({
      $schema: "https://json-schema.org/draft/2020-12/schema",
      required: ["topic", "tone"],
      properties: { topic: { type: "string", maxLength: 64 }, tone: { enum: ["neutral", "friendly", "formal"] } },
    });
  });

  it("describe of another workspace's app is NOT_FOUND", async () => {
    for (const appId of [s.appId(FOREIGN), "no-such-app"]) {
      const err = await appError(client.apps.describe(appId));
      expect(err.code).toBe(status.NOT_FOUND);
      expect(err.reason).toBe("APP_NOT_FOUND");
    }
  });
});
