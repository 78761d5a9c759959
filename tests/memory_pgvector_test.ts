/**
 * The pgvector path for real: embedded PGlite with pgvector, served over
 * pglite-socket and reached with postgres.js (pool of one: PGlite serves one
 * connection at a time). The same data on the system Postgres (exact search)
 * must rank the same.
 */
import { assert, assertEquals } from "@std/assert";
import { PGlite } from "@electric-sql/pglite";
import { vector } from "@electric-sql/pglite-pgvector";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";
import { connect, migrate, readMigrations } from "../src/db/mod.ts";
import { createMemoryReader, type MemoryHit } from "../src/memory/mod.ts";
import { createMigratedDatabase, withSql } from "./_db.ts";
import { DIMENSIONS, MODEL, queryVector, storeFixture } from "./_memory_fixture.ts";

function ranking(hits: readonly MemoryHit[]): string[] {
  return hits.map((h) => h.sourceId);
}

Deno.test("semantic search: pgvector on PGlite and exact SQL on Postgres rank alike", async () => {
  const pglite = await PGlite.create({ extensions: { vector } });
  const server = new PGLiteSocketServer({ db: pglite, port: 0, host: "127.0.0.1" });
  await server.start();
  const port = (server as unknown as { port: number }).port;
  const sql = connect(`postgres://postgres@127.0.0.1:${port}/postgres`, { max: 1 });
  const system = await createMigratedDatabase("keel_vec");
  try {
    await migrate(sql, await readMigrations("migrations"));
    const reader = createMemoryReader(sql);
    assertEquals(await reader.searchMode(), "pgvector");
    await storeFixture(sql);

    // With sequential scans priced out, the planner picks the partial HNSW index.
    await sql`SET enable_seqscan = off`;
    const plan = await sql`
      EXPLAIN SELECT source_id FROM memory_embeddings WHERE dimensions = ${DIMENSIONS}
       ORDER BY (embedding::vector(384)) <=> (${queryVector()}::float8[]::vector(384)) LIMIT 5`;
    await sql`RESET enable_seqscan`;
    const planText = plan.map((row) => Object.values(row).join(" ")).join("\n");
    assert(planText.includes("memory_embeddings_hnsw_384"), planText);

    const query = { vector: queryVector(), model: MODEL, limit: 24 };
    const viaPgvector = await reader.semanticSearch(query);
    const viaExact = await withSql(system.appUrl, async (app) => {
      await storeFixture(app);
      const exact = createMemoryReader(app);
      assertEquals(await exact.searchMode(), "exact");
      return await exact.semanticSearch(query);
    });
    assertEquals(viaPgvector.length, 24);
    assertEquals(ranking(viaPgvector), ranking(viaExact));
    for (const [i, hit] of viaPgvector.entries()) {
      // pgvector stores float4, so scores agree to float4 precision.
      assert(Math.abs(hit.score - viaExact[i]!.score) < 1e-5, `${hit.sourceId}: ${hit.score}`);
    }
    const filtered = { ...query, sourceType: "directive", limit: 5 };
    const filteredPg = ranking(await reader.semanticSearch(filtered));
    assertEquals(filteredPg, ["item-00", "item-02", "item-04", "item-06", "item-08"]);
    console.log(
      `ranking agreement: ${viaPgvector.length}/${viaExact.length} positions equal; top 5 ${
        ranking(viaPgvector).slice(0, 5).join(", ")
      }; max score difference ${
        Math.max(...viaPgvector.map((h, i) => Math.abs(h.score - viaExact[i]!.score)))
          .toExponential(2)
      }`,
    );
  } finally {
    await sql.end({ timeout: 5 });
    await server.stop();
    await pglite.close();
    await system.drop();
  }
});
