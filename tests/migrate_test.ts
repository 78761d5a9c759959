/**
 * The migration runner against the real Postgres: fresh apply, idempotent
 * re-apply, drift, a database ahead of the code, concurrent runners, the
 * polled advisory lock, failed migrations, and the CLI's `--status`.
 */
import { createHash } from "node:crypto";
import {
  assert,
  assertEquals,
  assertMatch,
  assertRejects,
  assertStringIncludes,
} from "@std/assert";
import { connect, migrate, MigrationError, readMigrations, type Sql } from "../src/db/mod.ts";
import { TABLES } from "../src/models/mod.ts";
import { createTestDatabase, type TestDatabase, withSql } from "./_db.ts";

const REPO_ROOT = new URL("..", import.meta.url).pathname;
const MIGRATIONS_DIR = `${REPO_ROOT}migrations`;
const LOCK_KEY = "keel.schema_migrations";

/** Every application table the models describe, plus the runner's own. */
const EXPECTED_TABLES = [...Object.keys(TABLES), "schema_migrations"].sort();

interface MigrationRow {
  version: number;
  filename: string;
  sha256: string;
  applied_at: Date;
}

/** Runs `fn` with a fresh, empty database that is dropped afterwards. */
async function withDatabase(fn: (db: TestDatabase) => Promise<void>): Promise<void> {
  const db = await createTestDatabase("keel_mig");
  try {
    await fn(db);
  } finally {
    await db.drop();
  }
}

/** Runs `fn` with a temporary folder holding `files`, removed afterwards. */
async function withMigrationDir(
  files: Record<string, string>,
  fn: (dir: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "keel_migrations_" });
  try {
    for (const [name, text] of Object.entries(files)) {
      await Deno.writeTextFile(`${dir}/${name}`, text);
    }
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Migrates `url` with the files in `dir`, on a pool of its own. */
async function migrateDir(
  url: string,
  dir: string,
  options: { lockTimeoutMs?: number } = {},
): Promise<string[]> {
  return await withSql(url, async (sql) => await migrate(sql, await readMigrations(dir), options));
}

async function appliedRows(sql: Sql): Promise<MigrationRow[]> {
  return await sql<MigrationRow[]>`
    SELECT version, filename, sha256, applied_at FROM schema_migrations ORDER BY version`;
}

async function tableExists(sql: Sql, name: string): Promise<boolean> {
  const [row] = await sql<{ found: boolean }[]>`
    SELECT to_regclass(${name}) IS NOT NULL AS found`;
  return row?.found ?? false;
}

function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

async function migrationFileNames(): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(MIGRATIONS_DIR)) {
    if (entry.isFile) names.push(entry.name);
  }
  return names.sort();
}

Deno.test("a fresh database gets every table and one schema_migrations row per file with its sha256", async () => {
  await withDatabase(async (db) => {
    const applied = await migrateDir(db.ownerUrl, MIGRATIONS_DIR);
    const names = await migrationFileNames();
    assert(names.length > 0, "the repository has migration files");
    assertEquals(applied, names);

    await withSql(db.ownerUrl, async (sql) => {
      const tables = await sql<{ tablename: string }[]>`
        SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename`;
      const present = tables.map((t) => t.tablename);
      assertEquals(EXPECTED_TABLES.filter((name) => !present.includes(name)), [], "missing tables");

      const rows = await appliedRows(sql);
      const expected = await Promise.all(names.map(async (filename) => ({
        version: Number(filename.slice(0, 4)),
        filename,
        sha256: sha256Hex(await Deno.readFile(`${MIGRATIONS_DIR}/${filename}`)),
      })));
      assertEquals(
        rows.map(({ version, filename, sha256 }) => ({ version, filename, sha256 })),
        expected,
      );
    });
  });
});

Deno.test("re-applying is a no-op: nothing returned, rows and applied_at unchanged", async () => {
  await withDatabase(async (db) => {
    const first = await migrateDir(db.ownerUrl, MIGRATIONS_DIR);
    assert(first.length > 0);
    const before = await withSql(db.ownerUrl, appliedRows);

    const second = await migrateDir(db.ownerUrl, MIGRATIONS_DIR);
    assertEquals(second, []);

    const after = await withSql(db.ownerUrl, appliedRows);
    assertEquals(after.length, before.length);
    assertEquals(
      after.map((r) => [r.filename, r.applied_at.getTime()]),
      before.map((r) => [r.filename, r.applied_at.getTime()]),
    );
  });
});

Deno.test("an edited applied file is refused as drift, naming the file, and nothing new is applied", async () => {
  await withDatabase(async (db) => {
    await withMigrationDir(
      { "0001_first.sql": "CREATE TABLE first_t (id int);\n" },
      async (dir) => {
        assertEquals(await migrateDir(db.ownerUrl, dir), ["0001_first.sql"]);

        await Deno.writeTextFile(
          `${dir}/0001_first.sql`,
          "CREATE TABLE first_t (id int, extra text);\n",
        );
        await Deno.writeTextFile(`${dir}/0002_second.sql`, "CREATE TABLE second_t (id int);\n");

        const error = await assertRejects(() => migrateDir(db.ownerUrl, dir), MigrationError);
        assertEquals(error.code, "drift");
        assertStringIncludes(error.message, "0001_first.sql");
        assert(!error.message.includes("0002_second.sql"), error.message);

        await withSql(db.ownerUrl, async (sql) => {
          assertEquals((await appliedRows(sql)).map((r) => r.filename), ["0001_first.sql"]);
          assertEquals(await tableExists(sql, "second_t"), false);
        });
      },
    );
  });
});

Deno.test("a database ahead of the code is refused, naming the file the code lacks", async () => {
  await withDatabase(async (db) => {
    const first = "CREATE TABLE first_t (id int);\n";
    await withMigrationDir(
      { "0001_first.sql": first, "0002_second.sql": "CREATE TABLE second_t (id int);\n" },
      async (dir) => {
        assertEquals(await migrateDir(db.ownerUrl, dir), ["0001_first.sql", "0002_second.sql"]);
      },
    );
    await withMigrationDir({ "0001_first.sql": first }, async (dir) => {
      const error = await assertRejects(() => migrateDir(db.ownerUrl, dir), MigrationError);
      assertEquals(error.code, "ahead");
      assertStringIncludes(error.message, "0002_second.sql");
      assert(!error.message.includes("0001_first.sql"), error.message);
    });
    await withSql(db.ownerUrl, async (sql) => {
      assertEquals((await appliedRows(sql)).length, 2);
    });
  });
});

Deno.test("two concurrent runners apply each file exactly once", async () => {
  await withDatabase(async (db) => {
    await withMigrationDir({
      "0001_one.sql": "CREATE TABLE one_t (id int);\n",
      "0002_slow.sql": "SELECT pg_sleep(0.3);\nCREATE TABLE slow_t (id int);\n",
      "0003_three.sql": "CREATE TABLE three_t (id int);\n",
    }, async (dir) => {
      const files = await readMigrations(dir);
      const a = connect(db.ownerUrl, { max: 1, applicationName: "runner-a" });
      const b = connect(db.ownerUrl, { max: 1, applicationName: "runner-b" });
      // allSettled, not all: a failing runner must not leave the other one
      // mid-flight while its pool is being closed.
      const settled = await Promise.allSettled([migrate(a, files), migrate(b, files)]);
      await a.end();
      await b.end();
      const lists = settled.map((result) => {
        if (result.status === "rejected") throw result.reason;
        return result.value;
      });
      const union = lists.flat().sort();
      assertEquals(union, ["0001_one.sql", "0002_slow.sql", "0003_three.sql"]);
      assertEquals(new Set(union).size, union.length, "no file was applied twice");
      await withSql(db.ownerUrl, async (sql) => {
        const [row] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM schema_migrations`;
        assertEquals(row?.n, 3);
      });
    });
  });
});

Deno.test("the migration lock is polled: a held lock makes a runner time out without blocking in Postgres", async () => {
  await withDatabase(async (db) => {
    await withMigrationDir({ "0001_one.sql": "CREATE TABLE one_t (id int);\n" }, async (dir) => {
      const files = await readMigrations(dir);
      const holderPool = connect(db.ownerUrl, { max: 1, applicationName: "lock-holder" });
      const runner = connect(db.ownerUrl, { max: 1, applicationName: "lock-waiter" });
      const observer = connect(db.ownerUrl, { max: 1, applicationName: "observer" });
      let attempt: Promise<string[]> | undefined;
      try {
        const holder = await holderPool.reserve();
        try {
          await holder`SELECT pg_advisory_lock(hashtext(${LOCK_KEY}))`;

          const started = Date.now();
          attempt = migrate(runner, files, { lockTimeoutMs: 500 });
          attempt.catch(() => {}); // observed below

          // While the runner waits, no session sits blocked on an advisory lock.
          await new Promise((resolve) => setTimeout(resolve, 250));
          const waiting = await observer<{ n: number }[]>`
            SELECT count(*)::int AS n FROM pg_locks
            WHERE locktype = 'advisory' AND NOT granted AND database = (
              SELECT oid FROM pg_database WHERE datname = current_database())`;
          assertEquals(waiting[0]?.n, 0, "a runner is blocked in pg_advisory_lock");

          const pending = attempt;
          const error = await assertRejects(() => pending, MigrationError);
          const elapsed = Date.now() - started;
          assertEquals(error.code, "lock_timeout");
          assertStringIncludes(error.message, LOCK_KEY);
          assert(elapsed >= 500, `gave up after ${elapsed} ms, before the 500 ms timeout`);
          assert(elapsed < 5_000, `took ${elapsed} ms to give up`);
          assertEquals(await tableExists(observer, "schema_migrations"), false);
        } finally {
          await holder`SELECT pg_advisory_unlock(hashtext(${LOCK_KEY}))`;
          holder.release();
          // Let a runner that failed an assertion above finish before its pool closes.
          await attempt?.catch(() => {});
        }

        // Once the lock is free, the same runner succeeds.
        assertEquals(await migrate(runner, files, { lockTimeoutMs: 500 }), ["0001_one.sql"]);
      } finally {
        await holderPool.end();
        await runner.end();
        await observer.end();
      }
    });
  });
});

Deno.test("a migration with a syntax error fails naming file and line, and leaves no trace", async () => {
  await withDatabase(async (db) => {
    await withMigrationDir({
      "0001_good.sql": "CREATE TABLE good_t (id int);\n",
      "0002_bad.sql": [
        "CREATE TABLE bad_t (id int);",
        "INSERT INTO bad_t VALUES (1);",
        "SELEC 1;",
        "",
      ].join("\n"),
    }, async (dir) => {
      const error = await assertRejects(() => migrateDir(db.ownerUrl, dir), MigrationError);
      assertEquals(error.code, "failed");
      assertStringIncludes(error.message, "0002_bad.sql");
      assertMatch(error.message, /line 3\b/);
      assertStringIncludes(error.message, "SELEC");

      await withSql(db.ownerUrl, async (sql) => {
        assertEquals(await tableExists(sql, "bad_t"), false);
        assertEquals(await tableExists(sql, "good_t"), true);
        assertEquals((await appliedRows(sql)).map((r) => r.filename), ["0001_good.sql"]);
      });
    });
  });
});

Deno.test("a migration failing after its statements ran is rolled back as a whole", async () => {
  await withDatabase(async (db) => {
    await withMigrationDir({
      "0001_good.sql": "CREATE TABLE good_t (id int);\n",
      // Parses cleanly, so the CREATE and INSERT execute before the division fails.
      "0002_bad.sql": [
        "CREATE TABLE bad_t (id int);",
        "INSERT INTO bad_t VALUES (1);",
        "INSERT INTO good_t VALUES (1);",
        "SELECT 1 / (SELECT count(*) - 1 FROM bad_t);",
        "",
      ].join("\n"),
    }, async (dir) => {
      const error = await assertRejects(() => migrateDir(db.ownerUrl, dir), MigrationError);
      assertEquals(error.code, "failed");
      assertStringIncludes(error.message, "0002_bad.sql");
      assertStringIncludes(error.message, "division by zero");

      await withSql(db.ownerUrl, async (sql) => {
        assertEquals(await tableExists(sql, "bad_t"), false);
        const [row] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM good_t`;
        assertEquals(row?.n, 0, "the failed file's write to an earlier table was rolled back");
        assertEquals((await appliedRows(sql)).map((r) => r.filename), ["0001_good.sql"]);
      });

      // Fixing the file lets the next run apply it.
      await Deno.writeTextFile(`${dir}/0002_bad.sql`, "CREATE TABLE bad_t (id int);\n");
      assertEquals(await migrateDir(db.ownerUrl, dir), ["0002_bad.sql"]);
    });
  });
});

async function runStatus(url: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-P=migrate", "src/cli/migrate.ts", "--status"],
    cwd: REPO_ROOT,
    env: { MIGRATION_DATABASE_URL: url },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

Deno.test("the migrate CLI's --status lists pending files, then applied ones with their time, changing nothing", async () => {
  await withDatabase(async (db) => {
    const names = await migrationFileNames();

    const before = await runStatus(db.ownerUrl);
    assertEquals(before.code, 0, before.stderr);
    assertEquals(
      before.stdout.trimEnd().split("\n"),
      names.map((name) => `${"pending".padEnd(8)} ${name}`),
    );
    await withSql(db.ownerUrl, async (sql) => {
      assertEquals(await tableExists(sql, "schema_migrations"), false, "--status changed nothing");
    });

    await migrateDir(db.ownerUrl, MIGRATIONS_DIR);
    const rows = await withSql(db.ownerUrl, appliedRows);

    const after = await runStatus(db.ownerUrl);
    assertEquals(after.code, 0, after.stderr);
    assertEquals(
      after.stdout.trimEnd().split("\n"),
      rows.map((row) => `${"applied".padEnd(8)} ${row.filename}  ${row.applied_at.toISOString()}`),
    );
  });
});
