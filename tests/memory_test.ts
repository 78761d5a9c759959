/**
 * The memory reader on the system Postgres (no pgvector: the exact search):
 * named, bounded queries, READ ONLY enforced by Postgres, and semantic search
 * that returns scores and never vectors.
 */
import { assert, assertEquals, assertRejects } from "@std/assert";
import type { Sql } from "../src/db/mod.ts";
import { submitDirective } from "../src/directives/mod.ts";
import { createRun } from "../src/execution/mod.ts";
import { insertArtifact, prepareArtifact } from "../src/artifacts/mod.ts";
import {
  createMemoryReader,
  MEMORY_MAX_LIMIT,
  MemoryQueryError,
  rememberEmbedding,
  SEMANTIC_MAX_LIMIT,
} from "../src/memory/mod.ts";
import { readOnly } from "../src/memory/_read_only.ts";
import { createFsStore } from "../src/artifacts/mod.ts";
import { builtinSchema, echoDocument } from "./_directives.ts";
import { createMigratedDatabase, withSql } from "./_db.ts";
import { MODEL, queryVector, storeFixture } from "./_memory_fixture.ts";
import { startOtlpReceiver } from "./_otlp.ts";
import { startTelemetry } from "../src/telemetry/otel.ts";

async function submit(sql: Sql, overrides: Record<string, unknown>) {
  const { directive } = await submitDirective(sql, echoDocument(overrides), {
    schema: builtinSchema(),
  });
  return directive;
}

Deno.test("memory reader on the system Postgres", async (t) => {
  const db = await createMigratedDatabase("keel_mem");
  try {
    await withSql(db.appUrl, async (sql) => {
      const reader = createMemoryReader(sql);

      await t.step("latest directive by issuer and by type", async () => {
        const first = await submit(sql, { issued_by: "ada@example.com" });
        const second = await submit(sql, { issued_by: "ada@example.com" });
        await submit(sql, { issued_by: "bob@example.com" });
        assertEquals((await reader.latestDirectiveByIssuer("ada@example.com"))?.id, second.id);
        assert(first.id !== second.id);
        assertEquals(await reader.latestDirectiveByIssuer("nobody@example.com"), undefined);
        const noop = await submit(sql, {
          type: "noop",
          budget: { amount: "0.10", currency: "USD" },
        });
        assertEquals((await reader.latestDirectiveByType("noop"))?.id, noop.id);
      });

      await t.step("execution summaries and artifacts by type, bounded", async () => {
        const directive = await submit(sql, { issued_by: "cy@example.com" });
        await createRun(sql, { directive, attempt: 1 });
        await createRun(sql, { directive, attempt: 2 });
        const runs = await reader.executionSummaries(directive.id);
        assertEquals(runs.map((r) => r.attempt), [1, 2]);
        assertEquals(runs[0]?.status, "pending");
        assertEquals((await reader.executionSummaries(directive.id, { limit: 1 })).length, 1);

        const store = createFsStore({ dir: await Deno.makeTempDir() });
        for (const text of ["one", "two", "three"]) {
          const prepared = await prepareArtifact(
            { kind: "note", contentType: "text/plain", body: new TextEncoder().encode(text) },
            { store, maxBytes: 1024 * 1024 },
          );
          await sql.begin((tx) =>
            insertArtifact(tx, prepared, { directiveId: directive.id, runId: null })
          );
        }
        const notes = await reader.artifactsByType("note", { directiveId: directive.id, limit: 2 });
        assertEquals(notes.length, 2);
        assertEquals(Object.keys(notes[0]!).includes("inline_content"), false);
        assertEquals(notes.every((n) => n.sizeBytes <= 5 && n.kind === "note"), true);
      });

      await t.step("limits are capped and bad fields are named", async () => {
        const id = crypto.randomUUID();
        await assertRejects(
          () => reader.executionSummaries(id, { limit: MEMORY_MAX_LIMIT + 1 }),
          MemoryQueryError,
          "limit: Too big",
        );
        await assertRejects(
          () => reader.executionSummaries("not-a-uuid"),
          MemoryQueryError,
          "directiveId",
        );
        await assertRejects(() => reader.artifactsByType("Bad Kind"), MemoryQueryError, "kind");
        await assertRejects(
          () => reader.semanticSearch({ vector: [1], model: MODEL, limit: SEMANTIC_MAX_LIMIT + 1 }),
          MemoryQueryError,
          "limit",
        );
        await assertRejects(
          () => reader.semanticSearch({ vector: [1, Number.NaN], model: MODEL }),
          MemoryQueryError,
          "vector.1",
        );
        await assertRejects(() => reader.latestDirectiveByType(""), MemoryQueryError);
      });

      await t.step("Postgres itself refuses a write inside the reader's transaction", async () => {
        const before = await sql`SELECT count(*)::int AS n FROM memory_embeddings`;
        const error = await assertRejects(() =>
          readOnly(
            sql,
            (tx) =>
              tx`INSERT INTO memory_embeddings (source_type, source_id, model, dimensions, content, embedding)
               VALUES ('directive', 'sneaky', 'm', 1, 'x', ARRAY[1]::float8[])`,
          )
        );
        assertEquals((error as { code?: string }).code, "25006");
        assert(String((error as Error).message).includes("read-only transaction"));
        const after = await sql`SELECT count(*)::int AS n FROM memory_embeddings`;
        assertEquals(after[0]?.n, before[0]?.n);
      });

      await t.step(
        "semantic search: exact cosine, scores only, filtered by model and source",
        async () => {
          assertEquals(await reader.searchMode(), "exact");
          await storeFixture(sql);
          const hits = await reader.semanticSearch({
            vector: queryVector(),
            model: MODEL,
            limit: 24,
          });
          assertEquals(hits.length, 24);
          assertEquals(hits[0]?.sourceId, "item-00");
          assert(Math.abs(hits[0]!.score - 1) < 1e-9, `top score ${hits[0]?.score}`);
          for (let i = 1; i < hits.length; i++) assert(hits[i - 1]!.score >= hits[i]!.score);
          assertEquals(Object.keys(hits[0]!).sort(), [
            "content",
            "model",
            "score",
            "sourceId",
            "sourceType",
          ]);
          const artifactsOnly = await reader.semanticSearch({
            vector: queryVector(),
            model: MODEL,
            sourceType: "artifact",
            limit: 3,
          });
          assertEquals(artifactsOnly.map((h) => h.sourceId), ["item-01", "item-03", "item-05"]);
        },
      );

      await t.step("the writer stores a source once and names a bad field", async () => {
        const memory = {
          sourceType: "directive",
          sourceId: "once",
          model: "m",
          content: "c",
          embedding: [0.1, 0.2],
        };
        assertEquals(await rememberEmbedding(sql, memory), true);
        assertEquals(await rememberEmbedding(sql, memory), false);
        await assertRejects(
          () => rememberEmbedding(sql, { ...memory, sourceId: "bad", embedding: [] }),
          MemoryQueryError,
          "embedding",
        );
        const [row] =
          await sql`SELECT count(*)::int AS n FROM memory_embeddings WHERE source_id = 'bad'`;
        assertEquals(row?.n, 0);
      });
    });
  } finally {
    await db.drop();
  }
});

Deno.test("each memory read is one span named after the query, values left out", async () => {
  const receiver = startOtlpReceiver();
  const telemetry = startTelemetry({
    endpoint: receiver.endpoint,
    serviceName: "keel-test",
    resourceAttributes: {},
    sampler: "parentbased_always_on",
    samplerRatio: 1,
    metricIntervalMs: 60_000,
  });
  const db = await createMigratedDatabase("keel_mem_span");
  try {
    await withSql(db.appUrl, async (sql) => {
      const reader = createMemoryReader(sql);
      await reader.semanticSearch({ vector: [0.25, 0.5], model: "secret-model-name" });
      await assertRejects(() =>
        readOnly(sql, (tx) => tx`DELETE FROM memory_embeddings`, { query: "sneaky" })
      );
    });
    await telemetry.flush();
    const spans = receiver.spans();
    const search = spans.find((s) => s.name === "memory semantic_search");
    assert(search, spans.map((s) => s.name).join(", "));
    assertEquals(search.attributes["keel.memory.query"], "semantic_search");
    assert(!JSON.stringify(search.attributes).includes("secret-model-name"));
    const refused = spans.find((s) => s.name === "memory sneaky");
    assertEquals(refused?.attributes["error.type"], "25006");
  } finally {
    await telemetry.shutdown();
    await receiver.stop();
    await db.drop();
  }
});
