/**
 * Test databases on the real Postgres: each suite creates its own database,
 * migrates it and drops it afterwards.
 *
 * @module
 */
import { connect, migrate, readMigrations, type Sql } from "../src/db/mod.ts";

/** The admin URL tests use to create and drop databases. */
export function adminUrl(): string {
  return Deno.env.get("KEEL_TEST_DATABASE_URL") ?? "postgres://postgres@127.0.0.1:5432/postgres";
}

/** A throwaway database. */
export interface TestDatabase {
  /** Its name. */
  readonly name: string;
  /** URL as the owner (superuser on the test cluster). */
  readonly ownerUrl: string;
  /** URL as the application role `keel_app`. */
  readonly appUrl: string;
  /** Drops it, closing other sessions first. */
  drop(): Promise<void>;
}

function withDatabase(url: string, database: string, user?: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  if (user) {
    parsed.username = user;
    parsed.password = "";
  }
  return parsed.toString();
}

/** Creates an empty database with a random name. */
export async function createTestDatabase(prefix = "keel_t"): Promise<TestDatabase> {
  const name = `${prefix}_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
  const admin = connect(adminUrl(), { max: 1 });
  try {
    await admin`CREATE DATABASE ${admin(name)}`;
  } finally {
    await admin.end();
  }
  return {
    name,
    ownerUrl: withDatabase(adminUrl(), name),
    appUrl: withDatabase(adminUrl(), name, "keel_app"),
    async drop() {
      const sql = connect(adminUrl(), { max: 1 });
      try {
        await sql`DROP DATABASE IF EXISTS ${sql(name)} WITH (FORCE)`;
      } finally {
        await sql.end();
      }
    },
  };
}

/** Creates a database and applies every migration in `migrations/`. */
export async function createMigratedDatabase(prefix?: string): Promise<TestDatabase> {
  const db = await createTestDatabase(prefix);
  const owner = connect(db.ownerUrl, { max: 1 });
  try {
    await migrate(owner, await readMigrations("migrations"));
  } finally {
    await owner.end();
  }
  return db;
}

/** Runs `fn` with a pool on `url`, closing it afterwards. */
export async function withSql<T>(url: string, fn: (sql: Sql) => Promise<T>): Promise<T> {
  const sql = connect(url, { max: 4 });
  try {
    return await fn(sql);
  } finally {
    await sql.end({ timeout: 5 });
  }
}
