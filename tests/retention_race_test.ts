/**
 * Retention's purge of stored bodies raced against a worker writing the same
 * bytes: keys are content addresses, so the writer's body and the pruned one
 * are one object. After every round each artifact row that was not pruned
 * must have a readable body whose sha256 verifies.
 */
import { assert, assertEquals } from "@std/assert";
import type { ArtifactConfig } from "../src/config/mod.ts";
import type { Sql } from "../src/db/mod.ts";
import {
  type ArtifactStorage,
  artifactStorageFrom,
  createPurger,
  prepareArtifact,
  readArtifact,
} from "../src/artifacts/mod.ts";
import { submitDirective, transitionDirective } from "../src/directives/mod.ts";
import { finishRun } from "../src/execution/mod.ts";
import { prunePayloads, purgeStoredBodies } from "../src/retention/mod.ts";
import { builtinSchema, echoDocument } from "./_directives.ts";
import { createMigratedDatabase, withSql } from "./_db.ts";
import { startS3Server } from "./_s3.ts";

const ROUNDS = 100;
const OLD = new Date("2020-01-01T00:00:00Z");
const BODY_BYTES = 80 * 1024; // above the inline limit: the body goes to the object store
const opts = { sanitizeResources: false, sanitizeOps: false };

async function directiveAt(app: Sql, path: readonly ("approved" | "executing" | "complete")[]) {
  const { directive } = await submitDirective(app, echoDocument(), { schema: builtinSchema() });
  for (const to of path) {
    await transitionDirective(app, { directiveId: directive.id, to, actor: "test", reason: to });
  }
  return directive.id;
}

function pause(maxMs: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * maxMs)));
}

/** Rows not pruned (of one run, or all) whose body cannot be read back and verified. */
async function unreadable(app: Sql, storage: ArtifactStorage, runId?: string): Promise<string[]> {
  const rows = await app<{ id: string }[]>`
    SELECT id FROM artifacts
     WHERE pruned_at IS NULL AND storage_uri IS NOT NULL
       AND (${runId ?? null}::uuid IS NULL OR run_id = ${runId ?? null})`;
  const lost: string[] = [];
  for (const { id } of rows) {
    try {
      await readArtifact(app, id, storage);
    } catch (error) {
      lost.push(`${id}: ${(error as Error).name}`);
    }
  }
  return lost;
}

async function raceRounds(config: ArtifactConfig): Promise<void> {
  const db = await createMigratedDatabase("keel_prune_race");
  const storage = artifactStorageFrom(config);
  const purger = createPurger(config);
  try {
    await withSql(db.ownerUrl, (owner) =>
      withSql(db.appUrl, async (app) => {
        const done = await directiveAt(app, ["approved", "executing", "complete"]);
        const live = await directiveAt(app, ["approved", "executing"]);
        let lostRounds = 0;
        let purged = 0;
        for (let round = 1; round <= ROUNDS; round++) {
          const body = new Uint8Array(BODY_BYTES);
          body.set(new TextEncoder().encode(`${crypto.randomUUID()} round ${round}`));
          const draft = { kind: "race", contentType: "application/octet-stream", body };
          // An old artifact of a finished directive holds the body; prune tombstones it.
          await seedOld(owner, storage, { directiveId: done, round, body });
          const pruned = await prunePayloads(owner, new Date(), { actor: "race" });
          assertEquals(pruned.artifactsPruned, 1);
          // A live run of another directive is about to record the same bytes.
          const [run] = await owner<{ id: string }[]>`
            INSERT INTO execution_runs (directive_id, attempt, idempotency_key, module, status,
                                        started_at)
            VALUES (${live}, ${round}, ${`${live}/${round}`}, 'echo', 'running', now())
            RETURNING id`;
          const [purge] = await Promise.all([
            (async () => {
              await pause(4);
              return await purgeStoredBodies(owner, purger);
            })(),
            (async () => {
              await pause(4);
              const fresh = await prepareArtifact(draft, storage);
              await finishRun(app, run!.id, {
                status: "completed",
                outcome: "SUCCESS",
                message: "wrote the same bytes",
                artifacts: [fresh],
              });
            })(),
          ]);
          purged += purge.objectsPurged;
          if ((await unreadable(app, storage, run!.id)).length > 0) lostRounds++;
        }
        console.log(
          `${config.kind}: ${lostRounds} of ${ROUNDS} rounds lost a body; ${purged} bodies purged`,
        );
        assertEquals(lostRounds, 0, `${lostRounds} of ${ROUNDS} rounds lost a referenced body`);
        assert(purged > 0, "no round purged a body: the race was never run");
        assertEquals(await unreadable(app, storage), []);
      }));
  } finally {
    await db.drop();
  }
}

/** Stores the body and records it as an artifact of an old, completed run of `directiveId`. */
async function seedOld(
  owner: Sql,
  storage: ArtifactStorage,
  facts: { directiveId: string; round: number; body: Uint8Array },
): Promise<void> {
  const { directiveId, round, body } = facts;
  const put = await storage.store.put(body, { contentType: "application/octet-stream" });
  await owner`
    WITH run AS (
      INSERT INTO execution_runs (directive_id, attempt, idempotency_key, module, status, outcome,
                                  started_at, finished_at, created_at)
      VALUES (${directiveId}, ${round}, ${`${directiveId}/${round}`}, 'echo', 'completed',
              'SUCCESS', ${OLD}, ${OLD}, ${OLD})
      RETURNING id)
    INSERT INTO artifacts (directive_id, run_id, kind, sha256, size_bytes, content_type,
                           storage_uri, created_at)
    SELECT ${directiveId}, run.id, 'race', ${put.key}, ${body.length}, 'application/octet-stream',
           ${put.uri}, ${OLD}
      FROM run`;
}

Deno.test({
  ...opts,
  name: "purging a pruned body never strands a row written concurrently (filesystem store)",
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "keel-race-fs-" });
    try {
      await raceRounds({ kind: "fs", dir, maxBytes: 1024 * 1024 });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  ...opts,
  name: "purging a pruned body never strands a row written concurrently (S3 store)",
  async fn() {
    const server = await startS3Server();
    try {
      await raceRounds({ kind: "s3", ...server.options, maxBytes: 1024 * 1024 });
    } finally {
      await server.stop();
    }
  },
});
