/**
 * The artifact suite, run against both stores: the filesystem store and the
 * S3 store talking to a real S3-compatible server (versitygw) on loopback.
 * Then the loop end to end: a 5 MiB echo result lands in the store while the
 * workflow history carries only a reference.
 */
import { assert, assertEquals, assertMatch, assertRejects } from "@std/assert";
import { historyToJSON } from "@temporalio/common/lib/proto-utils.js";
import {
  ArtifactImmutableError,
  ArtifactIntegrityError,
  ArtifactNotFoundError,
  type ArtifactStorage,
  ArtifactTooLargeError,
  createFsStore,
  createS3Store,
  DEFAULT_ARTIFACT_MAX_BYTES,
  INLINE_LIMIT_BYTES,
  type ObjectStore,
  prepareArtifact,
  readArtifact,
  sha256Hex,
  verifyingStream,
} from "../src/artifacts/mod.ts";
import { submitAndStart, waitForLoop } from "../src/loop/mod.ts";
import { directiveWorkflowId } from "../src/workflows/directive/api.ts";
import { builtinSchema, echoDocument } from "./_directives.ts";
import { type LoopHarness, runsOf, startLoopHarness } from "./_loop.ts";
import { type S3Server, startS3Server } from "./_s3.ts";

/** A store under test, with a way to damage an object behind the store's back. */
interface Subject {
  readonly store: ObjectStore;
  /** Overwrites the stored bytes of `key` directly on disk, as bit rot would. */
  corrupt(key: string, bytes: Uint8Array): Promise<void>;
  /** Files left in the store's directory tree. */
  files(): Promise<string[]>;
  stop(): Promise<void>;
}

async function walk(dir: string): Promise<string[]> {
  const found: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) found.push(...await walk(path));
    else found.push(path);
  }
  return found;
}

async function overwriteFile(path: string, bytes: Uint8Array): Promise<void> {
  await Deno.chmod(path, 0o644);
  await Deno.writeFile(path, bytes);
}

async function fsSubject(): Promise<Subject> {
  const dir = await Deno.makeTempDir({ prefix: "keel-fs-store-" });
  return {
    store: createFsStore({ dir }),
    corrupt: (key, bytes) => overwriteFile(`${dir}/sha256/${key.slice(0, 2)}/${key}`, bytes),
    files: () => walk(dir),
    stop: () => Deno.remove(dir, { recursive: true }),
  };
}

async function s3Subject(): Promise<Subject> {
  const server: S3Server = await startS3Server();
  const bucketDir = `${server.root}/${server.options.bucket}`;
  return {
    store: createS3Store(server.options),
    corrupt: (key, bytes) => overwriteFile(`${bucketDir}/sha256/${key}`, bytes),
    files: () => walk(bucketDir),
    stop: () => server.stop(),
  };
}

const SUBJECTS: Record<string, () => Promise<Subject>> = { fs: fsSubject, s3: s3Subject };

function bytes(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

function filled(size: number, seed: number): Uint8Array {
  const body = new Uint8Array(size);
  for (let i = 0; i < size; i++) body[i] = (i * 31 + seed) % 251;
  return body;
}

for (const [name, start] of Object.entries(SUBJECTS)) {
  Deno.test(`artifacts on the ${name} store`, async (t) => {
    const subject = await start();
    const { store } = subject;
    try {
      await t.step("put keys by sha256, get returns the bytes, exists tells", async () => {
        const body = bytes(`hello from ${name}`);
        const key = await sha256Hex(body);
        assertEquals(await store.exists(key), false);
        const put = await store.put(body, { contentType: "text/plain" });
        assertEquals(put, { key, uri: store.uriOf(key), created: true });
        assertEquals(await store.exists(key), true);
        assertEquals(await store.get(key), body);
      });

      await t.step("the same bytes twice are stored once", async () => {
        const body = filled(70_000, 1);
        const first = await store.put(body, { contentType: "application/octet-stream" });
        const again = await store.put(body, { contentType: "application/octet-stream" });
        assertEquals(first.created, true);
        assertEquals(again, { ...first, created: false });
        const copies = (await subject.files()).filter((path) => path.endsWith(first.key));
        assertEquals(copies.length, 1);
      });

      await t.step("delete and overwrite are refused and the object survives", async () => {
        const body = bytes("immutable");
        const { key } = await store.put(body, { contentType: "text/plain" });
        await assertRejects(() => store.delete(key), ArtifactImmutableError, "immutable");
        await assertRejects(
          () => store.overwrite(key, bytes("something else")),
          ArtifactImmutableError,
          `Cannot overwrite artifact "${key}"`,
        );
        assertEquals(await store.get(key), body);
      });

      await t.step("a corrupted object fails loudly on read", async () => {
        const body = filled(100_000, 7);
        const { key } = await store.put(body, { contentType: "application/octet-stream" });
        const damaged = body.slice();
        damaged[500] = (damaged[500]! + 1) % 256;
        await subject.corrupt(key, damaged);
        await assertRejects(() => store.get(key), ArtifactIntegrityError, `"${key}"`);
      });

      await t.step("open streams the body; verifyingStream fails a corrupt one", async () => {
        const body = filled(300_000, 11);
        const { key } = await store.put(body, { contentType: "application/octet-stream" });
        const opened = await store.open!(key);
        assertEquals(opened.size, body.length);
        const streamed = new Uint8Array(
          await new Response(verifyingStream(opened.body, key, name)).arrayBuffer(),
        );
        assertEquals(streamed, body);
        const damaged = body.slice();
        damaged[299_999] = (damaged[299_999]! + 1) % 256;
        await subject.corrupt(key, damaged);
        const again = await store.open!(key);
        // Our sha256 check, or (on S3) the SDK's own checksum check first: never the whole body.
        const failure = await assertRejects(
          () => new Response(verifyingStream(again.body, key, name)).arrayBuffer(),
        );
        assertMatch(String((failure as Error).message), /is corrupt|checksum mismatch/i);
        const missing = await sha256Hex(bytes("never opened"));
        await assertRejects(() => store.open!(missing), ArtifactNotFoundError, missing);
      });

      await t.step("a missing key and a malformed key are named in the error", async () => {
        const missing = await sha256Hex(bytes("never stored"));
        assertEquals(await store.exists(missing), false);
        await assertRejects(() => store.get(missing), ArtifactNotFoundError, missing);
        await assertRejects(
          () => store.get("../etc/passwd"),
          ArtifactNotFoundError,
          "64 lowercase hex",
        );
      });

      await t.step("routing: small inline, large to the store, too large refused", async () => {
        const storage: ArtifactStorage = { store, maxBytes: 200_000 };
        const small = await prepareArtifact(
          { kind: "note", contentType: "text/plain", body: filled(INLINE_LIMIT_BYTES - 1, 2) },
          storage,
        );
        assertEquals(small.storageUri, null);
        assertEquals(small.inline?.length, INLINE_LIMIT_BYTES - 1);
        assertEquals(await store.exists(small.sha256), false);

        const large = await prepareArtifact(
          { kind: "note", contentType: "text/plain", body: filled(INLINE_LIMIT_BYTES, 3) },
          storage,
        );
        assertEquals(large.inline, null);
        assertEquals(large.storageUri, store.uriOf(large.sha256));
        assertEquals(await store.exists(large.sha256), true);

        const tooBig = filled(200_001, 4);
        await assertRejects(
          () => prepareArtifact({ kind: "dump", contentType: "text/plain", body: tooBig }, storage),
          ArtifactTooLargeError,
          `Cannot store artifact "dump": it is 200001 bytes and the maximum is 200000`,
        );
        assertEquals(await store.exists(await sha256Hex(tooBig)), false);
      });

      await t.step("no temporary files are left behind", async () => {
        const leftovers = (await subject.files()).filter((path) => path.includes(".tmp-"));
        assertEquals(leftovers, []);
      });
    } finally {
      await subject.stop();
    }
  });
}

const FIVE_MIB_REPEAT = 88; // 88 copies of a 60,000-character payload: just over 5 MiB.

function bigEcho(repeat: number): Record<string, unknown> {
  return echoDocument({ payload: { message: "big", text: "x".repeat(60_000), repeat } });
}

async function runEcho(h: LoopHarness, document: Record<string, unknown>) {
  const result = await submitAndStart(h.sql, h.target, { document, schema: builtinSchema() });
  assertEquals(result.startError, undefined);
  const id = result.directive.id;
  return { id, loop: await waitForLoop(h.client, id) };
}

for (const [name, start] of Object.entries(SUBJECTS)) {
  Deno.test(`the loop stores a 5 MiB echo in the ${name} store; the history holds a reference`, async () => {
    const subject = await start();
    const storage: ArtifactStorage = { store: subject.store, maxBytes: DEFAULT_ARTIFACT_MAX_BYTES };
    const h = await startLoopHarness({
      artifacts: storage,
      policy: { auto_approve_types: ["noop", "echo"] },
    });
    try {
      const { id, loop } = await runEcho(h, bigEcho(FIVE_MIB_REPEAT));
      assertEquals(loop.status, "complete");
      const [row] = await h.sql<{ id: string; size_bytes: string; storage_uri: string | null }[]>`
        SELECT id, size_bytes::text, storage_uri FROM artifacts WHERE directive_id = ${id}`;
      assert(row, "an artifact row");
      assert(Number(row.size_bytes) > 5 * 1024 * 1024, `size ${row.size_bytes}`);
      assert(row.storage_uri?.startsWith(subject.store.kind === "fs" ? "fs:" : "s3://"));
      const { body } = await readArtifact(h.sql, row.id, storage);
      assertEquals(body.length, Number(row.size_bytes));
      const echoed = JSON.parse(new TextDecoder().decode(body));
      assertEquals(echoed.length, FIVE_MIB_REPEAT);

      const history = await h.client.workflow.getHandle(directiveWorkflowId(id)).fetchHistory();
      const historyBytes = new TextEncoder().encode(historyToJSON(history)).length;
      assert(historyBytes < 64 * 1024, `directive history is ${historyBytes} bytes`);
      console.log(`${name}: 5 MiB echo (${row.size_bytes} bytes) → history ${historyBytes} bytes`);
    } finally {
      await h.stop();
      await subject.stop();
    }
  });
}

Deno.test("an echo over the maximum fails its run with a clear message and stores nothing", async () => {
  const subject = await fsSubject();
  const storage: ArtifactStorage = { store: subject.store, maxBytes: DEFAULT_ARTIFACT_MAX_BYTES };
  const h = await startLoopHarness({
    artifacts: storage,
    maxAttempts: 1,
    policy: { auto_approve_types: ["noop", "echo"] },
  });
  try {
    const { id } = await runEcho(h, bigEcho(180));
    const [run] = await runsOf(h.sql, id);
    assertEquals(run?.status, "failed");
    assert(
      run?.message?.includes("maximum is 10485760 (KEEL_ARTIFACT_MAX_BYTES)"),
      String(run?.message),
    );
    const [row] = await h.sql<{ count: number }[]>`
      SELECT count(*)::int AS count FROM artifacts WHERE directive_id = ${id}`;
    assertEquals(row?.count, 0);
    assertEquals((await subject.files()).length, 0);
  } finally {
    await h.stop();
    await subject.stop();
  }
});
