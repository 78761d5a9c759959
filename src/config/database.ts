/**
 * The database, migration and logging sections, and their parsers.
 *
 * @module
 */
import { z } from "zod";
import {
  envSection,
  type EnvSnapshot,
  envVar,
  intVar,
  parseSections,
  postgresUrl,
} from "./_env.ts";

/** `KEEL_LOG_LEVEL`: every process reads it with its database section. */
export const LOG_SECTION = envSection({
  title: "Logging",
  vars: {
    KEEL_LOG_LEVEL: envVar(z.enum(["debug", "info", "warn", "error"]), {
      default: "info",
      description: "Lowest log level written: debug, info, warn or error.",
    }),
  },
});

/** A log level. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** The application's connection. */
export const DATABASE_SECTION = envSection({
  title: "Database",
  vars: {
    DATABASE_URL: envVar(postgresUrl, {
      default: "postgres://keel_app@127.0.0.1:5432/keel",
      description:
        "Postgres URL the application connects with: the keel_app role, which owns nothing.",
    }),
    KEEL_DB_POOL_MAX: envVar(intVar(1, 100), {
      description:
        "Connections per process pool (default: the process's own, 2 to 10); 1 for embedded PGlite.",
    }),
  },
});

/** The schema owner's connection. */
export const MIGRATION_SECTION = envSection({
  title: "Migrations",
  vars: {
    MIGRATION_DATABASE_URL: envVar(postgresUrl, {
      default: "postgres://postgres@127.0.0.1:5432/keel",
      description: "Postgres URL of the schema owner, used by `deno task migrate` and " +
        "`deno task validate` (unset: DATABASE_URL when that is set).",
    }),
  },
});

/** Configuration for processes that use the application connection. */
export interface DatabaseConfig {
  /** The application connection URL. */
  readonly databaseUrl: string;
  /** The log level. */
  readonly logLevel: LogLevel;
  /** Pool size when set (1 against PGlite); otherwise each process picks its own. */
  readonly poolMax?: number;
}

/** Parses the application's database configuration. */
export function parseDatabaseConfig(env: EnvSnapshot): DatabaseConfig {
  const parsed = parseSections(env, DATABASE_SECTION, LOG_SECTION);
  return {
    databaseUrl: parsed.DATABASE_URL,
    logLevel: parsed.KEEL_LOG_LEVEL,
    ...(parsed.KEEL_DB_POOL_MAX === undefined ? {} : { poolMax: parsed.KEEL_DB_POOL_MAX }),
  };
}

/** Configuration for the migration runner and validate. */
export interface MigrationConfig {
  /** The schema owner's connection URL. */
  readonly migrationDatabaseUrl: string;
  /** The log level. */
  readonly logLevel: LogLevel;
}

/** The variables {@linkcode parseMigrationConfig} reads. */
export const MIGRATION_ENV: readonly string[] = [
  "MIGRATION_DATABASE_URL",
  "DATABASE_URL",
  "KEEL_LOG_LEVEL",
];

/**
 * Parses the migration configuration. The owner URL falls back to
 * `DATABASE_URL` so a single-role setup works, then to the documented default.
 */
export function parseMigrationConfig(env: EnvSnapshot): MigrationConfig {
  if (env.MIGRATION_DATABASE_URL === undefined && env.DATABASE_URL !== undefined) {
    const { DATABASE_URL, KEEL_LOG_LEVEL } = env;
    const parsed = parseSections({ DATABASE_URL, KEEL_LOG_LEVEL }, DATABASE_SECTION, LOG_SECTION);
    return { migrationDatabaseUrl: parsed.DATABASE_URL, logLevel: parsed.KEEL_LOG_LEVEL };
  }
  const parsed = parseSections(env, MIGRATION_SECTION, LOG_SECTION);
  return { migrationDatabaseUrl: parsed.MIGRATION_DATABASE_URL, logLevel: parsed.KEEL_LOG_LEVEL };
}
